"""The local background of lesions: the SUV of a shell around each (Nestle et al. 2005).

:func:`shell_background_suv` measures every lesion's shell 5–15 mm
(:data:`~immunopet.regions.lesions.BACKGROUND_SHELL_MM`) from it with one
Euclidean distance transform per cluster of nearby lesions, in the cluster's
box, not over the whole image (a whole-body distance transform with indices
takes ~4 GB at clinical size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["shell_background_suv"]

#: Inner and outer distance (mm) from a lesion of its local background shell.
BACKGROUND_SHELL_MM = (5.0, 15.0)


def shell_background_suv(
    suv: np.ndarray,
    labels: np.ndarray,
    n: int,
    spacing_mm: Sequence[float],
    shell_mm: tuple[float, float] = BACKGROUND_SHELL_MM,
) -> np.ndarray:
    """Mean SUV of each label's background shell: voxels ``shell_mm`` (inner, outer) from it.

    Distances are Euclidean from the nearest labelled voxel (``spacing_mm`` = (dx, dy,
    dz)); a shell voxel belongs to the label it is nearest to, and no labelled voxel is
    background (the shell background of Nestle et al., J Nucl Med 2005;46:1342).
    Returns shape (n,), NaN for a label without shell voxels.
    """
    dx, dy, dz = spacing_mm
    lab = np.asarray(labels)
    if not np.issubdtype(lab.dtype, np.integer):
        lab = lab.astype(np.intp)
    total = np.zeros(n)
    count = np.zeros(n)
    for box, members in _shell_clusters(lab, n, (dz, dy, dx), shell_mm[1]):
        sub = lab[box]
        dist, (iz, iy, ix) = ndimage.distance_transform_edt(
            sub == 0, sampling=(dz, dy, dx), return_indices=True
        )
        shell = (dist >= shell_mm[0]) & (dist <= shell_mm[1])
        owner = sub[iz[shell], iy[shell], ix[shell]].astype(np.intp)
        mine = members[owner]
        values = np.asarray(suv)[box][shell][mine].astype(np.float64)
        total += np.bincount(owner[mine], weights=values, minlength=n)[:n]
        count += np.bincount(owner[mine], minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), math.nan)


def _shell_clusters(
    lab: np.ndarray, n: int, sampling: Sequence[float], outer_mm: float, cell: int = 4
) -> list[tuple[tuple[slice, ...], np.ndarray]]:
    """Boxes that hold each label's whole background shell, and which labels each box owns.

    Each label's bounding box is grown by the outer shell radius; labels whose
    grown boxes touch (on a grid of ``cell``-voxel cells) form one cluster and
    are measured in the cluster's box. A shell voxel of a label is within its
    grown box, and any label nearer to it is in the same cluster, so the
    distances and owners inside the box are those of the whole image: the
    result equals one distance transform of the whole image (up to exact
    distance ties between two lesions), at the cost of the lesions' surroundings.
    """
    shape = lab.shape
    grow = [int(math.ceil(outer_mm / s)) + 1 for s in sampling]
    boxes = ndimage.find_objects(lab, max_label=n - 1) if n > 1 else []
    grown = {}
    for number, box in enumerate(boxes, start=1):
        if box is not None:
            grown[number] = tuple(
                slice(max(b.start - g, 0), min(b.stop + g, size))
                for b, g, size in zip(box, grow, shape, strict=True)
            )
    if not grown:
        return []
    coarse = np.zeros([-(-size // cell) for size in shape], dtype=bool)
    for box in grown.values():
        coarse[tuple(slice(b.start // cell, (b.stop - 1) // cell + 1) for b in box)] = True
    clusters, _ = ndimage.label(coarse)
    out = []
    for c, cbox in enumerate(ndimage.find_objects(clusters), start=1):
        if cbox is None:
            continue
        members = np.zeros(int(lab.max(initial=0)) + 1, dtype=bool)
        for number, box in grown.items():
            if clusters[tuple(b.start // cell for b in box)] == c:
                members[number] = True
        crop = tuple(
            slice(b.start * cell, min(b.stop * cell, size))
            for b, size in zip(cbox, shape, strict=True)
        )
        out.append((crop, members))
    return out
