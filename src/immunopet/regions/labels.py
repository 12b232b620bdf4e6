"""Organ label maps: reading (NIfTI, DICOM SEG), checking, merging, moving to the PET grid.

A :class:`LabelMap` pairs an integer label :class:`~immunopet.core.volume.Volume`
(0 = background) with ``{label_number: name}`` and the kind of region it holds
(``organ``, ``lesion``, ``blood``, ``background``). Label maps usually come from
a CT segmentation (e.g. TotalSegmentator) on the CT grid; :func:`labels_on_pet_grid`
moves them onto the PET grid with nearest-neighbour resampling;
:mod:`~immunopet.regions.partial_volume` gives the partial-volume-aware
alternative (the fraction of each PET voxel covered by each label).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from ..core.errors import GeometryError, ImmunopetWarning, InputError, UnsupportedDataError
from ..core.volume import Volume
from ..io.dicom_seg import read_seg
from .label_kernels import apply_lut, count_labels
from .totalsegmentator import TOTALSEGMENTATOR_TO_IMMUNOPET, TOTALSEGMENTATOR_V2_TOTAL

__all__ = [
    "REGION_KINDS",
    "LabelMap",
    "check_overlap",
    "labels_on_pet_grid",
    "load_label_map",
    "merge_labels",
    "to_immunopet_organs",
]

#: The ``region_kind`` values of the tidy measurement table.
REGION_KINDS = ("organ", "lesion", "blood", "background", "whole_body")


@dataclass(frozen=True, eq=False)
class LabelMap:
    """An integer label volume with its label names.

    Attributes
    ----------
    volume
        Integer labels, 0 = background.
    names
        ``{label_number: region_name}``; labels present in ``volume`` but not
        named are ignored by :mod:`immunopet.measure`.
    region_kind
        ``"organ"``, ``"lesion"``, ``"blood"`` or ``"background"``.
    source
        The file read, if any (named in error messages).
    """

    volume: Volume
    names: Mapping[int, str]
    region_kind: str = "organ"
    source: str | None = None

    def __post_init__(self) -> None:
        arr = self.volume.array
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.mod(arr, 1) == 0):
                raise UnsupportedDataError(
                    "a label map must hold integer labels", file=self.source, value=str(arr.dtype)
                )
            object.__setattr__(self, "volume", self.volume.with_array(arr.astype(np.int32)))
        if self.volume.array.size and self.volume.array.min() < 0:
            raise UnsupportedDataError("label numbers must be ≥ 0", file=self.source)
        if self.region_kind not in REGION_KINDS:
            raise InputError(f"region_kind must be one of {REGION_KINDS}", value=self.region_kind)
        names = {int(k): str(v) for k, v in self.names.items() if int(k) > 0}
        object.__setattr__(self, "names", dict(sorted(names.items())))

    @property
    def array(self) -> np.ndarray:
        """The label array (z, y, x)."""
        return self.volume.array

    def number_of(self, name: str) -> int:
        """Label number of a region name (KeyError if absent)."""
        for number, n in self.names.items():
            if n == name:
                return number
        raise KeyError(name)

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of one named region."""
        return self.array == self.number_of(name)

    def present_labels(self) -> np.ndarray:
        """Label numbers with at least one voxel (background excluded)."""
        return np.nonzero(label_counts(self.array)[1:])[0] + 1

    def replace(
        self,
        volume: Volume | None = None,
        names: Mapping[int, str] | None = None,
        region_kind: str | None = None,
    ) -> LabelMap:
        """A copy with some fields changed."""
        return LabelMap(
            volume=self.volume if volume is None else volume,
            names=self.names if names is None else names,
            region_kind=self.region_kind if region_kind is None else region_kind,
            source=self.source,
        )


# --- reading ---------------------------------------------------------------------------
def _read_nifti(path: Path) -> Volume:
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for bad files
        raise InputError(f"cannot read label map as NIfTI ({exc})", file=path) from None
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise UnsupportedDataError("a label map must be 3-D", file=path, value=data.shape)
    # NIfTI affines are RAS; immunopet volumes are LPS (flip x and y).
    aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.asarray(img.affine, dtype=float)
    spacing = np.linalg.norm(aff[:3, :3], axis=0)
    direction = aff[:3, :3] / spacing
    return Volume(
        array=np.ascontiguousarray(np.transpose(data, (2, 1, 0))),
        spacing_mm=tuple(spacing),
        origin_mm=tuple(aff[:3, 3]),
        direction=tuple(direction.ravel()),
        unit="label",
    )


