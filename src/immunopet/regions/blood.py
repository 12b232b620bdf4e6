"""Blood-pool region: the cardiac ventricles (or aorta) eroded away from their wall.

The reference study measures blood activity in the cardiac ventricles. A
region drawn on the whole heart or on the chambers picks up myocardium and
lung through the PET's limited resolution (spill-over); eroding it by a
margin of the order of the PET resolution (default 5 mm ≈ FWHM of a clinical
PET, as in common blood-pool VOI practice, e.g. PERCIST's 1 cm-diameter
aortic VOI kept clear of the wall) limits that.

The erosion uses the exact Euclidean distance transform with the voxel
spacing (scipy.ndimage.distance_transform_edt ``sampling=``), so it is
isotropic in mm on anisotropic grids.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ..core.errors import ImmunopetWarning, InputError
from ..core.volume import Volume
from .label_kernels import label_mask
from .labels import LabelMap

__all__ = ["BLOOD_SOURCES", "blood_pool", "depth_mm", "erode_mm"]

#: Label names, in order of preference, from which the blood pool is built.
BLOOD_SOURCES: tuple[tuple[str, ...], ...] = (
    ("heart_ventricle_left", "heart_ventricle_right"),
    ("heart_contents",),
    ("heart",),
    ("aorta",),
)


def depth_mm(mask: np.ndarray, spacing_mm: Sequence[float]) -> np.ndarray:
    """Distance (mm) from each voxel of ``mask`` to the nearest voxel centre outside it.

    Parameters
    ----------
    mask
        Boolean (z, y, x).
    spacing_mm
        (dx, dy, dz) in mm.

    Returns
    -------
    numpy.ndarray
        Same shape; 0 outside the mask. The image border counts as outside.
    """
    dx, dy, dz = spacing_mm
    padded = np.pad(np.asarray(mask, dtype=bool), 1, constant_values=False)
    return ndimage.distance_transform_edt(padded, sampling=(dz, dy, dx))[1:-1, 1:-1, 1:-1]


def erode_mm(mask: np.ndarray, spacing_mm: Sequence[float], margin_mm: float) -> np.ndarray:
    """Voxels of ``mask`` farther than ``margin_mm`` from any voxel outside it.

    Parameters
    ----------
    mask
        Boolean (z, y, x).
    spacing_mm
        (dx, dy, dz) in mm.
    margin_mm
        Erosion depth (mm); 0 returns the mask unchanged. The distance is
        measured between voxel centres (:func:`depth_mm`); the image border
        counts as outside.
    """
    m = np.asarray(mask, dtype=bool)
    if margin_mm <= 0:
        return m.copy()
    out = np.zeros(m.shape, dtype=bool)
    box = ndimage.find_objects(m.view(np.uint8))
    if not box or box[0] is None:
        return out
    # Distances within the mask's bounding box only: the voxels just outside the box are
    # outside the mask, as the padding of depth_mm makes them, so the result is the same
    # as over the whole image at the cost of the box (the heart, not the body).
    out[box[0]] = depth_mm(m[box[0]], spacing_mm) > margin_mm
    return out


def blood_pool(
    label_map: LabelMap,
    *,
    margin_mm: float = 5.0,
    sources: Sequence[str] | None = None,
    name: str = "blood",
) -> LabelMap:
    """A one-region label map ``{1: "blood"}`` (region_kind ``blood``).

    Parameters
    ----------
    label_map
        Organ labels on the PET grid (after :func:`labels_on_pet_grid`).
    margin_mm
        Erosion margin away from the wall (mm).
    sources
        Label names to pool before eroding; default: the first group of
        :data:`BLOOD_SOURCES` present in ``label_map`` (ventricles, heart
        contents, whole heart, then aorta).
    name
        Name of the region in the output.

    Raises
    ------
    InputError
        None of the source labels is present.

    Warns
    -----
    ImmunopetWarning
        The erosion leaves no voxel (margin too large for the structure); the
        region is then empty and measures as NaN.
    """
    present = set(label_map.names.values())
    if sources is None:
        chosen = next((g for g in BLOOD_SOURCES if any(s in present for s in g)), None)
        if chosen is None:
            raise InputError(
                "no heart, ventricle or aorta label to build the blood pool from "
                f"(looked for {[s for g in BLOOD_SOURCES for s in g]})",
                file=label_map.source,
            )
    else:
        chosen = tuple(sources)
        if not any(s in present for s in chosen):
            raise InputError(
                f"none of the blood-pool labels {list(chosen)} is in the label map",
                file=label_map.source,
            )
    numbers = [n for n, s in label_map.names.items() if s in chosen]
    mask = label_mask(label_map.array, numbers)
    eroded = erode_mm(mask, label_map.volume.spacing_mm, margin_mm)
    if not eroded.any():
        warnings.warn(
            f"blood pool from {list(chosen)} is empty after a {margin_mm} mm erosion",
            ImmunopetWarning,
            stacklevel=2,
        )
    vol: Volume = label_map.volume.with_array(eroded.astype(np.uint8), "label")
    return LabelMap(vol, {1: name}, "blood", label_map.source)
