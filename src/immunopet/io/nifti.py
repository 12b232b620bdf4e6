"""NIfTI volumes and PET-BIDS JSON sidecars, read and written.

NIfTI stores RAS+ world coordinates (nibabel ``affine``) and the data in
(i, j, k) = (x, y, z) order; :class:`~immunopet.core.volume.Volume` holds
LPS coordinates and a (z, y, x) array. Conversion: ``A_lps = diag(−1, −1, 1, 1) · A_ras``
and a transpose of the array axes.

Sidecar fields (BIDS specification, "Positron Emission Tomography" modality
agnostic files, v1.9): ``TracerRadionuclide``, ``TracerName``,
``InjectedRadioactivity`` + ``InjectedRadioactivityUnits``, ``TimeZero``
(time of day, all other times in seconds relative to it), ``ScanStart``,
``InjectionStart``, ``ImageDecayCorrected``, ``ImageDecayCorrectionTime``,
``DecayCorrectionFactor``, ``Units``, ``BodyWeight`` (kg), ``FrameDuration``.
The absolute date comes from ``ScanDate`` / ``AcquisitionDate`` (or an ISO
date-time TimeZero, whose ``Z`` or ``±hh:mm`` suffix, when present, sets
``Acquisition.utc_offset_h``; BIDS defines no other time-zone field); without it, a placeholder date 1900-01-01 is used — the
times relative to TimeZero, which are all that decay correction needs, stay exact.
Extensions read when present: ``BodyHeight`` (m), ``PatientSex``.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from ..core.errors import (
    GeometryError,
    InputError,
    InvalidValueError,
    MissingFieldError,
    UnsupportedDataError,
)
from ..core.nuclides import Nuclide
from ..core.scan import Acquisition
from ..core.volume import Volume
from .header_values import checked_number

__all__ = [
    "is_nifti",
    "nifti_acquisition",
    "read_nifti",
    "read_sidecar",
    "sidecar_from_acquisition",
    "sidecar_path",
    "sidecar_unit_scale",
    "write_nifti",
]

_LPS_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_ACTIVITY_TO_BQ = {
    "bq": 1.0,
    "kbq": 1e3,
    "mbq": 1e6,
    "gbq": 1e9,
    "mci": 3.7e7,
    "uci": 3.7e4,
    "ci": 3.7e10,
}
_CONC_TO_BQ_PER_ML = {"bq/ml": 1.0, "kbq/ml": 1e3, "mbq/ml": 1e6, "bq/cc": 1.0, "kbq/cc": 1e3}
_SUV_UNITS = {"g/ml", "suv", "suvbw", "gml"}
_PLACEHOLDER_DATE = date(1900, 1, 1)


def is_nifti(path: str | os.PathLike[str]) -> bool:
    """True for ``.nii`` / ``.nii.gz`` paths."""
    name = str(path).lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``x.nii.gz`` → ``x.json``."""
    p = Path(path)
    stem = p.name[: -len(".nii.gz")] if p.name.lower().endswith(".nii.gz") else p.stem
    return p.with_name(stem + ".json")


def read_nifti(path: str | os.PathLike[str], unit: str | None = None) -> Volume:
    """A NIfTI file as a :class:`Volume` (LPS geometry, (z, y, x) array).

    Integer images without scaling (label maps) keep their integer dtype.
    ``unit`` defaults to the sidecar ``Units`` when a sidecar exists.
    """
    p = Path(path)
    try:
        img = nib.load(str(p))
    except Exception as exc:  # nibabel raises several types for broken files
        raise InputError(f"cannot read NIfTI file ({type(exc).__name__}: {exc})", file=p) from exc
    raw_dtype = img.get_data_dtype()
    slope, inter = img.header.get_slope_inter()
    try:
        if np.issubdtype(raw_dtype, np.integer) and slope in (None, 1.0) and inter in (None, 0.0):
            data = np.asanyarray(img.dataobj)
        else:
            data = img.get_fdata(dtype=np.float64)
    except Exception as exc:
        raise InputError(
            f"cannot read NIfTI voxel data ({type(exc).__name__}: {exc})", file=p
        ) from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise UnsupportedDataError(
            f"only 3-D images are supported, got shape {data.shape} (dynamic frames?)", file=p
        )
    aff = _LPS_RAS @ np.asarray(img.affine, dtype=float)
    m = aff[:3, :3]
    spacing = np.linalg.norm(m, axis=0)
    if np.any(spacing <= 0):
        raise GeometryError("NIfTI affine has a zero-length axis", file=p, field="affine")
    direction = m / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise GeometryError(
            "NIfTI affine is sheared (non-orthogonal axes): not supported", file=p, field="affine"
        )
    if unit is None:
        side = sidecar_path(p)
        unit = ""
        if side.exists():
            unit = str(read_sidecar(side).get("Units", ""))
    return Volume(
        np.ascontiguousarray(np.transpose(data, (2, 1, 0))),
        tuple(spacing),  # type: ignore[arg-type]
        tuple(aff[:3, 3]),  # type: ignore[arg-type]
        tuple(direction.ravel()),
        unit=unit,
    )


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON sidecar as a dict (:class:`InputError` naming the file if it is not JSON)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read JSON sidecar ({exc})", file=p) from exc
    if not isinstance(data, dict):
        raise InputError("JSON sidecar must hold an object", file=p)
    return data


