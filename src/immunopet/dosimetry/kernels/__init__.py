"""Dose point kernels, dose voxel kernels and electron absorbed fractions of spheres.

Built from physics for any ICRP-107 nuclide (no voxel-S table is read):

* :mod:`.media` — water, ICRU soft tissue (1.04 g/cm³) and cortical bone (1.92 g/cm³);
* :mod:`.electron_mc` — a condensed-history electron Monte Carlo (ESTAR stopping powers,
  screened-Rutherford multiple scattering) that generates the shipped scaled
  monoenergetic electron point kernels (``scripts/make_point_kernels.py``);
* :mod:`.photon_mc` — photon point kernels from this package's photon physics
  (:mod:`immunopet.dosimetry.transport`) in an infinite homogeneous medium;
* :mod:`.point_kernel` — the radial energy-deposition function of a nuclide (β± spectra,
  IC and Auger lines, photons);
* :mod:`.voxel` — integration over source and target voxel volumes →
  :class:`VoxelKernel` (:func:`dose_voxel_kernel`);
* :mod:`.spheres` — φ_e(E, m) of spheres and :func:`lesion_sphere_s_value`.
"""

from .voxel import VoxelKernel, dose_voxel_kernel

__all__ = ["VoxelKernel", "dose_voxel_kernel"]
