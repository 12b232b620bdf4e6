"""Activity concentration (Bq/mL) from stored PET pixel values, at scan or at injection.

Pixel **Units** (0054,1001), QIBA vendor-neutral SUV pseudo-code (see
:mod:`immunopet.quant`): ``BQML`` — rescaled pixels are Bq/mL; ``CNTS`` —
Philips: the private (7053,1009) activity-concentration scale factor times the
rescaled value gives Bq/mL; ``GML`` — pixels are already SUVbw (g/mL), so
Bq/mL = SUVbw · decayed dose / weight_g. The stored values are decay-corrected
to the time of :func:`~immunopet.quant.timing.decay_reference_datetime`.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.errors import ImmunopetWarning, UnsupportedDataError
from ..core.scan import Acquisition, Scan
from ..core.volume import Volume
from .acquisition_fields import patient_weight_kg, positive_field
from .timing import (
    decay_reference_datetime,
    decay_time_s,
    decayed_injected_activity_bq,
    scan_start_datetime,
)

__all__ = [
    "activity_at_injection_factor",
    "activity_at_scan_factor",
    "activity_concentration_at_injection_bq_per_ml",
    "activity_concentration_at_scan_bq_per_ml",
    "concentration_factor_bq_per_ml",
    "scaled_volume",
    "suv_pixel_kind",
]


def suv_pixel_kind(acq: Acquisition) -> str | None:
    """Which SUV the stored values already are: ``"bw"``, ``"bsa"``, ``"lbm"``, ``"ibw"``, or None.

    DICOM (0054,1001) Units ``GML`` are g/mL SUVs of the kind SUVType (0054,1006)
    names (``BW`` when absent, PS3.3 C.8.9.1.1.3); ``CM2ML`` are cm²/mL, i.e. SUVbsa.
    """
    units = (acq.units or "").upper()
    if units == "CM2ML":
        return "bsa"
    if units == "GML":
        return (acq.suv_type or "BW").strip().lower() or "bw"
    return None


def concentration_factor_bq_per_ml(acq: Acquisition) -> float:
    """Factor turning stored (rescaled) values into Bq/mL at the decay-reference time.

    Philips CNTS with only the SUV scale factor (7053,1000): Bq/mL = (7053,1000) ·
    value / (weight_g / decayed dose), i.e. the vendor SUV divided by the SUVbw factor
    computed from the header, with an :class:`ImmunopetWarning` saying so.

    Raises
    ------
    UnsupportedDataError
        Units other than BQML/CNTS/GML/CM2ML, CNTS without Philips scale factors,
        or GML of an SUVType other than BW.
    """
    units = (acq.units or "").upper()
    if units == "BQML":
        return 1.0
    if units == "CNTS":
        if acq.vendor_activity_scale_factor:
            # QIBA: (7053,1009) × RescaleSlope scales pixels to Bq/mL.
            return positive_field(
                acq.vendor_activity_scale_factor,
                acq,
                "(7053,1009)",
                "Philips activity concentration scale factor",
                "the series cannot be converted to Bq/mL",
            )
        if acq.vendor_suv_bw_factor:
            vendor = positive_field(
                acq.vendor_suv_bw_factor, acq, "(7053,1000)", "Philips SUV scale factor", ""
            )
            computed = patient_weight_kg(acq) * 1000.0 / decayed_injected_activity_bq(acq)
            warnings.warn(
                f"{acq.source}: Units CNTS without the Philips activity concentration scale "
                "factor (7053,1009): Bq/mL derived as the SUV of (7053,1000) "
                f"({vendor:.6g}) divided by the SUVbw factor computed from the header "
                f"({computed:.6g} g/mL per Bq/mL)",
                ImmunopetWarning,
                stacklevel=2,
            )
            return vendor / computed
        raise UnsupportedDataError(
            "Units CNTS need the Philips private activity concentration scale factor "
            "(7053,1009) or SUV scale factor (7053,1000) to be converted; both are absent",
            file=acq.source,
            field="(7053,1009)",
        )
    kind = suv_pixel_kind(acq)
    if kind == "bw":
        # Values are SUVbw (g/mL): Bq/mL = SUVbw · decayed dose / weight_g.
        return decayed_injected_activity_bq(acq) / (patient_weight_kg(acq) * 1000.0)
    if kind is not None:
        raise UnsupportedDataError(
            f"pixel values are SUV of type {kind.upper()} (Units {acq.units}, SUVType "
            f"{acq.suv_type}); the scanner's normalisation cannot be undone to Bq/mL",
            file=acq.source,
            field="SUVType",
            value=acq.suv_type,
        )
    raise UnsupportedDataError(
        f"pixel Units {acq.units!r} cannot be converted to Bq/mL or SUV "
        "(supported: BQML, CNTS with Philips scale factors, GML, CM2ML)",
        file=acq.source,
        field="Units",
        value=acq.units,
    )


def activity_at_scan_factor(acq: Acquisition) -> float:
    """Factor turning stored (rescaled) values into the Bq/mL present at scan start.

    Stored values (decay-corrected to the reference time t_ref) are decayed
    from t_ref to scan start: C_scan = C_ref · exp(−λ (t_scan − t_ref)).
    """
    conc = concentration_factor_bq_per_ml(acq)
    if acq.decay_correction == "ADMIN" or acq.decay_reference_datetime is not None:
        shift_s = (scan_start_datetime(acq) - decay_reference_datetime(acq)).total_seconds()
        conc *= float(acq.nuclide.decay_factor(shift_s))
    return conc


def activity_at_injection_factor(acq: Acquisition) -> float:
    """Factor turning stored (rescaled) values into Bq/mL decay-corrected to the injection."""
    return concentration_factor_bq_per_ml(acq) / float(acq.nuclide.decay_factor(decay_time_s(acq)))


def scaled_volume(volume: Volume, factor: float, unit: str) -> Volume:
    """``volume`` × ``factor`` as a new volume of the stored values' precision.

    A float32 (or 16-bit integer) volume — DICOM PET as
    :func:`~immunopet.io.load_scan` reads it — gives float32, multiplied by the
    float32-rounded factor: two roundings, relative error ≤ 2·2⁻²⁴ ≈ 1.2e-7 against
    the float64 product, far below PET noise and the int16 storage of DICOM (~3e-5
    of a slice's maximum). No float64 copy of the volume is made (numpy's buffered
    float64 cast into a fresh array measured 1.5 s on 125 M voxels, the float32
    product 0.1 s). A float64 volume gives float64 (bit-identical to ``array * factor``).
    """
    dtype = np.result_type(volume.array.dtype, np.float32)
    out = np.empty(volume.shape, dtype=dtype)
    np.multiply(volume.array, dtype.type(factor), out=out, casting="unsafe")
    return volume.with_array(out, unit)


def activity_concentration_at_scan_bq_per_ml(scan: Scan) -> Volume:
    """Activity concentration physically present at scan start (Bq/mL) — for dosimetry.

    Stored values (decay-corrected to the reference time t_ref) are decayed
    from t_ref to scan start: C_scan = C_ref · exp(−λ (t_scan − t_ref)).
    Float32 for a float32 PET (:func:`scaled_volume`).
    """
    return scaled_volume(scan.pet, activity_at_scan_factor(scan.acquisition), "BQML")


def activity_concentration_at_injection_bq_per_ml(scan: Scan) -> Volume:
    """Activity concentration decay-corrected to the injection time (Bq/mL) — for SUV, %ID/g.

    Float32 for a float32 PET (:func:`scaled_volume`).
    """
    return scaled_volume(scan.pet, activity_at_injection_factor(scan.acquisition), "BQML")
