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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from ..core.errors import GeometryError, InputError, UnsupportedDataError
from ..core.scan import Acquisition
from ..core.volume import Volume
from .pet_header import acquisition_from_headers

__all__ = [
    "DicomSeries",
    "discover_series",
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


def _read_header(path: Path, *, explicit: bool) -> Dataset | None:
    """Header-only read; None for non-DICOM files met while walking a folder."""
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            has_preamble = fh.read(4) == b"DICM"
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=path) from exc
    if not has_preamble and not explicit:
        return None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=not has_preamble)
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError, TypeError) as exc:
        raise InputError(
            f"corrupt or unreadable DICOM file ({type(exc).__name__}: {exc})", file=path
        ) from exc
    if "SeriesInstanceUID" not in ds:
        if not explicit and not has_preamble:
            return None
        raise InputError(
            "not a DICOM image: SeriesInstanceUID is missing", file=path, field="SeriesInstanceUID"
        )
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


def discover_series(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[DicomSeries]:
    """Every DICOM image series under ``paths`` (folders are walked recursively).

    Non-DICOM files found while walking a folder (no ``DICM`` preamble) are
    skipped; a file with the preamble that cannot be parsed, or a file named
    explicitly that is not DICOM, raises :class:`InputError` naming it.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    for path, explicit in _iter_files(items):
        if (
            path.suffix.lower() in (".json", ".nii", ".gz", ".txt", ".csv", ".md", ".yaml", ".yml")
            and not explicit
        ):
            continue
        ds = _read_header(path, explicit=explicit)
        if ds is None or str(ds.get("SOPClassUID", "")) == _DICOMDIR_SOP_CLASS:
            continue
        groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    out = []
    for uid, members in groups.items():
        modality = str(members[0][1].get("Modality") or "")
        files, headers = _sort_slices(members)
        out.append(DicomSeries(uid=uid, modality=modality, files=files, headers=headers))
    out.sort(
        key=lambda s: (
            s.modality != "PT",
            s.modality,
            str(s.first.get("SeriesNumber") or ""),
            s.uid,
        )
    )
    return out


def _orientation(ds: Dataset, path: Path) -> np.ndarray:
    iop = ds.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        raise GeometryError(
            "ImageOrientationPatient is missing or malformed",
            file=path,
            field="ImageOrientationPatient",
        )
    return np.asarray([float(v) for v in iop])


def _sort_slices(
    members: list[tuple[Path, Dataset]],
) -> tuple[tuple[Path, ...], tuple[Dataset, ...]]:
    def key(item: tuple[Path, Dataset]) -> float:
        path, ds = item
        ipp = ds.get("ImagePositionPatient")
        if ipp is None:
            return float(ds.get("InstanceNumber") or 0)
        try:
            iop = _orientation(ds, path)
        except GeometryError:  # reported by _geometry when the series is used as an image
            return float(ds.get("InstanceNumber") or 0)
        normal = np.cross(iop[:3], iop[3:])
        return float(np.dot(normal, [float(v) for v in ipp]))

    ordered = sorted(members, key=key)
    return tuple(p for p, _ in ordered), tuple(d for _, d in ordered)


def _geometry(
    headers: Sequence[Dataset], files: Sequence[Path]
) -> tuple[
    tuple[int, int, int], tuple[float, float, float], tuple[float, float, float], tuple[float, ...]
]:
    first, path0 = headers[0], files[0]
    if "Rows" not in first or "Columns" not in first:
        raise GeometryError(
            f"not an image series (Modality {first.get('Modality', '?')}, no Rows/Columns)",
            file=path0,
            field="Rows",
        )
    if int(first.get("NumberOfFrames") or 1) > 1:
        raise UnsupportedDataError(
            "multi-frame (enhanced) images are not supported; export the series as single-frame slices",
            file=path0,
            field="NumberOfFrames",
        )
    iop = _orientation(first, path0)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    rows, cols = int(first.Rows), int(first.Columns)
    ps = first.get("PixelSpacing")
    if ps is None or len(ps) != 2:
        raise GeometryError("PixelSpacing is missing", file=path0, field="PixelSpacing")
    dy, dx = float(ps[0]), float(ps[1])
    positions = []
    for ds, path in zip(headers, files, strict=True):
        if int(ds.Rows) != rows or int(ds.Columns) != cols:
            raise GeometryError(
                f"slice size {ds.Rows}×{ds.Columns} differs from {rows}×{cols}",
                file=path,
                field="Rows",
            )
        if not np.allclose(_orientation(ds, path), iop, atol=1e-4):
            raise GeometryError(
                "slices have different orientations (gantry tilt / mixed stacks)",
                file=path,
                field="ImageOrientationPatient",
            )
        ipp = ds.get("ImagePositionPatient")
        if ipp is None:
            raise GeometryError(
                "ImagePositionPatient is missing", file=path, field="ImagePositionPatient"
            )
        positions.append([float(v) for v in ipp])
    pos = np.asarray(positions)
    proj = pos @ normal
    if len(proj) > 1:
        gaps = np.diff(proj)
        if np.any(gaps < _SPACING_ABS_TOL_MM):
            dup = files[int(np.argmin(gaps)) + 1]
            raise GeometryError(
                "two slices share one position (dynamic or multi-bed data stored as one series is not supported)",
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
        dz = float(first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1.0)
    direction = np.column_stack([row, col, normal]).ravel()
    return (len(headers), rows, cols), (dx, dy, dz), tuple(pos[0]), tuple(direction)  # type: ignore[return-value]


def read_series_volume(series: DicomSeries) -> Volume:
    """Pixel data of ``series`` as a float32 :class:`Volume`, rescaled slice by slice.

    Unit: ``"HU"`` for CT, the PET ``Units`` (e.g. ``"BQML"``) for PT, else the modality.
    """
    shape, spacing, origin, direction = series.geometry()
    # One preallocated float32 array, filled slice by slice: each slice is rescaled in
    # float64 and rounded once (relative error <= 6e-8; int16 storage itself quantises
    # at ~3e-5 of the slice maximum), so no float64 copy of the volume ever exists.
    arr = np.empty(shape, dtype=np.float32)
    for k, path in enumerate(series.files):
        try:
            ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
        except Exception as exc:  # pydicom raises many types for broken pixel data
            raise InputError(
                f"cannot decode pixel data ({type(exc).__name__}: {exc})",
                file=path,
                field="PixelData",
            ) from exc
        if pixels.shape != shape[1:]:
            raise InputError(
                f"pixel array shape {pixels.shape} differs from Rows×Columns",
                file=path,
                field="PixelData",
            )
        slope = float(ds.get("RescaleSlope") or 1.0)
        intercept = float(ds.get("RescaleIntercept") or 0.0)
        arr[k] = pixels * slope + intercept  # a float64 slice, rounded once into arr
    if series.modality == "CT":
        unit = "HU"
    elif series.modality == "PT":
        unit = str(series.first.get("Units") or "").upper()
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


def series_acquisition(series: DicomSeries) -> Acquisition:
    """The :class:`Acquisition` of a PET series.

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
    return acquisition_from_headers(series.headers, series.source)