def _number(side: dict[str, Any], key: str, source: Path) -> float | None:
    value = side.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidValueError(
            f"{key} must be a number, got {value!r}", file=source, field=key, value=value
        ) from exc
    if not math.isfinite(number):
        raise InvalidValueError(
            f"{key} must be a finite number, got {value!r}", file=source, field=key, value=value
        )
    if key == "BodyWeight":  # the DICOM PatientWeight range (immunopet.io.header_values)
        checked_number(number, "PatientWeight", source=str(source))
    return number


def _time_zero(side: dict[str, Any], source: Path) -> datetime:
    tz = side.get("TimeZero")
    if not tz:
        raise MissingFieldError(
            "PET-BIDS TimeZero is missing; every time in the sidecar is relative to it",
            file=source,
            field="TimeZero",
        )
    text = str(tz).strip()
    try:
        if "T" in text or len(text) > 12 and "-" in text:
            return datetime.fromisoformat(text)
        t = time.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValueError(
            f"TimeZero {tz!r} is not hh:mm:ss", file=source, field="TimeZero", value=tz
        ) from exc
    day_text = side.get("ScanDate") or side.get("AcquisitionDate")
    try:
        day = date.fromisoformat(str(day_text)[:10]) if day_text else _PLACEHOLDER_DATE
    except ValueError as exc:
        raise InvalidValueError(
            f"{day_text!r} is not a date YYYY-MM-DD", file=source, field="ScanDate", value=day_text
        ) from exc
    return datetime.combine(day, t)


def nifti_acquisition(side: dict[str, Any], source: str | os.PathLike[str]) -> Acquisition:
    """An :class:`Acquisition` from a PET-BIDS sidecar.

    The voxel unit conversion (kBq/mL → Bq/mL) is left to the caller
    (:func:`sidecar_unit_scale`); ``units`` is ``"BQML"`` or ``"GML"``.
    """
    src = Path(source)
    radionuclide = side.get("TracerRadionuclide")
    if not radionuclide:
        raise MissingFieldError(
            "TracerRadionuclide is missing", file=src, field="TracerRadionuclide"
        )
    nuclide = Nuclide.from_name(str(radionuclide))
    zero = _time_zero(side, src)
    # BIDS common principles ("Units", date-times): an optional "Z" marks UTC; without it
    # times are local. BIDS has no per-dataset UTC-offset field, so only an ISO date-time
    # TimeZero with an explicit offset declares the sidecar's zone (all times are relative
    # to TimeZero, hence in that zone).
    zero_offset = zero.utcoffset()
    zero = zero.replace(tzinfo=None)
    scan_start_s = _number(side, "ScanStart", src)
    inj_start_s = _number(side, "InjectionStart", src)
    dose = _number(side, "InjectedRadioactivity", src)
    if dose is not None:
        unit = str(side.get("InjectedRadioactivityUnits", "")).strip().lower()
        if unit not in _ACTIVITY_TO_BQ:
            raise UnsupportedDataError(
                f"InjectedRadioactivityUnits {side.get('InjectedRadioactivityUnits')!r} not understood "
                "(use Bq, kBq, MBq, GBq or mCi)",
                file=src,
                field="InjectedRadioactivityUnits",
            )
        dose *= _ACTIVITY_TO_BQ[unit]
    scan_dt = zero + timedelta(seconds=scan_start_s or 0.0)
    inj_dt = None if inj_start_s is None else zero + timedelta(seconds=inj_start_s)
    corrected = side.get("ImageDecayCorrected", True)
    decay, ref_dt = "START", None
    if corrected in (False, "false", "False", 0):
        decay = "NONE"
    else:
        ref_s = _number(side, "ImageDecayCorrectionTime", src)
        if ref_s is not None:
            if inj_start_s is not None and abs(ref_s - inj_start_s) < 1e-6:
                decay = "ADMIN"
            elif abs(ref_s - (scan_start_s or 0.0)) > 1e-6:
                ref_dt = zero + timedelta(seconds=ref_s)
    units_text = str(side.get("Units", "Bq/mL")).strip().lower()
    units = "GML" if units_text in _SUV_UNITS else "BQML"
    if units == "BQML" and units_text not in _CONC_TO_BQ_PER_ML:
        raise UnsupportedDataError(
            f"Units {side.get('Units')!r} not understood (use Bq/mL, kBq/mL or g/mL)",
            file=src,
            field="Units",
        )
    durations = side.get("FrameDuration")
    frame_s = _number({"d": durations}, "d", src) if durations is not None else None
    sex = side.get("PatientSex") or side.get("Sex")
    return Acquisition(
        nuclide=nuclide,
        units=units,
        decay_correction=decay,  # type: ignore[arg-type]
        scan_start_datetime=scan_dt,
        injection_datetime=inj_dt,
        injected_activity_bq=dose,
        patient_weight_kg=_number(side, "BodyWeight", src),
        patient_height_m=_number(side, "BodyHeight", src),
        patient_sex=str(sex).upper()[:1] if sex else None,
        frame_duration_s=frame_s,
        decay_reference_datetime=ref_dt,
        tracer=side.get("TracerName"),
        modality="PT",
        manufacturer=side.get("Manufacturer"),
        series_description=side.get("SeriesDescription"),
        source=str(src),
        utc_offset_h=None if zero_offset is None else zero_offset.total_seconds() / 3600.0,
    )


