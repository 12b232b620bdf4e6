"""Injection, scan-start and decay-reference times, and the decay between them.

Rules of the QIBA vendor-neutral SUV pseudo-code (see :mod:`immunopet.quant`):

* **Decay correction** (0054,1102): ``START`` — values are decay-corrected to
  the scan start, so the injected dose is decayed from injection to scan
  start; ``ADMIN`` — values are corrected to the administration time, so the
  dose is not decayed; ``NONE`` — values are the activity at acquisition,
  treated like ``START`` (decay *during* the frame is neglected: for
  T½ ≫ frame duration the error is ≈ λ·Δt/2, e.g. 0.2 % for a 20-min 124I frame).
* **Scan start**: SeriesDate/Time, unless it is later than the earliest
  AcquisitionDate/Time (GE re-writes SeriesTime at reconstruction), in which
  case the earliest acquisition (or GE private (0009,100D)) is used. This is
  decided by :mod:`immunopet.io` and stored in ``Acquisition.scan_start_datetime``.
* **Injection**: RadiopharmaceuticalStartDateTime is preferred over
  RadiopharmaceuticalStartTime (+ SeriesDate).

Delayed imaging and the time-only injection rule
------------------------------------------------
When the header carries RadiopharmaceuticalStartTime but no date, the date is
*inferred* from SeriesDate (``Acquisition.injection_date_inferred``). For a
48-h 124I scan that inference silently gives a wrong SUV. The inferred date is
accepted only when both hold:

1. 0 < scan start − inferred injection < 12 h, and
2. the nuclide half-life is at most 2.4 h, so that a scan one day or more
   after injection would see < 2⁻¹⁰ ≈ 0.1 % of the activity — a same-day scan
   is then the only physically plausible reading (F-18, Ga-68, C-11, …).

Otherwise :class:`~immunopet.core.errors.AmbiguousTimeError` asks for the injection
date-time (CLI ``--injection-datetime``, study file ``injection_datetime``).
"""

from __future__ import annotations

import warnings
from datetime import datetime

from ..core.errors import AmbiguousTimeError, ImmunopetWarning, MissingFieldError, PhysicsError
from ..core.scan import Acquisition
from .acquisition_fields import WARN_REL_TOL, injected_activity_bq

__all__ = [
    "SAME_DAY_MAX_GAP_H",
    "SAME_DAY_MAX_HALF_LIFE_H",
    "check_header_half_life",
    "decay_reference_datetime",
    "decay_time_s",
    "decayed_injected_activity_bq",
    "injection_datetime",
    "scan_start_datetime",
]

#: Largest scan − inferred-injection gap (h) accepted for a time-only injection.
SAME_DAY_MAX_GAP_H = 12.0
#: Largest half-life (h) for which a time-only injection may be dated from SeriesDate:
#: 24 h / 2.4 h = 10 half-lives, i.e. < 0.1 % activity left a day later.
SAME_DAY_MAX_HALF_LIFE_H = 2.4


def injection_datetime(acq: Acquisition) -> datetime:
    """The injection date-time, refusing an unsafe date inferred from a time-only header.

    Raises
    ------
    MissingFieldError
        No injection time at all.
    AmbiguousTimeError
        Only RadiopharmaceuticalStartTime was given and the same-day rule of
        this module's docstring does not prove the date.
    """
    if acq.injection_datetime is None:
        raise MissingFieldError(
            "injection date-time is missing; pass --injection-datetime or set "
            "injection_datetime in the study file",
            file=acq.source,
            field="RadiopharmaceuticalStartDateTime",
        )
    if not acq.injection_date_inferred:
        return acq.injection_datetime
    gap_h = acq.time_post_injection_h
    half_life_h = acq.nuclide.half_life("h")
    if (
        gap_h is not None
        and 0.0 < gap_h < SAME_DAY_MAX_GAP_H
        and half_life_h <= SAME_DAY_MAX_HALF_LIFE_H
    ):
        return acq.injection_datetime
    raise AmbiguousTimeError(
        "the header gives the injection time of day only (RadiopharmaceuticalStartTime "
        f"{acq.injection_datetime.time().isoformat()}) without a date; for {acq.nuclide.name} "
        f"(T½ {half_life_h:.3g} h) the scan may be days later, so the date cannot be taken from "
        f"SeriesDate (accepted only when 0 < scan − injection < {SAME_DAY_MAX_GAP_H:g} h and "
        f"T½ ≤ {SAME_DAY_MAX_HALF_LIFE_H:g} h). Pass --injection-datetime YYYY-MM-DDTHH:MM:SS "
        "or set injection_datetime in the study file",
        file=acq.source,
        field="RadiopharmaceuticalStartDateTime",
        value=acq.injection_datetime.time().isoformat(),
    )


