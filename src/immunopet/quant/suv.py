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

from ..core.errors import ImmunopetWarning, InvalidValueError, MissingFieldError
from ..core.scan import Acquisition, Scan
from ..core.volume import Volume
from .acquisition_fields import WARN_REL_TOL, patient_height_m, patient_weight_kg, positive_field
from .body_size import body_surface_area_m2, lean_body_mass_kg
from .concentration import concentration_factor_bq_per_ml, scaled_volume
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
    """The PET volume in SUV units (``"SUVbw"``, ``"SUL"``, ``"SUVbsa"``).

    Float32 for a float32 PET (DICOM as read by :func:`~immunopet.io.load_scan`):
    half the memory of float64 (0.5 GB for 440 × 440 × 645), the product rounded
    once from float64 (relative error ≤ 6e-8,
    :func:`~immunopet.quant.concentration.scaled_volume`).
    """
    return scaled_volume(scan.pet, suv_factor(scan.acquisition, kind), _SUV_UNITS[kind])
