"""Dose voxel kernels: a nuclide's point kernel integrated over cubic (or box) voxels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import PhysicsError

__all__ = ["VoxelKernel", "dose_voxel_kernel"]


@dataclass(frozen=True)
class VoxelKernel:
    """Dose to each voxel per decay in the centre voxel, in mGy/(MBq·s).

    Attributes
    ----------
    array_mgy_per_mbq_s
        float32, shape (nz, ny, nx), all odd; the source voxel is the centre element.
    voxel_mm
        Voxel size (x, y, z) in mm.
    medium
        ``"water"``, ``"soft_tissue"`` or ``"bone"``.
    nuclide
        Canonical nuclide name.
    escaped_energy_fraction
        Fraction of the energy emitted per decay that is not deposited inside the grid
        (photons leaving it, bremsstrahlung).
    method
        How the kernel was made (one line).
    """

    array_mgy_per_mbq_s: np.ndarray
    voxel_mm: tuple[float, float, float]
    medium: str
    nuclide: str
    escaped_energy_fraction: float
    method: str


def dose_voxel_kernel(
    nuclide: str,
    voxel_mm: float | tuple[float, float, float],
    medium: str = "soft_tissue",
    half_width: int | None = None,
) -> VoxelKernel:
    """Dose voxel kernel of ``nuclide`` (interface; implementation follows)."""
    raise PhysicsError("dose voxel kernels are not built yet", field="nuclide", value=nuclide)
