"""Read DICOM PET and CT series: discover, group, sort by geometry, rescale, build Volumes.

* Files are found recursively; every file is opened header-only
  (``stop_before_pixels``) and grouped by SeriesInstanceUID.
* Slices are ordered by the projection of ImagePositionPatient on the slice
  normal (row × column cosines of ImageOrientationPatient) — never by file
  name or InstanceNumber; the slice spacing comes from those positions and
  must be uniform.
* Pixel values are rescaled per slice (RescaleSlope/RescaleIntercept differ
  between PET slices).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ..core.errors import (
    GeometryError,
    ImmunopetError,
    ImmunopetWarning,
    InputError,
    InvalidValueError,
    UnsupportedDataError,
)
from ..core.scan import Acquisition
from ..core.volume import Volume
from .header_values import read_number, read_numbers
from .pet_header import acquisition_from_headers

__all__ = [
    "DicomSeries",
    "discover_series",
    "group_series",
    "series_from_datasets",
    "read_series_volume",
    "series_acquisition",
]

_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
#: Relative tolerance on slice-spacing uniformity (and a floor in mm).
_SPACING_REL_TOL = 1e-3
_SPACING_ABS_TOL_MM = 1e-3


@dataclass(frozen=True)
class DicomSeries:
    """One DICOM series: geometry-sorted files and headers (no pixels).

    Attributes
    ----------
    uid
        SeriesInstanceUID.
    modality
        ``"PT"``, ``"CT"``, ``"MR"``…
    files
        Slice files, sorted along the slice normal (increasing).
    headers
        The matching header-only datasets.
    """

    uid: str
    modality: str
    files: tuple[Path, ...]
    headers: tuple[Dataset, ...]

    @property
    def first(self) -> Dataset:
        return self.headers[0]

    @property
    def source(self) -> str:
        """The folder holding the series (or the single file)."""
        if len(self.files) == 1:
            return str(self.files[0])
        return os.path.commonpath([str(f.parent) for f in self.files])

    @property
    def study_uid(self) -> str | None:
        return str(self.first.get("StudyInstanceUID") or "") or None

    @property
    def frame_of_reference_uid(self) -> str | None:
        return str(self.first.get("FrameOfReferenceUID") or "") or None

    @property
    def description(self) -> str:
        return str(self.first.get("SeriesDescription") or "")

    def geometry(
        self,
    ) -> tuple[
        tuple[int, int, int],
        tuple[float, float, float],
        tuple[float, float, float],
        tuple[float, ...],
    ]:
        """(shape zyx, spacing xyz mm, origin LPS mm, direction) from the headers."""
        return _geometry(self.headers, self.files)


class _Skip(Exception):
    """A file met while walking a folder that is not a DICOM image (reason in args[0])."""


def _read_header(path: Path, *, explicit: bool) -> Dataset | None:
    """Header-only read.

    A file met while walking a folder that is not a DICOM image (zero-byte,
    truncated, not DICOM, a DICOMDIR, no SeriesInstanceUID) raises :class:`_Skip`;
    the same file named explicitly raises :class:`InputError` naming it.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(128)
            has_preamble = fh.read(4) == b"DICM"
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=path) from exc

    def refuse(reason: str, exc: Exception | None = None) -> None:
        if not explicit:
            raise _Skip(reason)
        raise InputError(reason, file=path, field="SeriesInstanceUID" if exc is None else None)

    if size == 0:
        refuse("empty file (0 bytes)")
    if not has_preamble and not explicit:
        raise _Skip("not DICOM (no DICM preamble)")
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=not has_preamble)
    except Exception as exc:  # pydicom raises many types for corrupt files
        refuse(f"corrupt or unreadable DICOM file ({type(exc).__name__}: {exc})"[:200], exc)
        return None
    try:
        sop_class = str(ds.get("SOPClassUID", "") or "")
    except Exception:  # noqa: BLE001
        sop_class = ""
    if sop_class == _DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        refuse("a DICOMDIR (media index), not an image")
    try:
        uid = ds.get("SeriesInstanceUID")
    except Exception:  # noqa: BLE001
        uid = None
    if not uid or not isinstance(uid, str):
        refuse("not a DICOM image: SeriesInstanceUID is missing")
    return ds


