"""SUV factors and SUV volumes: SUVbw, SUL (lean body mass), SUVbsa and %ID/g.

The SUVbw factor is the number that multiplies the stored (rescaled) pixel
values to give SUVbw (QIBA vendor-neutral SUV pseudo-code, see :mod:`immunopet.quant`)::

    SUVbw factor = conc_factor · weight_g / (dose_bq · 2^(−Δt / T½))

where ``conc_factor`` turns stored values into Bq/mL (1 for BQML, (7053,1009)
for Philips CNTS; :func:`~immunopet.quant.concentration.concentration_factor_bq_per_ml`)
and Δt runs from injection to the time the values are decay-corrected to (0 for
ADMIN; :func:`~immunopet.quant.timing.decay_time_s`). For Philips CNTS the private
(7053,1000) SUV scale factor times the rescaled value gives SUVbw. SUL and SUVbsa
replace the weight by the lean body mass and the body surface area of
:mod:`~immunopet.quant.body_size`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from ..core.errors import (
    ImmunopetWarning,
    InvalidValueError,
    MissingFieldError,
    PhysicsError,
    UnsupportedDataError,
)
from ..core.scan import Acquisition, Scan
from ..core.volume import Volume
from .acquisition_fields import WARN_REL_TOL, patient_height_m, patient_weight_kg, positive_field
from .body_size import body_surface_area_m2, lean_body_mass_kg
from .concentration import concentration_factor_bq_per_ml, scaled_volume, suv_pixel_kind
from .timing import decayed_injected_activity_bq

__all__ = [
    "SuvKind",
    "percent_id_per_g_factor",
    "sul_factor",
    "suv_bsa_factor",
    "suv_bw_factor",
    "suv_factor",
    "suv_volume",
]

SuvKind = Literal["bw", "sul", "bsa"]

_SUV_UNITS = {"bw": "SUVbw", "sul": "SUL", "bsa": "SUVbsa"}


def suv_bw_factor(acq: Acquisition) -> float:
    """Number multiplying the stored (rescaled) pixel values to give SUVbw (g/mL).

    QIBA pseudo-code: BQML → weight_g / decayed dose; CNTS → (7053,1009) ×
    that, or (7053,1000) when (7053,1009), the dose or the weight is absent; GML
    (SUVType BW or absent) → 1; GML of another SUVType, CM2ML → refused.
    Warns (:class:`ImmunopetWarning`) when a Philips (7053,1000) factor
    disagrees with the computed one by more than 1 %.
    """
    units = (acq.units or "").upper()
    pixel_kind = suv_pixel_kind(acq)
    if pixel_kind == "bw":
        return 1.0
    if pixel_kind is not None:
        raise UnsupportedDataError(
            f"pixel values are SUV{pixel_kind} (Units {acq.units}, SUVType {acq.suv_type}), "
            "not SUVbw; the scanner's normalisation is not in the header, so SUVbw cannot be "
            f"derived — ask for the matching kind ({_MATCHING_KIND.get(pixel_kind, '?')})",
            file=acq.source,
            field="SUVType",
            value=acq.suv_type,
        )
    vendor = acq.vendor_suv_bw_factor
    if (
        units == "CNTS"
        and vendor
        and (
            acq.patient_weight_kg is None
            or acq.injected_activity_bq is None
            or not acq.vendor_activity_scale_factor
        )
    ):
        # QIBA: Philips (7053,1000) SUV scale factor times the rescaled value is SUVbw.
        return positive_field(vendor, acq, "(7053,1000)", "Philips SUV scale factor", "")
    factor = (
        concentration_factor_bq_per_ml(acq)
        * patient_weight_kg(acq)
        * 1000.0
        / decayed_injected_activity_bq(acq)
    )
    if units == "CNTS" and vendor and abs(vendor / factor - 1.0) > WARN_REL_TOL:
        warnings.warn(
            f"{acq.source}: Philips SUV scale factor (7053,1000) = {vendor:.6g} differs by "
            f"{100 * (vendor / factor - 1):+.1f} % from the computed {factor:.6g}; "
            "using the computed one",
            ImmunopetWarning,
            stacklevel=2,
        )
    return factor


def sul_factor(acq: Acquisition) -> float:
    """Factor giving SUL (SUV normalised by Janmahasatian lean body mass, g/mL)."""
    w = patient_weight_kg(acq)
    h = patient_height_m(acq)
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
    w = patient_weight_kg(acq)
    bsa_cm2 = body_surface_area_m2(w, patient_height_m(acq)) * 1.0e4
    return suv_bw_factor(acq) * bsa_cm2 / (w * 1000.0)


def percent_id_per_g_factor(acq: Acquisition) -> float:
    """Factor giving %ID/g decay-corrected to injection (tissue density 1 g/mL assumed).

    %ID/g = 100 · C(decay-corrected to injection) [Bq/mL] / D [Bq] = 100 · SUVbw / weight_g.
    """
    return suv_bw_factor(acq) * 100.0 / (patient_weight_kg(acq) * 1000.0)


#: SuvKind that matches each stored SUVType (GML / CM2ML pixels).
_MATCHING_KIND = {"bsa": "bsa", "lbm": "sul"}


def suv_factor(acq: Acquisition, kind: SuvKind = "bw") -> float:
    """Dispatch to :func:`suv_bw_factor`, :func:`sul_factor` or :func:`suv_bsa_factor`.

    Pixels already stored as the kind asked for (GML with SUVType LBM for ``"sul"``,
    CM2ML or SUVType BSA for ``"bsa"``) are taken as they are, with a warning that
    the scanner's body-size formula, not immunopet's, was used.
    """
    pixel_kind = suv_pixel_kind(acq)
    if pixel_kind not in (None, "bw"):
        if _MATCHING_KIND.get(pixel_kind) == kind:
            warnings.warn(
                f"{acq.source}: pixels are stored as SUV{pixel_kind} (SUVType "
                f"{acq.suv_type or 'BSA'}); used as {_SUV_UNITS[kind]} with the scanner's "
                "body-size formula, which the header does not name",
                ImmunopetWarning,
                stacklevel=2,
            )
            return 1.0
        return suv_bw_factor(acq)  # raises, naming SUVType
    if kind == "bw":
        return suv_bw_factor(acq)
    if kind == "sul":
        return sul_factor(acq)
    if kind == "bsa":
        return suv_bsa_factor(acq)
    raise InvalidValueError(
        f"unknown SUV kind {kind!r}; use bw, sul or bsa", field="kind", value=kind
    )


#: Largest activity an image may hold, as a multiple of the injected activity decayed to
#: the reference time. Physically ≤ 1 (nothing but the injection is radioactive); 1.5
#: leaves room for dose-calibrator and scanner calibration errors (±10 %, NEMA NU 2) and
#: noise, and still catches a dose in the wrong unit (MBq for Bq, ×10⁶) or a wrong nuclide.
ACTIVITY_CEILING = 1.5
#: SUVmax above which a warning is given: the highest SUVs reported in clinical PET
#: (bladder, kidney, hot tumours) are a few tens; > 100 is suspicious but possible.
SUVMAX_WARN = 100.0


def suv_volume(scan: Scan, kind: SuvKind = "bw") -> Volume:
    """The PET volume in SUV units (``"SUVbw"``, ``"SUL"``, ``"SUVbsa"``).

    Float32 for a float32 PET (DICOM as read by :func:`~immunopet.io.load_scan`):
    half the memory of float64 (0.5 GB for 440 × 440 × 645), relative error
    ≤ 1.2e-7 against the float64 product
    (:func:`~immunopet.quant.concentration.scaled_volume`).

    Raises
    ------
    PhysicsError
        An SUV is not finite, or the image holds more than :data:`ACTIVITY_CEILING`
        times the injected activity (Σ SUVbw · voxel mL > 1.5 · weight g).
    """
    factor = suv_factor(scan.acquisition, kind)
    suv = scaled_volume(scan.pet, factor, _SUV_UNITS[kind])
    _check_suv(np.asarray(suv.array), scan, kind, factor)
    return suv


def _check_suv(arr: np.ndarray, scan: Scan, kind: SuvKind, factor: float) -> None:
    acq = scan.acquisition
    if arr.size == 0:
        return
    peak = float(np.max(arr))
    # numpy's pairwise summation in the array's own precision: relative error ~ε·log2(n)
    # (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §4.2), 2e-6 for
    # 125 M float32 voxels — ample for a 1.5× ceiling, and no float64 pass over the image.
    total = float(np.sum(arr))
    if np.isfinite(peak) and not np.isfinite(total):
        total = float(np.sum(arr, dtype=np.float64))  # a float32 overflow, not a NaN
    # max is NaN/inf when any value is NaN/+inf, and the sum when any is -inf.
    if not (np.isfinite(peak) and np.isfinite(total)):
        raise PhysicsError(
            f"{_SUV_UNITS[kind]} values are not finite (factor {factor:.6g}); check "
            "RescaleSlope/RescaleIntercept and the dose, weight and times",
            file=acq.source,
            field="PixelData",
        )
    if kind == "bw" and acq.patient_weight_kg:
        voxel_ml = float(np.prod(scan.pet.spacing_mm)) / 1000.0
        fraction = total * voxel_ml / (float(acq.patient_weight_kg) * 1000.0)
        if fraction > ACTIVITY_CEILING:
            raise PhysicsError(
                f"the image would hold {fraction:.3g} × the injected activity (SUVbw "
                f"factor {factor:.6g}, SUVmax {peak:.4g}); more than {ACTIVITY_CEILING:g}× is "
                "impossible — check RadionuclideTotalDose (Bq), PatientWeight (kg), the "
                "injection time and the nuclide",
                file=acq.source,
                field="RadionuclideTotalDose",
                value=acq.injected_activity_bq,
            )
    if peak > SUVMAX_WARN:
        gml = suv_pixel_kind(acq) is not None
        warnings.warn(
            f"{acq.source}: {_SUV_UNITS[kind]}max {peak:.4g} is above {SUVMAX_WARN:g}"
            + (
                f"; the pixels are stored as Units {acq.units} but look like Bq/mL"
                if gml
                else "; check the injected activity, weight and times"
            ),
            ImmunopetWarning,
            stacklevel=3,
        )
