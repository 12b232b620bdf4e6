"""Checked access to the acquisition fields SUV needs: weight, height, injected activity.

Each accessor returns a finite positive number or raises an :class:`~immunopet.core.errors.InputError`
naming the DICOM field and how to supply the value (CLI option, study-file key).
"""

from __future__ import annotations

import math

from ..core.errors import InvalidValueError, MissingFieldError
from ..core.scan import Acquisition

__all__ = [
    "WARN_REL_TOL",
    "injected_activity_bq",
    "patient_height_m",
    "patient_weight_kg",
    "positive_field",
]

#: Relative disagreement above which header vs. nuclear-data values raise a warning.
WARN_REL_TOL = 0.01


def positive_field(
    value: float | None, acq: Acquisition, field: str, what: str, hint: str
) -> float:
    """``value`` as a finite positive float.

    Raises
    ------
    MissingFieldError
        ``value`` is None.
    InvalidValueError
        ``value`` is not finite or not positive.
    """
    if value is None:
        raise MissingFieldError(f"{what} is missing; {hint}", file=acq.source, field=field)
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InvalidValueError(
            f"{what} must be positive, got {value!r}; {hint}",
            file=acq.source,
            field=field,
            value=value,
        )
    return v


def patient_weight_kg(acq: Acquisition) -> float:
    """Patient weight (kg), PatientWeight (0010,1030)."""
    return positive_field(
        acq.patient_weight_kg,
        acq,
        "PatientWeight",
        "patient weight (kg)",
        "pass --weight-kg or set weight_kg in the study file",
    )


def patient_height_m(acq: Acquisition) -> float:
    """Patient height (m), PatientSize (0010,1020); refuses values > 3 m (centimetres)."""
    h = positive_field(
        acq.patient_height_m,
        acq,
        "PatientSize",
        "patient height (m)",
        "pass --height-m or set height_m in the study file",
    )
    if h > 3.0:
        raise InvalidValueError(
            f"patient height {h} m is implausible (PatientSize is in metres, not cm)",
            file=acq.source,
            field="PatientSize",
            value=h,
        )
    return h


def injected_activity_bq(acq: Acquisition) -> float:
    """Injected activity (Bq), RadionuclideTotalDose (0018,1074)."""
    return positive_field(
        acq.injected_activity_bq,
        acq,
        "RadionuclideTotalDose",
        "injected activity (Bq)",
        "pass --injected-mbq or set injected_activity_mbq in the study file",
    )
