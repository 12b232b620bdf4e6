"""Read DICOM PET and CT series: discover, group, sort by geometry, rescale, build Volumes.

* Files are found recursively; every file is opened header-only
  (``stop_before_pixels``) and grouped by SeriesInstanceUID. Files that are not
  DICOM images (zero-byte, truncated, not DICOM, DICOMDIR) are skipped with one
  warning naming them; in-memory pydicom datasets are accepted too.
* Slices are ordered and checked by :mod:`.dicom_geometry` (position along the
  slice normal, uniform spacing, value counts, "not supported yet" for
  enhanced multi-frame PET); a dynamic series stored as one series is split
  into frames (:func:`split_frames`).
* Pixel values are rescaled per slice (RescaleSlope/RescaleIntercept differ
  between PET slices, each checked finite and in range); compressed transfer
  syntaxes are decoded by pydicom's handlers (pylibjpeg and its plugins).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from ..core.errors import (
    ImmunopetError,
    ImmunopetWarning,
    InputError,
    UnsupportedDataError,
)
from ..core.scan import Acquisition
from .dicom_geometry import _geometry, _sort_slices, text_or_empty
from .dicom_pixels import read_series_volume
from .header_values import read_number
from .pet_header import acquisition_from_headers

__all__ = [
    "DicomSeries",
    "discover_series",
    "group_series",
    "series_from_datasets",
    "split_frames",
    "read_series_volume",
    "series_acquisition",
]

_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


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
        modality = text_or_empty(group[0][1], "Modality")
        files, headers = _sort_slices(group)
        out.append(DicomSeries(uid=uid, modality=modality, files=files, headers=headers))
    out.sort(
        key=lambda s: (
            s.modality != "PT",
            s.modality,
            text_or_empty(s.first, "SeriesNumber"),
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


def split_frames(series: DicomSeries) -> list[DicomSeries]:
    """The frames of a dynamic series stored as one series, in time order (else ``[series]``).

    Slices sharing an ImagePositionPatient belong to different frames; a frame is the
    set of slices with one FrameReferenceTime (0054,1300), or one AcquisitionTime
    when that is absent. Each frame is returned as a geometry-sorted
    :class:`DicomSeries` with the series' UID. With DecayCorrection START every frame
    is decay-corrected to the series start (PS3.3 C.8.9.4.1), which the scan-start rule
    of :mod:`.pet_header` then gives (SeriesTime ≤ the frame's AcquisitionTime).
    """
    positions = set()
    for ds, path in zip(series.headers, series.files, strict=True):
        try:
            positions.add(tuple(round(v, 3) for v in _position_or_none(ds, path)))
        except ImmunopetError:
            return [series]  # reported by geometry()
    if len(positions) == len(series.headers):
        return [series]
    groups: dict[object, list[tuple[Path, Dataset]]] = {}
    for ds, path in zip(series.headers, series.files, strict=True):
        frt = read_number(ds, "FrameReferenceTime", source=str(path))
        key = frt if frt is not None else text_or_empty(ds, "AcquisitionTime")
        groups.setdefault(key, []).append((path, ds))
    sizes = {len(g) for g in groups.values()}
    if len(groups) < 2 or len(sizes) != 1:
        return [series]  # not separable into frames: geometry() says why
    frames = []
    for key in sorted(groups, key=lambda k: (isinstance(k, str), k)):  # type: ignore[arg-type]
        files, headers = _sort_slices(groups[key])
        frames.append(DicomSeries(series.uid, series.modality, files, headers))
    return frames


def _position_or_none(ds: Dataset, path: Path) -> tuple[float, ...]:
    from .header_values import read_numbers

    ipp = read_numbers(ds, "ImagePositionPatient", 3, source=str(path))
    return ipp if ipp is not None else (float("nan"),) * 3


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
