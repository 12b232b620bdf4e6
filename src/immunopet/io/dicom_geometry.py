"""Geometry of a DICOM image series: orientation, slice order, spacing, and what is refused.

* Slices are ordered by the projection of ImagePositionPatient on the slice
  normal (row × column cosines of ImageOrientationPatient) — never by file
  name or InstanceNumber; the slice spacing comes from those positions and
  must be uniform (:data:`_SPACING_REL_TOL`).
* Every geometry value is read through :mod:`.header_values`: the right number
  of values (IOP 6, IPP 3, PixelSpacing 2), finite and in range; IOP must be two
  orthogonal unit vectors.
* Enhanced / multi-frame PET and several frames in one series (slices sharing a
  position) are refused as "not supported yet".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from ..core.errors import GeometryError, ImmunopetError, UnsupportedDataError
from .header_values import read_number, read_numbers

__all__ = ["geometry", "sort_slices", "text_or_empty"]

#: Relative tolerance on slice-spacing uniformity (and a floor in mm).
_SPACING_REL_TOL = 1e-3
_SPACING_ABS_TOL_MM = 1e-3


def text_or_empty(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - reported when the field is used
        return ""
    return str(value or "").strip() if not isinstance(value, bytes) else ""


def _orientation(ds: Dataset, path: Path) -> np.ndarray:
    """Row and column direction cosines: 6 finite numbers, two orthogonal unit vectors."""
    iop = read_numbers(ds, "ImageOrientationPatient", 6, source=str(path))
    if iop is None:
        raise GeometryError(
            "ImageOrientationPatient is missing", file=path, field="ImageOrientationPatient"
        )
    if not _orthonormal(iop):
        raise GeometryError(
            f"ImageOrientationPatient {list(iop)} is not two orthogonal unit vectors",
            file=path,
            field="ImageOrientationPatient",
            value=list(iop),
        )
    return np.asarray(iop)


@functools.lru_cache(maxsize=64)
def _orthonormal(iop: tuple[float, ...]) -> bool:
    """Two unit vectors (±1 %) at a right angle (|cos| ≤ 0.01); cached, slices share one IOP."""
    row, col = iop[:3], iop[3:]
    norm_r = math.sqrt(sum(x * x for x in row))
    norm_c = math.sqrt(sum(x * x for x in col))
    dot = sum(a * b for a, b in zip(row, col, strict=True))
    return abs(norm_r - 1.0) <= 1e-2 and abs(norm_c - 1.0) <= 1e-2 and abs(dot) <= 1e-2


def _position(ds: Dataset, path: Path) -> np.ndarray:
    ipp = read_numbers(ds, "ImagePositionPatient", 3, source=str(path))
    if ipp is None:
        raise GeometryError(
            "ImagePositionPatient is missing", file=path, field="ImagePositionPatient"
        )
    return np.asarray(ipp)


def _sort_slices(
    members: list[tuple[Path, Dataset]],
) -> tuple[tuple[Path, ...], tuple[Dataset, ...]]:
    """Order by position along the slice normal; malformed geometry is reported by _geometry."""

    def key(item: tuple[Path, Dataset]) -> float:
        path, ds = item
        try:
            iop = _orientation(ds, path)
            ipp = _position(ds, path)
        except ImmunopetError:
            try:
                return float(ds.get("InstanceNumber") or 0)
            except Exception:  # noqa: BLE001
                return 0.0
        return float(np.dot(np.cross(iop[:3], iop[3:]), ipp))

    ordered = sorted(members, key=key)
    return tuple(p for p, _ in ordered), tuple(d for _, d in ordered)


def _int_field(ds: Dataset, keyword: str, path: Path, lo: int, hi: int) -> int | None:
    value = read_number(ds, keyword, source=str(path), lo=lo, hi=hi)
    return None if value is None else int(value)


#: SOP classes of enhanced / multi-frame PET (DICOM PS3.4 B.5): Enhanced PET Image
#: Storage and Legacy Converted Enhanced PET Image Storage.
_ENHANCED_PET = ("1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.128.1")


def _geometry(
    headers: Sequence[Dataset], files: Sequence[Path]
) -> tuple[
    tuple[int, int, int], tuple[float, float, float], tuple[float, float, float], tuple[float, ...]
]:
    first, path0 = headers[0], files[0]
    if text_or_empty(first, "SOPClassUID") in _ENHANCED_PET:
        raise UnsupportedDataError(
            "Enhanced PET multi-frame images are not supported yet; export the series as "
            "PET Image Storage single-frame slices (e.g. with dcmtk or the scanner console)",
            file=path0,
            field="SOPClassUID",
            value=text_or_empty(first, "SOPClassUID"),
        )
    rows = _int_field(first, "Rows", path0, 1, 65535)
    cols = _int_field(first, "Columns", path0, 1, 65535)
    if rows is None or cols is None:
        raise GeometryError(
            f"not an image series (Modality {text_or_empty(first, 'Modality') or '?'}, "
            "no Rows/Columns)",
            file=path0,
            field="Rows",
        )
    frames = _int_field(first, "NumberOfFrames", path0, 0, 10**6)
    if frames is not None and frames > 1:
        raise UnsupportedDataError(
            "multi-frame (enhanced) images are not supported yet; export the series as "
            "single-frame slices",
            file=path0,
            field="NumberOfFrames",
            value=frames,
        )
    iop = _orientation(first, path0)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    ps = read_numbers(first, "PixelSpacing", 2, source=str(path0))
    if ps is None:
        raise GeometryError("PixelSpacing is missing", file=path0, field="PixelSpacing")
    if min(ps) <= 0:
        raise GeometryError(
            f"PixelSpacing {list(ps)} must be positive", file=path0, field="PixelSpacing"
        )
    dy, dx = ps
    positions = []
    for ds, path in zip(headers, files, strict=True):
        r = _int_field(ds, "Rows", path, 1, 65535)
        c = _int_field(ds, "Columns", path, 1, 65535)
        if r != rows or c != cols:
            raise GeometryError(
                f"slice size {r}×{c} differs from {rows}×{cols}", file=path, field="Rows"
            )
        if not np.allclose(_orientation(ds, path), iop, atol=1e-4):
            raise GeometryError(
                "slices have different orientations (gantry tilt / mixed stacks)",
                file=path,
                field="ImageOrientationPatient",
            )
        ps_k = read_numbers(ds, "PixelSpacing", 2, source=str(path))
        if ps_k is None or not np.allclose(ps_k, ps, rtol=1e-4):
            raise GeometryError(
                f"PixelSpacing {ps_k} differs from {list(ps)} of the first slice",
                file=path,
                field="PixelSpacing",
            )
        positions.append(_position(ds, path))
    pos = np.asarray(positions)
    proj = pos @ normal
    if len(proj) > 1:
        gaps = np.diff(proj)
        if np.any(gaps < _SPACING_ABS_TOL_MM):
            dup = files[int(np.argmin(gaps)) + 1]
            raise UnsupportedDataError(
                "two slices share one position: dynamic (several frames) or multi-bed data "
                "stored as one series is not supported yet; pass the files of one frame",
                file=dup,
                field="ImagePositionPatient",
            )
        dz = float(np.mean(gaps))
        if np.max(np.abs(gaps - dz)) > max(_SPACING_REL_TOL * dz, _SPACING_ABS_TOL_MM):
            raise GeometryError(
                f"slice spacing is not uniform (from {gaps.min():.4g} to {gaps.max():.4g} mm): missing slices?",
                file=files[0].parent,
                field="ImagePositionPatient",
            )
        in_plane = (pos[-1] - pos[0]) - np.dot(pos[-1] - pos[0], normal) * normal
        if np.linalg.norm(in_plane) > 1e-2 * max(1.0, len(proj)):
            raise GeometryError(
                "slice positions do not lie along the slice normal (tilted stack)",
                file=files[0].parent,
                field="ImagePositionPatient",
            )
    else:
        dz = (
            read_number(first, "SpacingBetweenSlices", source=str(path0))
            or read_number(first, "SliceThickness", source=str(path0))
            or 1.0
        )
    direction = np.column_stack([row, col, normal]).ravel()
    return (len(headers), rows, cols), (dx, dy, dz), tuple(pos[0]), tuple(direction)  # type: ignore[return-value]


#: Public names used by :mod:`.dicom` and :mod:`.dicom_source`.
sort_slices = _sort_slices
geometry = _geometry
