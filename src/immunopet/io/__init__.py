"""Reading scans into :class:`~immunopet.core.scan.Scan` objects, and writing images.

Public API::

    load_scan(path, *, series_uid=None, **overrides) -> Scan     # DICOM folder/files or NIfTI+JSON
    load_volume(path, *, series_uid=None) -> Volume              # CT, label map, any one series
    find_series(path) -> list[SeriesInfo]                        # what is in a folder (for `info`)
    write_nifti(volume, path, *, sidecar=None, acquisition=None)
    write_seg(labels, names, source, out_path, *, kinds=None) -> Path   # DICOM SEG
    read_seg(path, reference=None) -> (Volume, {label: name})
    write_measurement_sr(table, seg_path, source, out_path, *, subject, scan_id) -> Path
    read_measurement_sr(path) -> DataFrame                       # TID 1500 SR

Overrides (study file or CLI values win over the header): ``injection_datetime``
(datetime or ISO string), ``injected_activity_bq``, ``patient_weight_kg``,
``patient_height_m``, ``patient_sex``, ``nuclide``. An ``injection_datetime`` with a UTC offset
(``2018-06-04T01:30:00Z``) is converted to the series' local time when the series
declares one (``Acquisition.utc_offset_h``); otherwise it is taken as local time
with an :class:`~immunopet.core.errors.ImmunopetWarning`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from ..core.errors import (
    ImmunopetError,
    InputError,
    UnsupportedDataError,
)
from ..core.scan import Acquisition, Scan
from ..core.volume import Volume
from ..quant import check_header_half_life
from .dicom import (
    DicomSeries,
    discover_series,
    read_series_volume,
    series_acquisition,
    series_from_datasets,
    split_frames,
)
from .dicom_seg import read_seg, write_seg
from .dicom_sr import read_measurement_sr, write_measurement_sr
from .nifti import (
    is_nifti,
    nifti_acquisition,
    read_nifti,
    read_sidecar,
    sidecar_path,
    sidecar_unit_scale,
    write_nifti,
)
from .overrides import apply_overrides

__all__ = [
    "SeriesInfo",
    "apply_overrides",
    "find_series",
    "load_scan",
    "load_volume",
    "read_measurement_sr",
    "read_seg",
    "write_measurement_sr",
    "write_nifti",
    "write_seg",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SeriesInfo:
    """A light summary of one series found on disk (for ``immunopet info``).

    ``acquisition`` is set for PET series whose header could be read; ``error``
    holds the one-line reason otherwise.
    """

    modality: str
    series_instance_uid: str
    description: str
    source: str
    n_files: int
    shape: tuple[int, int, int] | None = None
    spacing_mm: tuple[float, float, float] | None = None
    study_instance_uid: str | None = None
    frame_of_reference_uid: str | None = None
    patient_id: str | None = None
    manufacturer: str | None = None
    acquisition: Acquisition | None = None
    error: str | None = None
    extras: dict[str, Any] = field(default_factory=dict, compare=False)


def _is_nifti_input(path: PathLike | Sequence[PathLike]) -> bool:
    return isinstance(path, (str, os.PathLike)) and is_nifti(path)


def _dicom_info(series: DicomSeries) -> SeriesInfo:
    shape = spacing = None
    error = None
    try:
        shape, spacing, _origin, _direction = series.geometry()
    except ImmunopetError as exc:
        error = str(exc)
    acq = None
    if series.modality == "PT":
        try:
            acq = series_acquisition(series)
        except ImmunopetError as exc:
            error = error or str(exc)
    first = series.first
    return SeriesInfo(
        modality=series.modality,
        series_instance_uid=series.uid,
        description=series.description,
        source=series.source,
        n_files=len(series.files),
        shape=shape,
        spacing_mm=spacing,
        study_instance_uid=series.study_uid,
        frame_of_reference_uid=series.frame_of_reference_uid,
        patient_id=str(first.get("PatientID") or "") or None,
        manufacturer=str(first.get("Manufacturer") or "") or None,
        acquisition=acq,
        error=error,
    )


def find_series(path: PathLike | Sequence[PathLike]) -> list[SeriesInfo]:
    """Every series under ``path`` (DICOM, recursively) or the one NIfTI image given."""
    if _is_nifti_input(path):
        vol = read_nifti(path)  # type: ignore[arg-type]
        side_path = sidecar_path(path)  # type: ignore[arg-type]
        acq, error = None, None
        if side_path.exists():
            try:
                acq = nifti_acquisition(read_sidecar(side_path), path)  # type: ignore[arg-type]
            except ImmunopetError as exc:
                error = str(exc)
        return [
            SeriesInfo(
                modality="PT" if side_path.exists() else "",
                series_instance_uid=str(path),
                description=Path(path).name,  # type: ignore[arg-type]
                source=str(path),
                n_files=1,
                shape=vol.shape,
                spacing_mm=vol.spacing_mm,
                acquisition=acq,
                error=error,
            )
        ]
    return [_dicom_info(s) for s in discover_series(path)]


def _pick_pet(series: list[DicomSeries], series_uid: str | None, path: Any) -> DicomSeries:
    if series_uid is not None:
        match = [s for s in series if s.uid == series_uid]
        if not match:
            raise InputError(
                f"no series with SeriesInstanceUID {series_uid}; run `immunopet info` to list them",
                file=str(path),
                field="SeriesInstanceUID",
                value=series_uid,
            )
        if match[0].modality != "PT":
            raise UnsupportedDataError(
                f"series {series_uid} is {match[0].modality}, not PET (PT)",
                file=match[0].source,
                field="Modality",
                value=match[0].modality,
            )
        return match[0]
    pets = [s for s in series if s.modality == "PT"]
    if not pets:
        found = ", ".join(sorted({s.modality or "?" for s in series})) or "no DICOM images"
        raise UnsupportedDataError(
            f"no PET (PT) series found (found: {found})", file=str(path), field="Modality"
        )
    if len(pets) > 1:
        raise InputError(
            f"{len(pets)} PET series found; choose one with --series "
            f"({', '.join(p.uid for p in pets)})",
            file=str(path),
            field="SeriesInstanceUID",
        )
    return pets[0]


def _pick_frame(series: DicomSeries, frame: int | None) -> DicomSeries:
    """One frame of a dynamic series (``frame``, 0-based, in time order)."""
    frames = split_frames(series)
    if len(frames) == 1 and frame in (None, 0):
        return frames[0]
    if frame is None or not 0 <= frame < len(frames):
        raise UnsupportedDataError(
            f"a dynamic series of {len(frames)} frame(s); choose one with frame=0…"
            f"{len(frames) - 1} (CLI --frame); several frames at once are not supported yet",
            file=series.source,
            field="FrameReferenceTime",
            value=frame,
        )
    return frames[frame]


def _matching_ct(series: list[DicomSeries], pet: DicomSeries) -> DicomSeries | None:
    cts = [s for s in series if s.modality == "CT"]
    for key in ("frame_of_reference_uid", "study_uid"):
        value = getattr(pet, key)
        same = [c for c in cts if value and getattr(c, key) == value]
        if same:
            return same[0]
    return None


def _is_datasets(path: Any) -> bool:
    return (
        isinstance(path, Sequence)
        and not isinstance(path, str)
        and len(path) > 0
        and all(isinstance(d, Dataset) for d in path)
    )


def _series_of(path: Any) -> list[DicomSeries]:
    """DICOM series from files/folders, or from in-memory pydicom datasets."""
    if _is_datasets(path):
        return series_from_datasets(path)
    return discover_series(path)


def load_scan(
    path: PathLike | Sequence[PathLike] | Sequence[Dataset],
    *,
    series_uid: str | None = None,
    frame: int | None = None,
    **overrides: Any,
) -> Scan:
    """Read one PET scan (with its CT when found) from DICOM or NIfTI + PET-BIDS sidecar.

    Parameters
    ----------
    path
        DICOM folder (searched recursively), DICOM file(s), a ``.nii[.gz]`` file, or
        pydicom datasets already in memory (with their pixel data).
    series_uid
        The PET SeriesInstanceUID when several PET series are present.
    frame
        The frame (0-based, in time order) of a dynamic series stored as one series;
        required for such a series (frames are decay-corrected to the series start).
    **overrides
        Study-file / CLI values that replace the header: ``injection_datetime``,
        ``injected_activity_bq``, ``patient_weight_kg``, ``patient_height_m``, ``patient_sex``,
        ``nuclide`` (when the header's nuclide fields are missing or contradict each other).

    Raises
    ------
    InputError
        Unreadable files, several PET series and no ``series_uid``.
    UnsupportedDataError
        No PET series, or ``series_uid`` names a non-PET series.
    """
    if _is_nifti_input(path):
        side_path = sidecar_path(path)  # type: ignore[arg-type]
        if not side_path.exists():
            raise InputError(
                "a NIfTI PET image needs its PET-BIDS JSON sidecar (same name, .json)",
                file=side_path,
            )
        side = read_sidecar(side_path)
        vol = read_nifti(path)  # type: ignore[arg-type]
        acq = apply_overrides(nifti_acquisition(side, path), **overrides)  # type: ignore[arg-type]
        scale = sidecar_unit_scale(side)
        pet = vol.with_array(vol.array.astype(float) * scale, acq.units)
        check_header_half_life(acq)
        return Scan(
            pet=pet,
            acquisition=acq,
            subject_id=str(side.get("SubjectID", "")),
            scan_id=Path(path).name,
        )  # type: ignore[arg-type]
    series = _series_of(path)
    pet_series = _pick_pet(series, series_uid, path if not _is_datasets(path) else "<datasets>")
    pet_series = _pick_frame(pet_series, frame)
    acq = apply_overrides(
        series_acquisition(pet_series, nuclide=overrides.get("nuclide")), **overrides
    )
    check_header_half_life(acq)
    pet = read_series_volume(pet_series)
    ct_series = _matching_ct(series, pet_series)
    ct = read_series_volume(ct_series) if ct_series is not None else None
    return Scan(
        pet=pet,
        acquisition=acq,
        ct=ct,
        subject_id=acq.patient_id or "",
        scan_id=acq.series_description or pet_series.uid,
    )


def load_volume(path: PathLike | Sequence[PathLike], *, series_uid: str | None = None) -> Volume:
    """One image as a :class:`Volume`: a NIfTI file, or one DICOM series (CT, PET, …).

    With several DICOM series present, ``series_uid`` must name one.
    """
    if _is_nifti_input(path):
        return read_nifti(path)  # type: ignore[arg-type]
    series = discover_series(path)
    if series_uid is not None:
        series = [s for s in series if s.uid == series_uid]
    if len(series) != 1:
        what = "no DICOM image series" if not series else f"{len(series)} series"
        raise InputError(
            f"{what} found; pass series_uid to choose one",
            file=str(path),
            field="SeriesInstanceUID",
        )
    return read_series_volume(series[0])
