"""Partial-volume-aware labels: the fraction of each PET voxel covered by each label.

A CT segmentation is much finer than the PET grid; nearest-neighbour
resampling gives each PET voxel the label at its centre. The alternative here
splits each PET voxel into n³ sub-voxels, samples the label map at their
centres, and keeps the share of sub-voxels of each label (sparse). Measuring
with these weights (:func:`immunopet.measure.measure`) gives region volumes and
activities that do not depend on where the organ boundary cuts the PET voxels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from ..core.errors import InputError
from ..core.volume import Volume
from .labels import LabelMap, check_overlap

__all__ = ["PartialVolumeLabels", "fractional_occupancy"]


@dataclass(frozen=True, eq=False)
class PartialVolumeLabels:
    """Fractional occupancy of PET voxels by labels (sparse).

    Entry ``n`` says that a fraction ``fraction[n]`` of PET voxel
    ``voxel_index[n]`` (flat C-order index into ``grid.array``) is covered by
    label ``label[n]``. Fractions of one voxel sum to ≤ 1 (the rest is background).
    """

    grid: Volume
    voxel_index: np.ndarray
    label: np.ndarray
    fraction: np.ndarray
    names: Mapping[int, str]
    region_kind: str = "organ"
    source: str | None = field(default=None)

    def majority_label_map(self) -> LabelMap:
        """Nearest-style label map: each voxel gets a label covering > 50 % of it."""
        arr = np.zeros(self.grid.shape, dtype=np.int32)
        keep = self.fraction > 0.5
        arr.ravel()[self.voxel_index[keep]] = self.label[keep]
        return LabelMap(
            self.grid.with_array(arr, "label"), self.names, self.region_kind, self.source
        )


def fractional_occupancy(
    label_map: LabelMap, pet: Volume, *, supersample: int = 3, slab_slices: int = 8
) -> PartialVolumeLabels:
    """Fraction of each PET voxel covered by each label, by sub-voxel sampling.

    Each PET voxel is split into ``supersample``³ sub-voxels whose centres are
    sampled (nearest neighbour) in the label map; a label's fraction in the
    voxel is the share of sub-voxels it holds. With ``supersample=3`` the
    fraction is quantised to 1/27; the error against the exact geometric
    overlap is at most that of a 3³ midpoint rule (tested on a box insert).
    Work proceeds in slabs of ``slab_slices`` PET slices to bound memory.
    """
    check_overlap(label_map.volume, pet, file=label_map.source)
    n = int(supersample)
    if n < 1:
        raise InputError("supersample must be ≥ 1", value=supersample)
    src = label_map.volume.to_sitk()
    nz, ny, nx = pet.shape
    d = pet.direction_matrix
    sp = np.asarray(pet.spacing_mm)
    first_offset = (1.0 / (2 * n) - 0.5) * sp  # first sub-voxel centre relative to voxel centre
    idx_parts, lab_parts, frac_parts = [], [], []
    for k0 in range(0, nz, slab_slices):
        k1 = min(nz, k0 + slab_slices)
        ref = sitk.Image(nx * n, ny * n, (k1 - k0) * n, sitk.sitkUInt8)
        ref.SetSpacing(tuple(sp / n))
        origin = np.asarray(pet.origin_mm) + d @ (sp * np.array([0, 0, k0]) + first_offset)
        ref.SetOrigin(tuple(origin))
        ref.SetDirection(pet.direction)
        sub = sitk.GetArrayFromImage(
            sitk.Resample(src, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0.0)
        ).astype(np.int64)
        sub = (
            sub.reshape(k1 - k0, n, ny, n, nx, n)
            .transpose(0, 2, 4, 1, 3, 5)
            .reshape((k1 - k0) * ny * nx, n**3)
        )
        base = k0 * ny * nx
        uniform = np.all(sub == sub[:, :1], axis=1)
        whole = np.nonzero(uniform & (sub[:, 0] > 0))[0]
        idx_parts.append(whole + base)
        lab_parts.append(sub[whole, 0])
        frac_parts.append(np.ones(whole.size))
        mixed = np.nonzero(~uniform)[0]
        if mixed.size:
            lmax = int(sub[mixed].max()) + 1
            key = (mixed[:, None] * lmax + sub[mixed]).ravel()
            keys, counts = np.unique(key, return_counts=True)
            lab = keys % lmax
            keep = lab > 0
            idx_parts.append(keys[keep] // lmax + base)
            lab_parts.append(lab[keep])
            frac_parts.append(counts[keep] / n**3)
    return PartialVolumeLabels(
        grid=pet,
        voxel_index=np.concatenate(idx_parts).astype(np.int64),
        label=np.concatenate(lab_parts).astype(np.int32),
        fraction=np.concatenate(frac_parts).astype(np.float64),
        names=dict(label_map.names),
        region_kind=label_map.region_kind,
        source=label_map.source,
    )