def load_label_map(
    path: str | PathLike[str],
    names: Mapping[int, str] | None = None,
    *,
    region_kind: str = "organ",
    warn_empty: bool | None = None,
) -> LabelMap:
    """Read a label map from NIfTI (``.nii``/``.nii.gz``) or a DICOM SEG file.

    Parameters
    ----------
    path
        The file.
    names
        ``{number: name}``; default: the SEG segment labels, or ``label_<n>``
        for every label present in a NIfTI file. A SEG written by
        :func:`~immunopet.io.dicom_seg.write_seg` gives back its original label
        numbers (else the segment numbers), on the SEG's own grid
        (:func:`~immunopet.io.dicom_seg.read_seg`); overlapping segments are
        flattened, the highest label winning.
    region_kind
        Kind of the regions (``"organ"`` for organ maps, ``"lesion"`` …).
    warn_empty
        Warn about named labels without voxels. With False they are dropped
        silently. Default: warn, except for the built-in TotalSegmentator table
        (every scan misses some of its 117 classes).

    Raises
    ------
    InputError
        Unreadable file, non-integer labels, not 3-D.

    Warns
    -----
    ImmunopetWarning
        Named labels that have no voxel.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("label map not found", file=p)
    low = p.name.lower()
    if low.endswith((".nii", ".nii.gz")):
        vol, file_names = _read_nifti(p), None
    else:
        vol, file_names = read_seg(p)
    arr = vol.array
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.mod(arr, 1) == 0):
            raise UnsupportedDataError("label map holds non-integer values", file=p)
        vol = vol.with_array(arr.astype(np.int32))
    lm = LabelMap(vol, {}, region_kind, str(p))
    present = lm.present_labels()
    if names is None:
        names = file_names or {int(n): f"label_{int(n)}" for n in present}
    lm = lm.replace(names=names)
    if warn_empty is None:
        warn_empty = dict(names) != TOTALSEGMENTATOR_V2_TOTAL
    if warn_empty:
        _warn_empty(lm, set(present.tolist()), "in the file")
    else:
        kept = {n: name for n, name in lm.names.items() if n in set(present.tolist())}
        if not kept:
            raise GeometryError("no named label has any voxel in the file", file=p)
        lm = lm.replace(names=kept)
    return lm


def _warn_empty(lm: LabelMap, present: set[int], where: str) -> None:
    empty = [f"{n} ({name})" for n, name in lm.names.items() if n not in present]
    if empty and len(empty) < len(lm.names):
        warnings.warn(
            f"{lm.source or 'label map'}: {len(empty)} named label(s) have no voxel {where}: "
            + ", ".join(empty[:10])
            + (" …" if len(empty) > 10 else ""),
            ImmunopetWarning,
            stacklevel=3,
        )
    elif empty:
        raise GeometryError(f"no named label has any voxel {where}", file=lm.source)


# --- geometry checks -------------------------------------------------------------------
def _extent(vol: Volume) -> tuple[np.ndarray, np.ndarray]:
    """LPS bounding box of the voxel *edges* (half a voxel beyond the centres)."""
    nz, ny, nx = vol.shape
    corners = np.array(
        [[i, j, k] for i in (-0.5, nx - 0.5) for j in (-0.5, ny - 0.5) for k in (-0.5, nz - 0.5)]
    )
    pts = vol.index_to_lps(corners)
    return pts.min(axis=0), pts.max(axis=0)


def check_overlap(labels: Volume, pet: Volume, *, file: str | None = None) -> None:
    """Refuse a label volume on another frame of reference or outside the PET field of view.

    Raises
    ------
    GeometryError
        Different FrameOfReferenceUID (both known), or no overlap at all.
    """
    a, b = labels.frame_of_reference_uid, pet.frame_of_reference_uid
    if a and b and a != b:
        raise GeometryError(
            f"label map is on FrameOfReferenceUID {a}, the PET on {b}: register the "
            "CT first (immunopet match) or give the segmentation of this scan's CT",
            file=file,
            field="FrameOfReferenceUID",
            value=a,
        )
    lo1, hi1 = _extent(labels)
    lo2, hi2 = _extent(pet)
    if np.any(np.minimum(hi1, hi2) <= np.maximum(lo1, lo2)):
        raise GeometryError(
            f"label map (LPS {np.round(lo1, 1)}–{np.round(hi1, 1)} mm) does not overlap the PET "
            f"field of view ({np.round(lo2, 1)}–{np.round(hi2, 1)} mm)",
            file=file,
        )


def labels_on_pet_grid(label_map: LabelMap, pet: Volume) -> LabelMap:
    """Nearest-neighbour resampling of a label map onto the PET grid.

    Raises
    ------
    GeometryError
        Other frame of reference, no overlap, or no named label left on the PET grid.

    Warns
    -----
    ImmunopetWarning
        The label map was on another grid and has been resampled (said once, with both
        grids), and named labels that vanish on the PET grid (smaller than a PET voxel
        or outside).
    """
    check_overlap(label_map.volume, pet, file=label_map.source)
    if label_map.volume.same_grid(pet):
        vol = label_map.volume
    else:
        src = label_map.volume
        warnings.warn(
            f"{label_map.source or 'label map'}: the label map is on another grid than the "
            f"PET (shape {src.shape} vs {pet.shape}, spacing "
            f"{tuple(round(v, 3) for v in src.spacing_mm)} vs "
            f"{tuple(round(v, 3) for v in pet.spacing_mm)} mm); resampled onto the PET grid "
            "by nearest neighbour",
            ImmunopetWarning,
            stacklevel=2,
        )
        vol = src.resample_like(pet, "nearest")
    out = label_map.replace(volume=vol)
    present = set(label_map.present_labels().tolist())
    on_pet = present if vol is label_map.volume else set(out.present_labels().tolist())
    if on_pet.isdisjoint(label_map.names):
        raise GeometryError(
            "no labelled voxel falls inside the PET field of view", file=label_map.source
        )
    lost = {n: s for n, s in label_map.names.items() if n in present and n not in on_pet}
    if lost:
        warnings.warn(
            f"{label_map.source or 'label map'}: label(s) lost on the PET grid "
            f"(smaller than a voxel or outside the field of view): {', '.join(lost.values())}",
            ImmunopetWarning,
            stacklevel=2,
        )
    return out


def label_counts(labels: np.ndarray) -> np.ndarray:
    """Voxels per label number (:func:`numpy.bincount` in one compiled sweep, no intp copy)."""
    return count_labels(labels)


# --- merging ---------------------------------------------------------------------------
def label_dtype(max_label: int) -> type:
    """The smallest unsigned integer type holding label numbers up to ``max_label``.

    A 117-class map of a 125 M-voxel PET is 125 MB as uint8, 500 MB as int32.
    """
    if max_label <= np.iinfo(np.uint8).max:
        return np.uint8
    if max_label <= np.iinfo(np.uint16).max:
        return np.uint16
    return np.int32


def merge_labels(label_map: LabelMap, rename: Mapping[str, str]) -> LabelMap:
    """Rename regions and merge those that get the same name.

    Parameters
    ----------
    label_map
        The input labels.
    rename
        ``{old_name: new_name}``; names not in it are kept. Labels with the same
        new name are merged into one (e.g. ``kidney_left`` and ``kidney_right``
        → ``kidneys``). New numbers follow the order of the first old number.

    Returns
    -------
    LabelMap
        Relabelled with a single lookup-table pass; unnamed labels become 0.
    """
    new_numbers: dict[str, int] = {}
    lut_size = max([0, *label_map.names]) + 1
    n_new = len(set(rename.get(name, name) for name in label_map.names.values()))
    lut = np.zeros(max(lut_size, int(label_map.array.max(initial=0)) + 1), dtype=label_dtype(n_new))
    for number, name in label_map.names.items():
        new_name = rename.get(name, name)
        lut[number] = new_numbers.setdefault(new_name, len(new_numbers) + 1)
    arr = apply_lut(label_map.array, lut)
    names = {num: name for name, num in new_numbers.items()}
    return label_map.replace(volume=label_map.volume.with_array(arr, "label"), names=names)


def to_immunopet_organs(label_map: LabelMap) -> LabelMap:
    """Apply :data:`~immunopet.regions.totalsegmentator.TOTALSEGMENTATOR_TO_IMMUNOPET`."""
    return merge_labels(label_map, TOTALSEGMENTATOR_TO_IMMUNOPET)
