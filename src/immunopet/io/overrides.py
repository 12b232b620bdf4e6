"""Study-file / CLI values that replace header values: :func:`apply_overrides`.

Overrides win over the header: ``injection_datetime`` (datetime or ISO string),
``injected_activity_bq``, ``patient_weight_kg``, ``patient_height_m``,
``patient_sex``, ``nuclide``. Numbers get the plausible range of the header field
they replace (:data:`~immunopet.io.header_values.RANGES`). An
``injection_datetime`` with a UTC offset is converted to the series' local time
when the series declares one; otherwise it is taken as local time with an
:class:`~immunopet.core.errors.ImmunopetWarning`.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

from ..core.errors import ImmunopetWarning, InvalidValueError
from ..core.nuclides import Nuclide
from ..core.scan import Acquisition
from .header_values import RANGES

__all__ = ["OVERRIDES", "apply_overrides"]

_OVERRIDES = (
    "injection_datetime",
    "injected_activity_bq",
    "patient_weight_kg",
    "patient_height_m",
    "patient_sex",
    "nuclide",
)
#: The header field whose plausible range (io.header_values.RANGES) an override must meet.
_OVERRIDE_RANGES = {
    "injected_activity_bq": "RadionuclideTotalDose",
    "patient_weight_kg": "PatientWeight",
    "patient_height_m": "PatientSize",
}


def _parse_datetime(value: Any, utc_offset_h: float | None = None) -> datetime:
    """An injection override (datetime or ISO 8601 text) → naive datetime in the series' local time.

    A value with a UTC offset (``...Z``, ``...+02:00``) is converted to the local
    time ``utc_offset_h`` of the acquisition when that is known (DICOM
    TimezoneOffsetFromUTC); otherwise its offset cannot be related to the
    scanner's clock, so it is dropped with an :class:`ImmunopetWarning` and the
    wall-clock time is taken as the scanner's local time. A naive value is local time.
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise InvalidValueError(
                f"injection date-time {value!r} is not ISO 8601 (YYYY-MM-DDTHH:MM:SS[+HH:MM])",
                field="injection_datetime",
                value=value,
            ) from exc
    offset = parsed.utcoffset()
    if offset is None:
        return parsed.replace(tzinfo=None)
    if utc_offset_h is not None:
        local = timezone(timedelta(hours=utc_offset_h))
        return parsed.astimezone(local).replace(tzinfo=None)
    warnings.warn(
        f"injection date-time {value!s} carries a UTC offset ({parsed.strftime('%z')}) but the "
        "series declares none (no TimezoneOffsetFromUTC); it is taken as the scanner's "
        "local time — give the injection time in the scanner's local time to silence this",
        ImmunopetWarning,
        stacklevel=3,
    )
    return parsed.replace(tzinfo=None)


def apply_overrides(acq: Acquisition, **overrides: Any) -> Acquisition:
    """``acq`` with study-file / CLI values replacing header values (``None`` values ignored)."""
    unknown = set(overrides) - set(_OVERRIDES)
    if unknown:
        raise TypeError(f"unknown override(s) {sorted(unknown)}; allowed: {_OVERRIDES}")
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "injection_datetime":
            changes[key] = _parse_datetime(value, acq.utc_offset_h)
            changes["injection_date_inferred"] = False
        elif key == "patient_sex":
            changes[key] = str(value).upper()[:1]
        elif key == "nuclide":
            changes[key] = value if isinstance(value, Nuclide) else Nuclide.from_name(str(value))
        else:
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise InvalidValueError(
                    f"{key} must be a number, got {value!r}", field=key, value=value
                ) from exc
            if not (number > 0 and number < float("inf")):
                raise InvalidValueError(
                    f"{key} must be positive and finite, got {value!r}", field=key, value=value
                )
            lo, hi, unit = RANGES[_OVERRIDE_RANGES[key]]
            if not lo <= number <= hi:
                raise InvalidValueError(
                    f"{key} {number:g} {unit} is outside the plausible range [{lo:g}, {hi:g}] "
                    f"{unit} (the range of DICOM {_OVERRIDE_RANGES[key]})",
                    field=key,
                    value=value,
                )
            changes[key] = number
    return acq.replace(**changes) if changes else acq


OVERRIDES = _OVERRIDES
