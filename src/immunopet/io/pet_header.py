"""PET DICOM header → :class:`~immunopet.core.scan.Acquisition` (times, nuclide, vendor private tags).

Header fields used (DICOM PS3.3 C.8.9.1 PET Series, C.8.9.2 PET Isotope,
C.8.9.4 PET Image) and the QIBA vendor-neutral SUV pseudo-code rules they feed
(see :mod:`immunopet.quant`):

* scan start: SeriesDate/SeriesTime, unless later than the earliest
  AcquisitionDate/AcquisitionTime (GE re-writes SeriesTime), then GE private
  (0009,100D) "GEMS_PETD_01" scan date-time when present, else the earliest
  acquisition;
* injection: RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime
  with SeriesDate (then ``injection_date_inferred=True``);
* Philips private (7053,1000) SUV scale factor and (7053,1009) activity
  concentration scale factor ("Philips PET Private Group").

Date-time parsing and UTC offsets: :mod:`.dicom_time`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydicom.dataset import Dataset

from ..core.errors import (
    ImmunopetWarning,
    InvalidValueError,
    MissingFieldError,
    UnknownNuclideError,
)
from ..core.nuclides import Nuclide, nuclide_from_code, parse_nuclide_name
from ..core.scan import Acquisition
from .dicom_time import (
    combine_da_tm,
    parse_da,
    parse_dt,
    parse_tm,
    parse_utc_offset,
    series_utc_offset,
    split_dt,
)

__all__ = [
    "acquisition_from_headers",
    "parse_da",
    "parse_dt",
    "parse_tm",
    "parse_utc_offset",
    "private_float",
    "scan_start_datetime",
    "series_utc_offset",
    "split_dt",
]

PHILIPS_CREATOR = "Philips PET Private Group"
GE_CREATOR = "GEMS_PETD_01"


def private_float(ds: Dataset, group: int, element_offset: int, creator: str) -> float | None:
    """A numeric private element (creator-reserved block), or the conventional tag as fallback."""
    elem = None
    try:
        elem = ds.get_private_item(group, element_offset, creator)
    except (KeyError, ValueError):
        elem = ds.get((group, 0x1000 | element_offset))
    if elem is None or elem.value in (None, "", b""):
        return None
    value = elem.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore").strip("\x00 ")
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _private_text(ds: Dataset, group: int, element_offset: int, creator: str) -> str | None:
    try:
        elem = ds.get_private_item(group, element_offset, creator)
    except (KeyError, ValueError):
        return None
    value = elem.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore").strip("\x00 ")
    return str(value) if value else None


def _float_or_none(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _nuclide(info: Dataset | None, source: str) -> Nuclide:
    """Nuclide from RadionuclideCodeSequence (DICOM CID 4020), else the radiopharmaceutical name."""
    errors: list[str] = []
    if info is not None:
        for item in info.get("RadionuclideCodeSequence", []) or []:
            try:
                return Nuclide.from_name(
                    nuclide_from_code(
                        item.get("CodeValue"),
                        item.get("CodingSchemeDesignator"),
                        item.get("CodeMeaning"),
                    )
                )
            except UnknownNuclideError as exc:
                errors.append(exc.message)
        names = [info.get("Radiopharmaceutical"), info.get("Radionuclide")]
    else:
        names = []
    # Free-text fallback on the radiopharmaceutical name only (never SeriesDescription:
    # a wrong nuclide is worse than a clear error).
    for name in names:
        if not name:
            continue
        for token in re.findall(
            r"\^?\d{1,3}m?\^?[A-Za-z]{1,12}|[A-Za-z]{1,12}[\s\-]?\d{1,3}m?", str(name)
        ):
            try:
                return Nuclide.from_name(parse_nuclide_name(token))
            except UnknownNuclideError:
                continue
    detail = f" ({'; '.join(errors)})" if errors else ""
    raise UnknownNuclideError(
        f"cannot identify the radionuclide from RadionuclideCodeSequence or Radiopharmaceutical"
        f"{detail}; the nuclide is needed for decay correction",
        file=source,
        field="RadionuclideCodeSequence",
    )


def scan_start_datetime(
    headers: Sequence[Dataset],
    *,
    local_offset: timedelta | None = None,
    source: str | None = None,
) -> datetime | None:
    """QIBA scan start: SeriesDate/Time unless later than the earliest acquisition (GE rule).

    DT values with an explicit UTC offset are converted to ``local_offset`` (the
    series' TimezoneOffsetFromUTC) when given, so that they compare with the
    local-time SeriesDate/SeriesTime.
    """
    first = headers[0]
    series_dt = combine_da_tm(first.get("SeriesDate"), first.get("SeriesTime"))
    acq_times = []
    for ds in headers:
        adt = parse_dt(
            ds.get("AcquisitionDateTime"),
            local_offset=local_offset,
            field="AcquisitionDateTime",
            source=source,
        ) or combine_da_tm(
            ds.get("AcquisitionDate") or first.get("SeriesDate"), ds.get("AcquisitionTime")
        )
        if adt is not None:
            acq_times.append(adt)
    earliest = min(acq_times) if acq_times else None
    if series_dt is None:
        return earliest
    if earliest is None or series_dt <= earliest:
        return series_dt
    ge_dt = parse_dt(
        _private_text(first, 0x0009, 0x0D, GE_CREATOR),
        local_offset=local_offset,
        field="(0009,100D) GE scan date-time",
        source=source,
    )
    return ge_dt or earliest


def _explicit_offsets(
    headers: Sequence[Dataset], info: Dataset | None, source: str
) -> dict[str, timedelta]:
    """Explicit UTC offsets of the DT values the acquisition times may come from, by field."""
    found: dict[str, timedelta] = {}
    values = [("AcquisitionDateTime", ds.get("AcquisitionDateTime")) for ds in headers]
    values.append(
        ("(0009,100D) GE scan date-time", _private_text(headers[0], 0x0009, 0x0D, GE_CREATOR))
    )
    if info is not None:
        values.append(
            ("RadiopharmaceuticalStartDateTime", info.get("RadiopharmaceuticalStartDateTime"))
        )
    for name, value in values:
        _dt, offset = split_dt(value, field=name, source=source)
        if offset is not None:
            found.setdefault(name, offset)
    return found


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def acquisition_from_headers(headers: Sequence[Dataset], source: str) -> Acquisition:
    """Build an :class:`Acquisition` from the headers of one PET series (first slice first).

    Parameters
    ----------
    headers
        Every slice's dataset (pixel data not needed), geometry-sorted.
    source
        File or folder named in error messages.

    Raises
    ------
    UnknownNuclideError
        The radionuclide cannot be identified.
    InvalidValueError
        A numeric field cannot be read as a number, or a UTC offset
        (TimezoneOffsetFromUTC, a DT ``&ZZXX`` suffix) is malformed.
    """
    ds = headers[0]
    seq = ds.get("RadiopharmaceuticalInformationSequence") or []
    info = seq[0] if len(seq) else None
    nuclide = _nuclide(info, source)
    local_offset = series_utc_offset(ds, source)
    if local_offset is None:
        explicit = _explicit_offsets(headers, info, source)
        if len(set(explicit.values())) > 1:
            listed = ", ".join(f"{k} {_format_offset(v)}" for k, v in explicit.items())
            warnings.warn(
                f"{source}: date-times carry different UTC offsets ({listed}) but the series "
                "declares no TimezoneOffsetFromUTC (0008,0201); each is taken as local time, "
                "so times post-injection may be wrong by the difference — pass the injection "
                "date-time explicitly",
                ImmunopetWarning,
                stacklevel=2,
            )

    injection_dt: datetime | None = None
    inferred = False
    dose = header_half_life = None
    tracer = None
    if info is not None:
        injection_dt = parse_dt(
            info.get("RadiopharmaceuticalStartDateTime"),
            local_offset=local_offset,
            field="RadiopharmaceuticalStartDateTime",
            source=source,
        )
        if injection_dt is None and info.get("RadiopharmaceuticalStartTime"):
            injection_dt = combine_da_tm(
                ds.get("SeriesDate"), info.get("RadiopharmaceuticalStartTime")
            )
            inferred = injection_dt is not None
        dose = _float_or_none(info, "RadionuclideTotalDose")
        header_half_life = _float_or_none(info, "RadionuclideHalfLife")
        tracer = info.get("Radiopharmaceutical") or None

    units = str(ds.get("Units") or "").strip().upper()
    if not units:
        raise MissingFieldError(
            "PET Units (0054,1001) are missing; cannot tell Bq/mL from counts",
            file=source,
            field="Units",
        )
    decay = str(ds.get("DecayCorrection") or "").strip().upper()
    if not decay:
        corrected = [str(c).upper() for c in (ds.get("CorrectedImage") or [])]
        decay = "START" if "DECY" in corrected or not corrected else "NONE"
        warnings.warn(
            f"{source}: DecayCorrection (0054,1102) is missing; assuming {decay} "
            f"(CorrectedImage {corrected or 'absent'})",
            ImmunopetWarning,
            stacklevel=2,
        )
    if decay not in ("START", "ADMIN", "NONE"):
        raise InvalidValueError(
            f"DecayCorrection {decay!r} is not START, ADMIN or NONE",
            file=source,
            field="DecayCorrection",
            value=decay,
        )
    frame_ms = _float_or_none(ds, "ActualFrameDuration")
    sex = str(ds.get("PatientSex") or "").strip().upper() or None
    return Acquisition(
        nuclide=nuclide,
        units=units,
        decay_correction=decay,  # type: ignore[arg-type]
        scan_start_datetime=scan_start_datetime(headers, local_offset=local_offset, source=source),
        injection_datetime=injection_dt,
        injected_activity_bq=dose,
        patient_weight_kg=_float_or_none(ds, "PatientWeight"),
        patient_height_m=_float_or_none(ds, "PatientSize"),
        patient_sex=sex,
        frame_duration_s=None if frame_ms is None else frame_ms / 1000.0,
        header_half_life_s=header_half_life,
        vendor_suv_bw_factor=private_float(ds, 0x7053, 0x00, PHILIPS_CREATOR),
        vendor_activity_scale_factor=private_float(ds, 0x7053, 0x09, PHILIPS_CREATOR),
        tracer=str(tracer) if tracer else None,
        modality=str(ds.get("Modality") or "PT"),
        manufacturer=str(ds.get("Manufacturer") or "") or None,
        series_instance_uid=str(ds.get("SeriesInstanceUID") or "") or None,
        series_description=str(ds.get("SeriesDescription") or "") or None,
        patient_id=str(ds.get("PatientID") or "") or None,
        source=source,
        injection_date_inferred=inferred,
        utc_offset_h=None if local_offset is None else local_offset.total_seconds() / 3600.0,
    )
