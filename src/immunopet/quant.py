"""SUV, SUL, SUVbsa, %ID/g and activity concentrations from a :class:`~immunopet.scan.Scan`.

The rules follow the QIBA vendor-neutral SUV pseudo-code (QIBA FDG-PET/CT
Technical Committee, "Standardized Uptake Value (SUV)" — *Vendor-neutral
pseudo-code for SUV calculation*, QIBA wiki,
https://qibawiki.rsna.org/index.php/Standardized_Uptake_Value_(SUV); the same
logic is implemented by cornerstonejs/calculate-suv):

* **Units** (0054,1001): ``BQML`` — rescaled pixels are Bq/mL; ``CNTS`` —
  Philips: the private (7053,1009) activity-concentration scale factor times
  the rescaled value gives Bq/mL, the private (7053,1000) SUV scale factor
  times it gives SUVbw; ``GML`` — pixels are already SUVbw (g/mL).
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

The SUVbw factor is the number that multiplies the stored (rescaled) pixel
values to give SUVbw::

    SUVbw factor = conc_factor · weight_g / (dose_bq · 2^(−Δt / T½))

where ``conc_factor`` turns stored values into Bq/mL (1 for BQML, (7053,1009)
for Philips CNTS) and Δt runs from injection to the time the values are
decay-corrected to (0 for ADMIN).

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

Otherwise :class:`~immunopet.errors.AmbiguousTimeError` asks for the injection
date-time (CLI ``--injection-datetime``, study file ``injection_datetime``).
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from typing import Literal

import numpy as np

from .errors import (
    AmbiguousTimeError,
    ImmunopetWarning,
    InvalidValueError,
    MissingFieldError,
    PhysicsError,
    UnsupportedDataError,
)
from .scan import Acquisition, Scan
from .volume import Volume

__all__ = [
    "SAME_DAY_MAX_GAP_H",
    "SAME_DAY_MAX_HALF_LIFE_H",
    "SuvKind",
    "activity_concentration_at_injection_bq_per_ml",
    "activity_concentration_at_scan_bq_per_ml",
    "body_surface_area_m2",
    "check_header_half_life",
    "concentration_factor_bq_per_ml",
    "decay_reference_datetime",
    "decay_time_s",
    "injection_datetime",
    "lean_body_mass_kg",
    "percent_id_per_g_factor",
    "sul_factor",
    "suv_bsa_factor",
    "suv_bw_factor",
    "suv_factor",
    "suv_volume",
]

SuvKind = Literal["bw", "sul", "bsa"]

#: Largest scan − inferred-injection gap (h) accepted for a time-only injection.
SAME_DAY_MAX_GAP_H = 12.0
#: Largest half-life (h) for which a time-only injection may be dated from SeriesDate:
#: 24 h / 2.4 h = 10 half-lives, i.e. < 0.1 % activity left a day later.
SAME_DAY_MAX_HALF_LIFE_H = 2.4
#: Relative disagreement above which header vs. nuclear-data values raise a warning.
WARN_REL_TOL = 0.01

_SUV_UNITS = {"bw": "SUVbw", "sul": "SUL", "bsa": "SUVbsa"}


def _positive(value: float | None, acq: Acquisition, field: str, what: str, hint: str) -> float:
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


def _weight_kg(acq: Acquisition) -> float:
    return _positive(
        acq.patient_weight_kg,
        acq,
        "PatientWeight",
        "patient weight (kg)",
        "pass --weight-kg or set weight_kg in the study file",
    )


def _height_m(acq: Acquisition) -> float:
    h = _positive(
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


def _dose_bq(acq: Acquisition) -> float:
    return _positive(
        acq.injected_activity_bq,
        acq,
        "RadionuclideTotalDose",
        "injected activity (Bq)",
        "pass --injected-mbq or set injected_activity_mbq in the study file",
    )


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


def _scan_start(acq: Acquisition) -> datetime:
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
    return _scan_start(acq)


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


def _decayed_dose_bq(acq: Acquisition) -> float:
    """Injected activity decayed to the decay-reference time: D · 2^(−Δt/T½) (QIBA)."""
    return _dose_bq(acq) * float(acq.nuclide.decay_factor(decay_time_s(acq)))


def concentration_factor_bq_per_ml(acq: Acquisition) -> float:
    """Factor turning stored (rescaled) values into Bq/mL at the decay-reference time.

    Raises
    ------
    UnsupportedDataError
        Units other than BQML/CNTS/GML, or CNTS without Philips (7053,1009).
    """
    units = (acq.units or "").upper()
    if units == "BQML":
        return 1.0
    if units == "CNTS":
        if acq.vendor_activity_scale_factor:
            # QIBA: (7053,1009) × RescaleSlope scales pixels to Bq/mL.
            return _positive(
                acq.vendor_activity_scale_factor,
                acq,
                "(7053,1009)",
                "Philips activity concentration scale factor",
                "the series cannot be converted to Bq/mL",
            )
        raise UnsupportedDataError(
            "Units CNTS need the Philips private activity concentration scale factor "
            "(7053,1009) to be converted to Bq/mL; it is absent",
            file=acq.source,
            field="(7053,1009)",
        )
    if units == "GML":
        # Values are SUVbw (g/mL): Bq/mL = SUVbw · decayed dose / weight_g.
        return _decayed_dose_bq(acq) / (_weight_kg(acq) * 1000.0)
    raise UnsupportedDataError(
        f"pixel Units {acq.units!r} cannot be converted to Bq/mL or SUV "
        "(supported: BQML, CNTS with Philips scale factors, GML)",
        file=acq.source,
        field="Units",
        value=acq.units,
    )


def suv_bw_factor(acq: Acquisition) -> float:
    """Number multiplying the stored (rescaled) pixel values to give SUVbw (g/mL).

    QIBA pseudo-code: BQML → weight_g / decayed dose; CNTS → (7053,1009) ×
    that, or (7053,1000) when the dose or weight is unknown; GML → 1.
    Warns (:class:`ImmunopetWarning`) when a Philips (7053,1000) factor
    disagrees with the computed one by more than 1 %.
    """
    units = (acq.units or "").upper()
    if units == "GML":
        return 1.0
    vendor = acq.vendor_suv_bw_factor
    if (
        units == "CNTS"
        and vendor
        and (acq.patient_weight_kg is None or acq.injected_activity_bq is None)
    ):
        # QIBA: Philips (7053,1000) SUV scale factor times the rescaled value is SUVbw.
        return _positive(vendor, acq, "(7053,1000)", "Philips SUV scale factor", "")
    factor = concentration_factor_bq_per_ml(acq) * _weight_kg(acq) * 1000.0 / _decayed_dose_bq(acq)
    if units == "CNTS" and vendor and abs(vendor / factor - 1.0) > WARN_REL_TOL:
        warnings.warn(
            f"{acq.source}: Philips SUV scale factor (7053,1000) = {vendor:.6g} differs by "
            f"{100 * (vendor / factor - 1):+.1f} % from the computed {factor:.6g}; "
            "using the computed one",
            ImmunopetWarning,
            stacklevel=2,
        )
    return factor


def lean_body_mass_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg), Janmahasatian et al. 2005.

    LBM = 9270·W / (6680 + 216·BMI) for men, 9270·W / (8780 + 244·BMI) for
    women, BMI = W / H² (kg/m²).

    References
    ----------
    Janmahasatian S, Duffull SB, Ash S, Ward LC, Byrne NM, Green B.
    Quantification of lean bodyweight. Clin Pharmacokinet 2005;44(10):1051–65, eq. 9–10.
    """
    bmi = weight_kg / height_m**2
    s = sex.upper()[:1]
    if s == "M":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    if s == "F":
        return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    raise ValueError(f"lean body mass needs sex 'M' or 'F', got {sex!r}")


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area (m²), Du Bois & Du Bois 1916: 0.007184 · W^0.425 · H_cm^0.725.

    References
    ----------
    Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if
    height and weight be known. Arch Intern Med 1916;17:863–71.
    """
    return 0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725


def sul_factor(acq: Acquisition) -> float:
    """Factor giving SUL (SUV normalised by Janmahasatian lean body mass, g/mL)."""
    w = _weight_kg(acq)
    h = _height_m(acq)
    sex = (acq.patient_sex or "").upper()[:1]
    if sex not in ("M", "F"):
        raise MissingFieldError(
            f"SUL (Janmahasatian lean body mass) needs patient sex M or F, got {acq.patient_sex!r}; "
            "set sex in the study file",
            file=acq.source,
            field="PatientSex",
            value=acq.patient_sex,
        )
    return suv_bw_factor(acq) * lean_body_mass_kg(w, h, sex) / w


def suv_bsa_factor(acq: Acquisition) -> float:
    """Factor giving SUVbsa (cm²/mL): concentration · BSA_cm² / decayed dose (Du Bois BSA)."""
    w = _weight_kg(acq)
    bsa_cm2 = body_surface_area_m2(w, _height_m(acq)) * 1.0e4
    return suv_bw_factor(acq) * bsa_cm2 / (w * 1000.0)


def percent_id_per_g_factor(acq: Acquisition) -> float:
    """Factor giving %ID/g decay-corrected to injection (tissue density 1 g/mL assumed).

    %ID/g = 100 · C(decay-corrected to injection) [Bq/mL] / D [Bq] = 100 · SUVbw / weight_g.
    """
    return suv_bw_factor(acq) * 100.0 / (_weight_kg(acq) * 1000.0)


def suv_factor(acq: Acquisition, kind: SuvKind = "bw") -> float:
    """Dispatch to :func:`suv_bw_factor`, :func:`sul_factor` or :func:`suv_bsa_factor`."""
    if kind == "bw":
        return suv_bw_factor(acq)
    if kind == "sul":
        return sul_factor(acq)
    if kind == "bsa":
        return suv_bsa_factor(acq)
    raise InvalidValueError(
        f"unknown SUV kind {kind!r}; use bw, sul or bsa", field="kind", value=kind
    )


def suv_volume(scan: Scan, kind: SuvKind = "bw") -> Volume:
    """The PET volume in SUV units (``"SUVbw"``, ``"SUL"``, ``"SUVbsa"``)."""
    factor = suv_factor(scan.acquisition, kind)
    return scan.pet.with_array(
        np.asarray(scan.pet.array, dtype=np.float64) * factor, _SUV_UNITS[kind]
    )


def activity_concentration_at_scan_bq_per_ml(scan: Scan) -> Volume:
    """Activity concentration physically present at scan start (Bq/mL) — for dosimetry.

    Stored values (decay-corrected to the reference time t_ref) are decayed
    from t_ref to scan start: C_scan = C_ref · exp(−λ (t_scan − t_ref)).
    """
    acq = scan.acquisition
    conc = concentration_factor_bq_per_ml(acq)
    if acq.decay_correction == "ADMIN" or acq.decay_reference_datetime is not None:
        shift_s = (_scan_start(acq) - decay_reference_datetime(acq)).total_seconds()
        conc *= float(acq.nuclide.decay_factor(shift_s))
    return scan.pet.with_array(np.asarray(scan.pet.array, dtype=np.float64) * conc, "BQML")


def activity_concentration_at_injection_bq_per_ml(scan: Scan) -> Volume:
    """Activity concentration decay-corrected to the injection time (Bq/mL) — for SUV, %ID/g."""
    acq = scan.acquisition
    factor = concentration_factor_bq_per_ml(acq) / float(
        acq.nuclide.decay_factor(decay_time_s(acq))
    )
    return scan.pet.with_array(np.asarray(scan.pet.array, dtype=np.float64) * factor, "BQML")


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
