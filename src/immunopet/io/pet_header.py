"""PET DICOM header → :class:`~immunopet.core.scan.Acquisition` (times, nuclide, vendor private tags).

Header fields used (DICOM PS3.3 C.8.9.1 PET Series, C.8.9.2 PET Isotope,
C.8.9.4 PET Image) and the QIBA vendor-neutral SUV pseudo-code rules they feed
(see :mod:`immunopet.quant`):

* scan start: SeriesDate/SeriesTime, unless later than the earliest
  AcquisitionDate/AcquisitionTime (GE re-writes SeriesTime), then GE private
  (0009,100D) "GEMS_PETD_01" scan date-time when present, else the earliest
  acquisition;
* injection: RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime
  with SeriesDate (then ``injection_date_inferred=True``); a time of day later
  than the scan start is the day before (injection before midnight, scan after);
* nuclide: :mod:`.nuclide_id` (code under any scheme, meaning, name, half-life);
* every number and date-time is checked by :mod:`.header_values` (finite, in
  range, well-formed), and the series-level fields (weight, height, dose,
  injection time, half-life, units, decay correction, series date-time) must be
  the same on every slice (:class:`~immunopet.core.errors.ConflictingFieldsError`);
* DecayFactor is cross-checked against FrameReferenceTime and the half-life;
* Philips private (7053,1000) SUV scale factor and (7053,1009) activity
  concentration scale factor ("Philips PET Private Group").

Date-time parsing and UTC offsets: :mod:`.dicom_time`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydicom.dataset import Dataset

from ..core.errors import (
    ImmunopetWarning,
    InvalidValueError,
    MissingFieldError,
)
from ..core.nuclides import Nuclide
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
from .header_values import (
    RANGES,
    checked_number,
    read_item,
    read_items,
    read_text,
)
from .nuclide_id import identify_nuclide
from .pet_consistency import _file, check_decay_factor, check_frames, consistent_fields

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


def _private_element(ds: Dataset, group: int, element_offset: int, creator: str) -> Any:
    try:
        return ds.get_private_item(group, element_offset, creator)
    except (KeyError, ValueError):
        return None
    except Exception:  # noqa: BLE001 - a malformed private creator: treat the block as absent
        return None


def private_float(
    ds: Dataset,
    group: int,
    element_offset: int,
    creator: str,
    *,
    field: str | None = None,
    source: str | None = None,
) -> float | None:
    """A numeric private element (creator-reserved block), or the conventional tag as fallback.

    Raises
    ------
    InvalidValueError
        The element is present but not one finite number in the plausible range
        of ``field`` (:data:`~immunopet.io.header_values.RANGES`).
    """
    name = field or f"({group:04X},{0x1000 | element_offset:04X})"
    elem = _private_element(ds, group, element_offset, creator)
    if elem is None:
        try:
            elem = ds.get((group, 0x1000 | element_offset))
        except Exception:  # noqa: BLE001
            elem = None
    if elem is None:
        return None
    try:
        value = elem.value
    except Exception as exc:  # noqa: BLE001 - pydicom converts lazily
        raise InvalidValueError(f"cannot be read ({exc})", file=source, field=name) from exc
    if value in (None, "", b""):
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip("\x00 ")
        if "\\" in value:
            value = value.split("\\")
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        if len(value) != 1:
            raise InvalidValueError(
                f"must hold one number, got {list(value)!r}"[:120], file=source, field=name
            )
        value = value[0]
    key = field if field in RANGES else None
    return checked_number(value, key or name, source=source)


def _private_text(ds: Dataset, group: int, element_offset: int, creator: str) -> str | None:
    elem = _private_element(ds, group, element_offset, creator)
    if elem is None:
        return None
    try:
        value = elem.value
    except Exception:  # noqa: BLE001
        return "<unreadable>"
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip("\x00 ")
    return str(value) if value else None


def _code_items(info: Dataset | None, source: str) -> list[tuple[Any, Any, Any]]:
    if info is None:
        return []
    out = []
    for item in read_items(info, "RadionuclideCodeSequence", source=source):
        out.append(
            (
                read_text(item, "CodeValue", source=source),
                read_text(item, "CodingSchemeDesignator", source=source),
                read_text(item, "CodeMeaning", source=source),
            )
        )
    return out


def scan_start_datetime(
    headers: Sequence[Dataset],
    *,
    local_offset: timedelta | None = None,
    source: str | None = None,
) -> datetime | None:
    """QIBA scan start: SeriesDate/Time unless later than the earliest acquisition (GE rule).

    When SeriesTime is later than the earliest acquisition (GE, or any
    post-processing that re-writes SeriesTime), the GE private (0009,100D)
    "GEMS_PETD_01" scan date-time is used when present, else the earliest
    acquisition. DT values with an explicit UTC offset are converted to
    ``local_offset`` (the series' TimezoneOffsetFromUTC) when given.

    Raises
    ------
    InvalidValueError
        A date or time that is not a valid DICOM DA / TM / DT, naming the slice file.
    """
    first = headers[0]
    f0 = _file(first, source)
    series_date = read_text(first, "SeriesDate", source=f0)
    series_dt = combine_da_tm(
        series_date,
        read_text(first, "SeriesTime", source=f0),
        fields=("SeriesDate", "SeriesTime"),
        source=f0,
    )
    acq_times = []
    parsed: dict[tuple[Any, ...], datetime | None] = {}  # slices share their times
    for ds in headers:
        f = _file(ds, source)
        key = (
            read_text(ds, "AcquisitionDateTime", source=f),
            read_text(ds, "AcquisitionDate", source=f) or series_date,
            read_text(ds, "AcquisitionTime", source=f),
        )
        if key not in parsed:
            parsed[key] = parse_dt(
                key[0], local_offset=local_offset, field="AcquisitionDateTime", source=f
            ) or combine_da_tm(
                key[1], key[2], fields=("AcquisitionDate", "AcquisitionTime"), source=f
            )
        adt = parsed[key]
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
        source=f0,
    )
    return ge_dt or earliest


def _explicit_offsets(
    headers: Sequence[Dataset], info: Dataset | None, source: str
) -> dict[str, timedelta]:
    """Explicit UTC offsets of the DT values the acquisition times may come from, by field."""
    found: dict[str, timedelta] = {}
    values = [
        ("AcquisitionDateTime", read_text(ds, "AcquisitionDateTime", source=source))
        for ds in headers
    ]
    values.append(
        ("(0009,100D) GE scan date-time", _private_text(headers[0], 0x0009, 0x0D, GE_CREATOR))
    )
    if info is not None:
        values.append(
            (
                "RadiopharmaceuticalStartDateTime",
                read_text(info, "RadiopharmaceuticalStartDateTime", source=source),
            )
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


def acquisition_from_headers(
    headers: Sequence[Dataset], source: str, *, nuclide: str | Nuclide | None = None
) -> Acquisition:
    """Build an :class:`Acquisition` from the headers of one PET series (first slice first).

    Parameters
    ----------
    headers
        Every slice's dataset (pixel data not needed), geometry-sorted.
    source
        File or folder named in error messages.
    nuclide
        The user's choice of nuclide (override), when the header is wrong or ambiguous.

    Raises
    ------
    UnknownNuclideError
        The radionuclide cannot be identified.
    ConflictingFieldsError
        Header fields name different nuclides, or a slice's weight, dose, units or
        times differ from the rest of the series.
    InvalidValueError
        A field is malformed, not finite or implausible (:mod:`.header_values`), or a
        UTC offset (TimezoneOffsetFromUTC, a DT ``&ZZXX`` suffix) is malformed.
    """
    ds = headers[0]
    f0 = _file(ds, source) or source
    common = consistent_fields(headers, source)
    info = read_item(ds, "RadiopharmaceuticalInformationSequence", source=f0)
    header_half_life = common["RadionuclideHalfLife"]
    names = []
    if info is not None:
        for key in ("Radiopharmaceutical", "Radionuclide"):
            names.append((key, read_text(info, key, source=f0)))
    chosen = identify_nuclide(
        code_items=_code_items(info, f0),
        names=names,
        header_half_life_s=header_half_life,
        source=source,
        override=nuclide,
    )
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
    scan_start = scan_start_datetime(headers, local_offset=local_offset, source=source)

    injection_dt = parse_dt(
        common["RadiopharmaceuticalStartDateTime"],
        local_offset=local_offset,
        field="RadiopharmaceuticalStartDateTime",
        source=f0,
    )
    inferred = False
    if injection_dt is None and common["RadiopharmaceuticalStartTime"]:
        injection_dt = combine_da_tm(
            common["SeriesDate"] or (scan_start.strftime("%Y%m%d") if scan_start else None),
            common["RadiopharmaceuticalStartTime"],
            fields=("SeriesDate", "RadiopharmaceuticalStartTime"),
            source=f0,
        )
        inferred = injection_dt is not None
        if injection_dt is not None and scan_start is not None and injection_dt > scan_start:
            # Midnight crossing: a time of day later than the scan's is the day before.
            injection_dt -= timedelta(days=1)
    tracer = names[0][1] if names else None

    units = common["Units"] or ""
    if not units:
        raise MissingFieldError(
            "PET Units (0054,1001) are missing; cannot tell Bq/mL from counts",
            file=source,
            field="Units",
        )
    decay = common["DecayCorrection"] or ""
    if not decay:
        corrected = [str(c).upper() for c in (_multi_text(ds, "CorrectedImage", f0) or [])]
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
    frame_s = check_frames(headers, source)
    offset_s = (
        (scan_start - injection_dt).total_seconds()
        if scan_start is not None and injection_dt is not None
        else 0.0
    )
    check_decay_factor(ds, chosen, decay, offset_s, source)
    sex = (read_text(ds, "PatientSex", source=f0) or "").upper() or None
    suv_type = (read_text(ds, "SUVType", source=f0) or "").upper() or None
    return Acquisition(
        nuclide=chosen,
        units=units,
        decay_correction=decay,  # type: ignore[arg-type]
        scan_start_datetime=scan_start,
        injection_datetime=injection_dt,
        injected_activity_bq=common["RadionuclideTotalDose"],
        patient_weight_kg=common["PatientWeight"],
        patient_height_m=common["PatientSize"],
        patient_sex=sex,
        frame_duration_s=frame_s,
        header_half_life_s=header_half_life,
        vendor_suv_bw_factor=private_float(
            ds, 0x7053, 0x00, PHILIPS_CREATOR, field="SUVScaleFactor", source=f0
        ),
        vendor_activity_scale_factor=private_float(
            ds, 0x7053, 0x09, PHILIPS_CREATOR, field="ActivityConcentrationScaleFactor", source=f0
        ),
        tracer=str(tracer) if tracer else None,
        modality=read_text(ds, "Modality", source=f0) or "PT",
        manufacturer=read_text(ds, "Manufacturer", source=f0),
        series_instance_uid=read_text(ds, "SeriesInstanceUID", source=f0),
        series_description=read_text(ds, "SeriesDescription", source=f0),
        patient_id=read_text(ds, "PatientID", source=f0),
        source=source,
        injection_date_inferred=inferred,
        utc_offset_h=None if local_offset is None else local_offset.total_seconds() / 3600.0,
        suv_type=suv_type,
    )


def _multi_text(ds: Dataset, keyword: str, source: str | None) -> list[str] | None:
    from .header_values import value_of

    value = value_of(ds, keyword, source=source)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").split("\\")
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        return [str(value)]