def _iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterable[tuple[Path, bool]]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, _dirs, names in sorted(os.walk(path)):
                for name in sorted(names):
                    if not name.startswith("."):
                        yield Path(root) / name, False
        elif path.exists():
            yield path, True
        else:
            raise InputError("no such file or folder", file=path)


#: Extensions of the side files a DICOM folder commonly holds, never opened as DICOM.
_SIDE_FILES = (".json", ".nii", ".gz", ".txt", ".csv", ".md", ".yaml", ".yml", ".html", ".png")


def discover_series(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[DicomSeries]:
    """Every DICOM image series under ``paths`` (folders are walked recursively).

    Files met while walking a folder that are not DICOM images (zero-byte,
    truncated or corrupt, not DICOM, DICOMDIR) are skipped with one
    :class:`~immunopet.core.errors.ImmunopetWarning` naming them; a file named
    explicitly that is not a DICOM image raises :class:`InputError` naming it.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    members: list[tuple[Path, Dataset]] = []
    skipped: list[str] = []
    for path, explicit in _iter_files(items):
        if path.suffix.lower() in _SIDE_FILES and not explicit:
            continue
        try:
            ds = _read_header(path, explicit=explicit)
        except _Skip as why:
            if path.name.upper() != "DICOMDIR":
                skipped.append(f"{path.name} ({why.args[0]})")
            continue
        if ds is not None:
            members.append((path, ds))
    if skipped:
        shown = "; ".join(skipped[:8]) + (
            f"; and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        )
        where = items[0] if len(items) == 1 else "the folders given"
        warnings.warn(
            f"{where}: skipped {len(skipped)} file(s) that are not DICOM images: {shown}",
            ImmunopetWarning,
            stacklevel=2,
        )
    return group_series(members)


def group_series(members: Sequence[tuple[Path, Dataset]]) -> list[DicomSeries]:
    """Group (file, header) pairs by SeriesInstanceUID into geometry-sorted :class:`DicomSeries`."""
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    for path, ds in members:
        groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    out = []
    for uid, group in groups.items():
        modality = _text_or_empty(group[0][1], "Modality")
        files, headers = _sort_slices(group)
        out.append(DicomSeries(uid=uid, modality=modality, files=files, headers=headers))
    out.sort(
        key=lambda s: (
            s.modality != "PT",
            s.modality,
            _text_or_empty(s.first, "SeriesNumber"),
            s.uid,
        )
    )
    return out


def series_from_datasets(datasets: Sequence[Dataset]) -> list[DicomSeries]:
    """Series from in-memory pydicom datasets (with or without pixel data).

    Each dataset's ``filename`` (when set) names it in messages, else ``<dataset i>``.
    """
    members = []
    for i, ds in enumerate(datasets):
        try:
            uid = ds.get("SeriesInstanceUID")
        except Exception:  # noqa: BLE001
            uid = None
        if not uid or not isinstance(uid, str):
            raise InputError(
                f"dataset {i} is not a DICOM image: SeriesInstanceUID is missing",
                field="SeriesInstanceUID",
            )
        name = getattr(ds, "filename", None)
        members.append((Path(name if isinstance(name, str) and name else f"<dataset {i}>"), ds))
    return group_series(members)


def _text_or_empty(ds: Dataset, keyword: str) -> str:
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
    v = np.asarray(iop)
    row, col = v[:3], v[3:]
    if (
        abs(np.linalg.norm(row) - 1.0) > 1e-2
        or abs(np.linalg.norm(col) - 1.0) > 1e-2
        or abs(float(np.dot(row, col))) > 1e-2
    ):
        raise GeometryError(
            f"ImageOrientationPatient {list(iop)} is not two orthogonal unit vectors",
            file=path,
            field="ImageOrientationPatient",
            value=list(iop),
        )
    return v


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
    if _text_or_empty(first, "SOPClassUID") in _ENHANCED_PET:
        raise UnsupportedDataError(
            "Enhanced PET multi-frame images are not supported yet; export the series as "
            "PET Image Storage single-frame slices (e.g. with dcmtk or the scanner console)",
            file=path0,
            field="SOPClassUID",
            value=_text_or_empty(first, "SOPClassUID"),
        )
    rows = _int_field(first, "Rows", path0, 1, 65535)
    cols = _int_field(first, "Columns", path0, 1, 65535)
    if rows is None or cols is None:
        raise GeometryError(
            f"not an image series (Modality {_text_or_empty(first, 'Modality') or '?'}, "
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


def _rescale(ds: Dataset, path: Path, modality: str) -> tuple[float, float]:
    """RescaleSlope / RescaleIntercept of one slice (1 / 0 when absent), finite and in range."""
    slope = read_number(ds, "RescaleSlope", source=str(path))
    intercept = read_number(ds, "RescaleIntercept", source=str(path))
    if modality == "PT" and slope is not None and slope <= 0:
        raise InvalidValueError(
            f"RescaleSlope {slope:g} must be positive for PET",
            file=path,
            field="RescaleSlope",
            value=slope,
        )
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


def _pixels(series: DicomSeries, k: int) -> tuple[np.ndarray, Dataset]:
    path, header = series.files[k], series.headers[k]
    try:
        ds = header if "PixelData" in header else pydicom.dcmread(path)
        pixels = ds.pixel_array
    except Exception as exc:  # pydicom raises many types for broken or unsupported pixel data
        raise InputError(
            f"cannot decode pixel data ({type(exc).__name__}: {exc})"[:300],
            file=path,
            field="PixelData",
        ) from exc
    return pixels, ds


def read_series_volume(series: DicomSeries) -> Volume:
    """Pixel data of ``series`` as a :class:`Volume`, rescaled slice by slice.

    Compressed transfer syntaxes (JPEG 2000, JPEG-LS, RLE, deflate) are decoded by
    pydicom's pixel data handlers (pylibjpeg and its plugins). Unit: ``"HU"`` for CT,
    the PET ``Units`` (e.g. ``"BQML"``) for PT, else the modality.

    Raises
    ------
    InputError
        Undecodable pixel data, a shape that differs from Rows×Columns, or rescaled
        values that are not finite (naming the slice file).
    """
    shape, spacing, origin, direction = series.geometry()
    dtype = np.float64 if series.modality == "PT" else np.float32
    arr = np.empty(shape, dtype=dtype)
    for k, path in enumerate(series.files):
        pixels, ds = _pixels(series, k)
        if pixels.shape != shape[1:]:
            raise InputError(
                f"pixel array shape {pixels.shape} differs from Rows×Columns",
                file=path,
                field="PixelData",
            )
        slope, intercept = _rescale(ds, path, series.modality)
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(pixels, slope, out=arr[k], casting="unsafe")
            arr[k] += intercept
        if not np.isfinite(arr[k]).all():
            raise InvalidValueError(
                f"rescaled pixel values are not finite (RescaleSlope {slope:g}, "
                f"RescaleIntercept {intercept:g})",
                file=path,
                field="RescaleSlope",
                value=slope,
            )
    if series.modality == "CT":
        unit = "HU"
    elif series.modality == "PT":
        unit = (_text_or_empty(series.first, "Units") or "").upper()
    else:
        unit = series.modality
    return Volume(
        arr,
        spacing,
        origin,
        direction,
        unit=unit,
        frame_of_reference_uid=series.frame_of_reference_uid,
    )


def series_acquisition(series: DicomSeries, *, nuclide: object = None) -> Acquisition:
    """The :class:`Acquisition` of a PET series (``nuclide``: the user's override, if any).

    Raises
    ------
    UnsupportedDataError
        The series is not PET.
    """
    if series.modality != "PT":
        raise UnsupportedDataError(
            f"series {series.uid} is {series.modality or 'of unknown modality'}, not PET (PT)",
            file=series.source,
            field="Modality",
            value=series.modality,
        )
    return acquisition_from_headers(series.headers, series.source, nuclide=nuclide)  # type: ignore[arg-type]