def scan_start_datetime(acq: Acquisition) -> datetime:
    """The scan start date-time (as chosen by :mod:`immunopet.io`).

    Raises
    ------
    MissingFieldError
        The acquisition has no scan start.
    """
    if acq.scan_start_datetime is None:
        raise MissingFieldError(
            "scan start date-time is missing (SeriesDate/SeriesTime and AcquisitionDate/Time)",
            file=acq.source,
            field="SeriesTime",
        )
    return acq.scan_start_datetime


def _check_order(acq: Acquisition, inj: datetime, scan: datetime) -> None:
    if scan < inj:
        raise PhysicsError(
            f"scan start {scan.isoformat()} is before the injection {inj.isoformat()}; "
            "check RadiopharmaceuticalStartDateTime / SeriesTime or pass --injection-datetime",
            file=acq.source,
            field="RadiopharmaceuticalStartDateTime",
            value=inj.isoformat(),
        )


def decay_reference_datetime(acq: Acquisition) -> datetime:
    """The time the stored values are decay-corrected to (QIBA decay-correction branch)."""
    if acq.decay_reference_datetime is not None:
        return acq.decay_reference_datetime
    if acq.decay_correction == "ADMIN":
        return injection_datetime(acq)
    return scan_start_datetime(acq)


def decay_time_s(acq: Acquisition) -> float:
    """Δt (s) from injection to the time the stored values are decay-corrected to.

    ``START``/``NONE``: scan start − injection; ``ADMIN``: 0 (QIBA: the dose is
    not decayed). An explicit ``decay_reference_datetime`` (PET-BIDS
    ImageDecayCorrectionTime) wins.

    Raises
    ------
    PhysicsError
        The scan (or decay reference) is before the injection.
    """
    if acq.decay_correction == "ADMIN" and acq.decay_reference_datetime is None:
        return 0.0
    inj = injection_datetime(acq)
    if acq.scan_start_datetime is not None:
        _check_order(acq, inj, acq.scan_start_datetime)
    ref = decay_reference_datetime(acq)
    _check_order(acq, inj, ref)
    return (ref - inj).total_seconds()


def decayed_injected_activity_bq(acq: Acquisition) -> float:
    """Injected activity decayed to the decay-reference time: D · 2^(−Δt/T½) (QIBA)."""
    return injected_activity_bq(acq) * float(acq.nuclide.decay_factor(decay_time_s(acq)))


def check_header_half_life(acq: Acquisition) -> None:
    """Warn when the header half-life differs from ICRP-107 by more than 1 %."""
    hl = acq.header_half_life_s
    if hl is None or hl <= 0:
        return
    ref = acq.nuclide.half_life_s
    if abs(hl / ref - 1.0) > WARN_REL_TOL:
        warnings.warn(
            f"{acq.source}: header RadionuclideHalfLife {hl:.6g} s differs by "
            f"{100 * (hl / ref - 1):+.1f} % from the ICRP-107 half-life of {acq.nuclide.name} "
            f"({ref:.6g} s); using ICRP-107",
            ImmunopetWarning,
            stacklevel=2,
        )
