"""Maximum-intensity projections of a scan, as arrays (the report draws them).

The anterior MIP runs along the patient's anterior–posterior axis (array axis y
of an axial LPS grid). Compute steps keep these arrays; :mod:`immunopet.report`
renders them (grey scale with an SUV scale bar, lesion contours in red).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.volume import Volume

__all__ = ["MipArrays", "mip_arrays"]


@dataclass(frozen=True)
class MipArrays:
    """Projection arrays plus what is needed to draw them with the right aspect.

    Attributes
    ----------
    arrays
        ``mip`` (z, x) float32 of the volume's unit, and ``mip_lesions`` (z, x) uint8
        (1 where any lesion voxel projects) when lesions were given.
    meta
        ``unit``, ``aspect`` (dz / dx) and ``head_up`` (z increases towards the head).
    """

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def mip_arrays(volume: Volume, lesion_labels: Volume | None = None) -> MipArrays:
    """The anterior MIP of ``volume`` (and the projection of ``lesion_labels``, same grid)."""
    arr = np.asarray(volume.array)
    mip = np.nanmax(arr, axis=1).astype(np.float32)
    dx, _, dz = volume.spacing_mm
    arrays = {"mip": mip}
    if lesion_labels is not None:
        mask = np.asarray(lesion_labels.array) > 0
        if mask.shape == arr.shape and mask.any():
            arrays["mip_lesions"] = mask.any(axis=1).astype(np.uint8)
    meta = {
        "unit": volume.unit,
        "aspect": float(dz / dx),
        "head_up": bool(volume.direction[8] >= 0),
    }
    return MipArrays(arrays, meta)
