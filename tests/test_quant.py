"""SUV factors and activity concentrations (QIBA vendor-neutral SUV pseudo-code).

Expected values are derived by hand here (ICRP-107 half-lives written out), never
by calling :mod:`immunopet.quant`.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunopet import quant
from immunopet.core.errors import (
    AmbiguousTimeError,
    ImmunopetWarning,
    InvalidValueError,
    MissingFieldError,
    PhysicsError,
    UnsupportedDataError,
)
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition, Scan
from immunopet.core.volume import Volume

I124_HALF_LIFE_S = 4.176 * 86400.0  # ICRP-107
F18_HALF_LIFE_S = 109.77 * 60.0  # ICRP-107
INJ = datetime(2024, 3, 1, 9, 0, 0)


def acq_(**kw) -> Acquisition:
    base = dict(
        nuclide=Nuclide.from_name("I-124"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=INJ + timedelta(hours=48),
        injection_datetime=INJ,
        injected_activity_bq=74e6,
        patient_weight_kg=70.0,
        patient_height_m=1.75,
        patient_sex="F",
        source="/data/pet",
    )
    base.update(kw)
    return Acquisition(**base)


def scan_(acq: Acquisition, values=None) -> Scan:
    arr = np.arange(24, dtype=float).reshape(2, 3, 4) * 1000.0 + 5.0 if values is None else values
    return Scan(pet=Volume(arr, (2.0, 2.0, 3.0), unit=acq.units), acquisition=acq)


def test_bqml_start_48h():
    # QIBA: BQML + DecayCorrection START → weight_g / (dose · 2^(−Δt/T½)), Δt = scan − injection.
    expected = 70_000.0 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.suv_bw_factor(acq_()) == pytest.approx(expected, rel=1e-9)


def test_bqml_admin_dose_not_decayed():
    # QIBA: DecayCorrection ADMIN → values already corrected to injection: dose not decayed.
    assert quant.suv_bw_factor(acq_(decay_correction="ADMIN")) == pytest.approx(
        70_000.0 / 74e6, rel=1e-12
    )


def test_admin_needs_no_times():
    acq = acq_(decay_correction="ADMIN", injection_datetime=None, scan_start_datetime=None)
    assert quant.suv_bw_factor(acq) == pytest.approx(70_000.0 / 74e6, rel=1e-12)


def test_none_treated_as_start():
    assert quant.suv_bw_factor(acq_(decay_correction="NONE")) == pytest.approx(
        quant.suv_bw_factor(acq_()), rel=1e-12
    )


def test_gml_is_already_suv():
    # QIBA: Units GML → SUVbw scale factor 1.
    assert quant.suv_bw_factor(acq_(units="GML", patient_weight_kg=None)) == 1.0


def test_philips_cnts_activity_scale():
    # QIBA: CNTS with (7053,1009) → (7053,1009) · rescaled value is Bq/mL, then as BQML.
    expected = 3.7 * 70_000.0 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    acq = acq_(units="CNTS", vendor_activity_scale_factor=3.7)
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-9)


def test_philips_suv_scale_used_without_dose():
    # QIBA: CNTS with (7053,1000) → that factor times the rescaled value is SUVbw.
    acq = acq_(
        units="CNTS",
        vendor_suv_bw_factor=0.0049,
        vendor_activity_scale_factor=3.7,
        injected_activity_bq=None,
    )
    assert quant.suv_bw_factor(acq) == 0.0049


def test_philips_suv_scale_disagreement_warns():
    acq = acq_(units="CNTS", vendor_suv_bw_factor=0.006, vendor_activity_scale_factor=3.7)
    with pytest.warns(ImmunopetWarning, match=r"\(7053,1000\)"):
        quant.suv_bw_factor(acq)


def test_cnts_without_philips_factors_refused():
    with pytest.raises(UnsupportedDataError, match="7053,1009"):
        quant.suv_bw_factor(acq_(units="CNTS"))


def test_unknown_units_refused():
    with pytest.raises(UnsupportedDataError) as info:
        quant.suv_bw_factor(acq_(units="PROPCPS"))
    assert info.value.field == "Units" and info.value.file == "/data/pet"


def test_decay_reference_datetime_wins():
    ref = INJ + timedelta(hours=10)
    expected = 70_000.0 / (74e6 * 2.0 ** (-(10 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.suv_bw_factor(acq_(decay_reference_datetime=ref)) == pytest.approx(
        expected, rel=1e-9
    )


def test_sul_janmahasatian():
    # Janmahasatian 2005: LBM_female = 9270·W / (8780 + 244·BMI).
    bmi = 70.0 / 1.75**2
    lbm = 9270.0 * 70.0 / (8780.0 + 244.0 * bmi)
    expected = lbm * 1000.0 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.sul_factor(acq_()) == pytest.approx(expected, rel=1e-9)
    male_lbm = 9270.0 * 70.0 / (6680.0 + 216.0 * bmi)
    assert quant.lean_body_mass_kg(70.0, 1.75, "M") == pytest.approx(male_lbm, rel=1e-12)


def test_sul_needs_sex_and_height():
    with pytest.raises(MissingFieldError) as info:
        quant.sul_factor(acq_(patient_sex=None))
    assert info.value.field == "PatientSex"
    with pytest.raises(MissingFieldError) as info:
        quant.sul_factor(acq_(patient_height_m=None))
    assert info.value.field == "PatientSize"


def test_du_bois_bsa():
    # Du Bois & Du Bois 1916: 70 kg, 175 cm → 1.848 m² (0.007184 · 70^0.425 · 175^0.725).
    assert quant.body_surface_area_m2(70.0, 1.75) == pytest.approx(1.8481, abs=5e-4)
    expected = 1.8481e4 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.suv_bsa_factor(acq_()) == pytest.approx(expected, rel=5e-4)


def test_percent_id_per_g():
    # %ID/g = 100 · C_decay-corrected-to-injection / D.
    expected = 100.0 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.percent_id_per_g_factor(acq_()) == pytest.approx(expected, rel=1e-9)


def test_activity_at_scan_vs_injection_start():
    scan = scan_(acq_())
    at_scan = quant.activity_concentration_at_scan_bq_per_ml(scan)
    at_inj = quant.activity_concentration_at_injection_bq_per_ml(scan)
    decay = 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S)
    np.testing.assert_allclose(at_scan.array, scan.pet.array, rtol=1e-12)
    np.testing.assert_allclose(at_inj.array, scan.pet.array / decay, rtol=1e-12)
    assert at_scan.unit == at_inj.unit == "BQML"


def test_activity_at_scan_admin():
    scan = scan_(acq_(decay_correction="ADMIN"))
    decay = 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S)
    np.testing.assert_allclose(
        quant.activity_concentration_at_scan_bq_per_ml(scan).array,
        scan.pet.array * decay,
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        quant.activity_concentration_at_injection_bq_per_ml(scan).array, scan.pet.array, rtol=1e-12
    )


def test_suv_volume_units_and_values():
    scan = scan_(acq_())
    for kind, unit in (("bw", "SUVbw"), ("sul", "SUL"), ("bsa", "SUVbsa")):
        vol = quant.suv_volume(scan, kind)
        assert vol.unit == unit
        np.testing.assert_allclose(
            vol.array, scan.pet.array * quant.suv_factor(scan.acquisition, kind), rtol=1e-12
        )


# --- error paths ------------------------------------------------------------------------


def test_missing_weight():
    with pytest.raises(MissingFieldError) as info:
        quant.suv_bw_factor(acq_(patient_weight_kg=None))
    assert info.value.field == "PatientWeight" and info.value.file == "/data/pet"
    assert "--weight-kg" in str(info.value)


@pytest.mark.parametrize("bad", [0.0, -3.0, float("nan")])
def test_non_positive_weight(bad):
    with pytest.raises(InvalidValueError) as info:
        quant.suv_bw_factor(acq_(patient_weight_kg=bad))
    assert info.value.field == "PatientWeight"


def test_missing_dose():
    with pytest.raises(MissingFieldError) as info:
        quant.suv_bw_factor(acq_(injected_activity_bq=None))
    assert info.value.field == "RadionuclideTotalDose"


def test_non_positive_dose():
    with pytest.raises(InvalidValueError):
        quant.suv_bw_factor(acq_(injected_activity_bq=0.0))


def test_scan_before_injection():
    with pytest.raises(PhysicsError) as info:
        quant.suv_bw_factor(acq_(scan_start_datetime=INJ - timedelta(minutes=5)))
    assert info.value.file == "/data/pet" and "before the injection" in str(info.value)


def test_missing_injection_time():
    with pytest.raises(MissingFieldError) as info:
        quant.suv_bw_factor(acq_(injection_datetime=None))
    assert info.value.field == "RadiopharmaceuticalStartDateTime"


def test_time_only_injection_48h_iodine_refused():
    # Header: StartTime 09:00 only, series two days later at 10:00 → date inferred as the series
    # date gives a 1 h scan: the trap. 124I (T½ 100 h) → refuse.
    scan = INJ + timedelta(hours=49)
    inferred = datetime.combine(scan.date(), INJ.time())
    acq = acq_(scan_start_datetime=scan, injection_datetime=inferred, injection_date_inferred=True)
    with pytest.raises(AmbiguousTimeError) as info:
        quant.suv_bw_factor(acq)
    msg = str(info.value)
    assert (
        "--injection-datetime" in msg
        and "12 h" in msg
        and info.value.field == "RadiopharmaceuticalStartDateTime"
    )


def test_time_only_injection_same_day_fdg_accepted():
    # F-18 (T½ 1.83 h ≤ 2.4 h), scan 1 h after the time of day: same day is the only plausible date.
    acq = acq_(
        nuclide=Nuclide.from_name("F-18"),
        scan_start_datetime=INJ + timedelta(hours=1),
        injection_datetime=INJ,
        injection_date_inferred=True,
        injected_activity_bq=370e6,
    )
    expected = 70_000.0 / (370e6 * 2.0 ** (-3600.0 / F18_HALF_LIFE_S))
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-9)


def test_time_only_injection_fdg_13h_refused():
    acq = acq_(
        nuclide=Nuclide.from_name("F-18"),
        scan_start_datetime=INJ + timedelta(hours=13),
        injection_date_inferred=True,
    )
    with pytest.raises(AmbiguousTimeError):
        quant.suv_bw_factor(acq)


def test_header_half_life_warning():
    with pytest.warns(ImmunopetWarning, match="ICRP-107"):
        quant.check_header_half_life(acq_(header_half_life_s=I124_HALF_LIFE_S * 1.02))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quant.check_header_half_life(acq_(header_half_life_s=I124_HALF_LIFE_S * 1.005))


# --- properties -------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1.0, max_value=300.0), st.floats(min_value=0.01, max_value=20.0))
def test_suv_linear_in_weight(weight_kg, k):
    f1 = quant.suv_bw_factor(acq_(patient_weight_kg=weight_kg))
    f2 = quant.suv_bw_factor(acq_(patient_weight_kg=weight_kg * k))
    assert f2 == pytest.approx(k * f1, rel=1e-12)


@pytest.mark.filterwarnings("ignore:.*SUVbwmax:UserWarning")
@settings(max_examples=50, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from(["START", "ADMIN", "NONE"]),
    st.sampled_from(["I-124", "Zr-89", "Cu-64", "F-18"]),
)
def test_decay_correction_round_trip(frac, decay, name):
    # Up to 14 half-lives: later, this image would hold more than the injected activity,
    # which suv_volume refuses (physical ceiling, quant.suv.ACTIVITY_CEILING).
    hours_pi = frac * 14.0 * Nuclide.from_name(name).half_life("h")
    acq = acq_(
        nuclide=Nuclide.from_name(name),
        decay_correction=decay,
        scan_start_datetime=INJ + timedelta(hours=hours_pi),
    )
    scan = scan_(acq)
    at_scan = quant.activity_concentration_at_scan_bq_per_ml(scan).array
    at_inj = quant.activity_concentration_at_injection_bq_per_ml(scan).array
    lam = math.log(2) / Nuclide.from_name(name).half_life_s
    np.testing.assert_allclose(at_inj * np.exp(-lam * hours_pi * 3600.0), at_scan, rtol=1e-9)
    # SUVbw = decay-corrected concentration · weight_g / dose, whatever the stored convention.
    suv = quant.suv_volume(scan).array
    np.testing.assert_allclose(suv, at_inj * 70_000.0 / 74e6, rtol=1e-9)
