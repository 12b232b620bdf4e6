"""Lesion cores and local backgrounds: the lesion-specific parts of a measurement.

``suv_max_core`` and ``background_suv_mean`` are defined in :mod:`.table`'s docstring;
this module computes the voxel sets they are taken over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.volume import Volume
from ..regions.blood import depth_mm
from ..regions.lesions import BACKGROUND_SHELL_MM, shell_background_suv

__all__ = ["LESION_CORE_MM", "MIN_CORE_VOXELS", "lesion_background_suv", "lesion_core_labels"]


#: Border layer (mm) left out of a lesion for ``suv_max_core``: about one FWHM of a
#: clinical ¹²⁴I PET (5 mm system resolution ⊕ positron-range blur ≈ 6 mm), beyond
#: which the spill-in across a planar edge falls below ~2 % (Gaussian PSF).
LESION_CORE_MM = 6.0

#: Fewest voxels a lesion core keeps (a voxel and its 6 face neighbours).
MIN_CORE_VOXELS = 7


def lesion_core_labels(labels: np.ndarray, spacing_mm: Sequence[float], core_mm: float):
    """Each lesion's core: its voxels farther than ``core_mm`` from any voxel outside it.

    Parameters
    ----------
    labels
        Integer lesion labels (z, y, x), 0 = not a lesion.
    spacing_mm
        (dx, dy, dz) in mm, as :attr:`Volume.spacing_mm`.
    core_mm
        Border thickness left out (see ``suv_max_core`` in the module docstring).

    Returns
    -------
    numpy.ndarray
        Same shape and labels as ``labels``, zero outside the cores. A lesion
        with fewer than :data:`MIN_CORE_VOXELS` voxels beyond ``core_mm`` keeps
        its innermost ones (at least that many, ties kept), so no lesion loses
        its core.
    """
    from scipy import ndimage

    lab = np.asarray(labels)
    core = np.zeros_like(lab)
    for number, box in enumerate(ndimage.find_objects(lab), start=1):
        if box is None:
            continue
        # The lesion's bounding box grown by one voxel, so its whole border is seen; each
        # voxel's depth is measured to the nearest voxel outside *this* lesion.
        crop = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)
        inside = lab[crop] == number
        dist = depth_mm(inside, spacing_mm)
        keep = dist > core_mm
        if keep.sum() < MIN_CORE_VOXELS:
            # Too small for the full border: its innermost voxels, at least a voxel and
            # its six face neighbours (ties kept), so a VOI off by one voxel still holds
            # the lesion's centre.
            ranked = np.sort(dist[inside])[::-1]
            keep = inside & (dist >= ranked[min(MIN_CORE_VOXELS, ranked.size) - 1])
        core[crop][keep] = number
    return core


def lesion_background_suv(
    suv: Volume, labels: np.ndarray, n: int, shell_mm: tuple[float, float] = BACKGROUND_SHELL_MM
) -> np.ndarray:
    """Mean SUV of each label's local background shell (see ``tnr_background`` above).

    Parameters
    ----------
    suv
        SUV volume (its spacing gives the distances).
    labels
        Integer lesion labels on the SUV grid, 0 = not a lesion.
    n
        Number of label values (``labels.max() + 1`` or more).
    shell_mm
        (inner, outer) distance in mm from the nearest lesion voxel.

    Returns
    -------
    numpy.ndarray
        Shape (n,): background SUVmean per label (NaN without shell voxels).
    """
    lab = np.asarray(labels)
    if not lab.any():
        return np.full(n, math.nan)
    return shell_background_suv(suv.array, lab, n, suv.spacing_mm, shell_mm)