def sidecar_unit_scale(side: dict[str, Any]) -> float:
    """Factor from the sidecar's concentration ``Units`` to Bq/mL (1 for SUV units)."""
    units_text = str(side.get("Units", "Bq/mL")).strip().lower()
    return _CONC_TO_BQ_PER_ML.get(units_text, 1.0)


def patient_sidecar_fields(acq: Acquisition) -> dict[str, Any]:
    """The PET-BIDS ``BodyWeight`` (kg), ``BodyHeight`` (m) and ``PatientSex`` that are known."""
    side: dict[str, Any] = {}
    if acq.patient_weight_kg is not None:
        side["BodyWeight"] = acq.patient_weight_kg
    if acq.patient_height_m is not None:
        side["BodyHeight"] = acq.patient_height_m
    if acq.patient_sex:
        side["PatientSex"] = acq.patient_sex
    return side


def sidecar_from_acquisition(acq: Acquisition) -> dict[str, Any]:
    """PET-BIDS sidecar fields describing ``acq`` (TimeZero = injection, or scan start)."""
    zero = acq.injection_datetime or acq.scan_start_datetime
    side: dict[str, Any] = {
        "Modality": "PT",
        "TracerRadionuclide": acq.nuclide.name.replace("-", ""),
        "Units": {"BQML": "Bq/mL", "GML": "g/mL"}.get(acq.units, acq.units),
    }
    if acq.tracer:
        side["TracerName"] = acq.tracer
    if zero is not None:
        side["TimeZero"] = zero.time().isoformat()
        side["ScanDate"] = zero.date().isoformat()
        if acq.scan_start_datetime is not None:
            side["ScanStart"] = (acq.scan_start_datetime - zero).total_seconds()
        if acq.injection_datetime is not None:
            side["InjectionStart"] = (acq.injection_datetime - zero).total_seconds()
        side["ImageDecayCorrected"] = acq.decay_correction != "NONE"
        ref = acq.decay_reference_datetime or (
            acq.injection_datetime if acq.decay_correction == "ADMIN" else acq.scan_start_datetime
        )
        if acq.decay_correction != "NONE" and ref is not None:
            side["ImageDecayCorrectionTime"] = (ref - zero).total_seconds()
    if acq.injected_activity_bq is not None:
        side["InjectedRadioactivity"] = acq.injected_activity_bq / 1e6
        side["InjectedRadioactivityUnits"] = "MBq"
    side.update(patient_sidecar_fields(acq))
    if acq.frame_duration_s is not None:
        side["FrameDuration"] = [acq.frame_duration_s]
    return side


def write_nifti(
    volume: Volume,
    path: str | os.PathLike[str],
    *,
    sidecar: dict[str, Any] | None = None,
    acquisition: Acquisition | None = None,
) -> Path:
    """Write ``volume`` as NIfTI-1 (RAS affine from :attr:`Volume.affine_ras`) and an optional sidecar.

    Boolean arrays are stored as uint8; sidecar = ``sidecar_from_acquisition(acquisition)``
    updated with ``sidecar``.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(volume.array)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    img = nib.Nifti1Image(np.ascontiguousarray(np.transpose(arr, (2, 1, 0))), volume.affine_ras)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(volume.affine_ras, code=1)
    img.set_sform(volume.affine_ras, code=1)
    nib.save(img, str(p))
    side: dict[str, Any] = {}
    if acquisition is not None:
        side.update(sidecar_from_acquisition(acquisition))
    if sidecar:
        side.update(sidecar)
    if side:
        sidecar_path(p).write_text(json.dumps(side, indent=2, default=str))
    return p
