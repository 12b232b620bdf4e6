"""Internal dosimetry: emissions, photon transport, sphere model (MIRD schema).

Photon transport and emission pieces (this package's core):

* :func:`emission_spectrum` — ICRP-107 photon lines and non-penetrating energy per decay;
* :func:`transport_photons` — Woodcock-tracking photon Monte Carlo in voxel geometry
  (NIST XCOM cross sections, Klein–Nishina, kerma approximation);
* :func:`sphere_self_dose_gy_per_bq_s`, :func:`sphere_dose_gy` — unit-density sphere
  model for tumour self-dose; :func:`lesion_sphere_s_value` — its electron and photon
  parts (:class:`SphereSValue`);
* :func:`dose_voxel_kernel` — dose voxel kernels of any nuclide (:mod:`.kernels`).
"""

from .emission import EmissionSpectrum, emission_spectrum
from .kernels import VoxelKernel, dose_voxel_kernel
from .sphere import (
    SphereSValue,
    lesion_sphere_s_value,
    sphere_absorbed_fraction,
    sphere_dose_gy,
    sphere_s_value,
    sphere_self_dose_gy_per_bq_s,
)
from .transport import TransportResult, transport_photons
from .xsections import MATERIAL_CODES, mass_attenuation_cm2_per_g

__all__ = [
    "MATERIAL_CODES",
    "EmissionSpectrum",
    "SphereSValue",
    "TransportResult",
    "VoxelKernel",
    "dose_voxel_kernel",
    "emission_spectrum",
    "lesion_sphere_s_value",
    "mass_attenuation_cm2_per_g",
    "sphere_absorbed_fraction",
    "sphere_dose_gy",
    "sphere_s_value",
    "sphere_self_dose_gy_per_bq_s",
    "transport_photons",
]
