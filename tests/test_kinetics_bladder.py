"""Tests of immunopet.kinetics.bladder and .body: dynamic bladder model, whole body, remainder."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from immunopet.core.errors import ImmunopetWarning, InvalidValueError, PhysicsError
from immunopet.core.nuclides import Nuclide
from immunopet.kinetics import (
    NO_EXCRETION_MODEL,
    TiaResult,
    TimeActivityCurve,
    bladder_tia_bq_h,
    bladder_tia_from_whole_body,
    fit_tac,
    remainder_tia,
    whole_body_tia_no_excretion,
)

I124 = Nuclide.from_name("I-124")
F18 = Nuclide.from_name("F-18")
LN2 = math.log(2.0)


def numerical_bladder_tia(
    a0: float, nuclide: Nuclide, f: float, t_b_h: float, interval_h: float, t_end_h: float
) -> float:
    """Integrate the compartment ODEs (body pool → bladder, voided every interval) numerically."""
    lam_p = LN2 / nuclide.half_life("h")
    lam_b = LN2 / t_b_h

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        pool, bladder, _integral = y
        return [-(lam_b + lam_p) * pool, lam_b * pool - lam_p * bladder, bladder]

    state = np.array([f * a0, 0.0, 0.0])
    edges = np.arange(0.0, t_end_h + interval_h, interval_h)
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        sol = solve_ivp(rhs, (start, stop), state, rtol=1e-10, atol=1e-6, method="LSODA")
        state = sol.y[:, -1].copy()
        state[1] = 0.0  # void: the bladder is emptied completely
    return float(state[2])


@pytest.mark.parametrize(
    ("nuclide", "f", "t_b_h", "interval_h", "t_end_h"),
    [(I124, 0.6, 20.0, 3.5, 420.0), (F18, 0.2, 1.5, 2.0, 60.0)],
    ids=["I-124", "F-18"],
)
def test_closed_form_matches_numerical_integration(nuclide, f, t_b_h, interval_h, t_end_h) -> None:
    a0 = 1.0e8
    analytic = bladder_tia_bq_h(a0, nuclide, f, t_b_h, voiding_interval_h=interval_h)
    numeric = numerical_bladder_tia(a0, nuclide, f, t_b_h, interval_h, t_end_h)
    print(f"bladder TIA {nuclide}: analytic {analytic:.6e} numeric {numeric:.6e} Bq·h")
    assert analytic == pytest.approx(numeric, rel=1e-5)


def test_no_voiding_limit_and_voiding_reduces_tia() -> None:
    lam_p = LN2 / I124.half_life("h")
    lam_e = lam_p + LN2 / 20.0
    no_void = bladder_tia_bq_h(1.0, I124, 0.5, 20.0, voiding_interval_h=math.inf)
    assert no_void == pytest.approx(0.5 * (1 / lam_p - 1 / lam_e), rel=1e-12)
    tias = [bladder_tia_bq_h(1.0, I124, 0.5, 20.0, voiding_interval_h=d) for d in (1, 2, 3.5, 6)]
    assert all(np.diff(tias) > 0)  # more frequent voiding, less bladder TIA
    assert tias[-1] < no_void


def test_first_void_and_components_are_linear() -> None:
    both = bladder_tia_bq_h(1e6, I124, [0.3, 0.2], [5.0, 40.0], first_void_h=1.0)
    parts = sum(
        bladder_tia_bq_h(1e6, I124, f, t, first_void_h=1.0) for f, t in ((0.3, 5.0), (0.2, 40.0))
    )
    assert both == pytest.approx(parts, rel=1e-12)
    same = bladder_tia_bq_h(1e6, I124, 0.3, 5.0, first_void_h=3.5)
    assert same == pytest.approx(bladder_tia_bq_h(1e6, I124, 0.3, 5.0), rel=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((1e6, I124, 1.5, 10.0), {}, "urinary_fraction"),
        ((1e6, I124, [0.6, 0.6], [10.0, 20.0]), {}, "urinary_fraction"),
        ((1e6, I124, 0.5, -1.0), {}, "biological_half_life_h"),
        ((1e6, I124, [0.5], [1.0, 2.0]), {}, "biological_half_lives_h"),
        ((1e6, I124, 0.5, 10.0), {"voiding_interval_h": 0.0}, "voiding_interval_h"),
        ((-1.0, I124, 0.5, 10.0), {}, "injected_activity_bq"),
    ],
)
def test_bad_bladder_input(args, kwargs, field) -> None:
    with pytest.raises(InvalidValueError) as info:
        bladder_tia_bq_h(*args, **kwargs)
    assert info.value.field == field


def test_bladder_from_fitted_whole_body() -> None:
    t = np.array([1.0, 24.0, 48.0, 72.0, 96.0])
    t_eff_h = 40.0
    wb = TimeActivityCurve(
        "p1", "total_body", I124, t, 7e7 * np.exp(-LN2 / t_eff_h * t), None, 7e7, "whole_body"
    )
    wb_result = fit_tac(wb, "mono")
    res = bladder_tia_from_whole_body(wb_result, 0.5)
    t_b = 1 / (1 / t_eff_h - 1 / I124.half_life("h"))
    assert res.parameters["biological_half_life_h"] == pytest.approx(t_b, rel=1e-6)
    assert res.tia_bq_h == pytest.approx(bladder_tia_bq_h(7e7, I124, 0.5, t_b), rel=1e-6)
    assert res.region == "urinary_bladder_contents"
    assert res.tiac_h == pytest.approx(res.tia_bq_h / 7e7)


def test_bladder_needs_whole_body_clearance() -> None:
    no_exc = whole_body_tia_no_excretion("p1", I124, 7e7)
    with pytest.raises(PhysicsError, match="does not clear"):
        bladder_tia_from_whole_body(no_exc, 0.5)


def test_whole_body_without_excretion_is_mean_life() -> None:
    res = whole_body_tia_no_excretion("p1", I124, 7.4e7)
    # ICRP-107: T½(I-124) = 100.224 h → τ = T½/ln 2 = 144.594 h.
    assert res.tiac_h == pytest.approx(100.224 / LN2, rel=1e-9)
    assert res.model == NO_EXCRETION_MODEL
    assert "no excretion" in res.model
    with pytest.raises(InvalidValueError):
        whole_body_tia_no_excretion("p1", I124, 0.0)


def _tia(region: str, value: float, sd: float = 0.0, subject: str = "p1") -> TiaResult:
    return TiaResult(subject, region, I124, value, sd, 1e8, "mono", 50.0)


def test_remainder_is_whole_body_minus_organs() -> None:
    wb = _tia("total_body", 1000.0, 30.0)
    organs = [_tia("liver", 200.0, 40.0), _tia("spleen", 50.0)]
    rem = remainder_tia(wb, organs)
    assert rem.tia_bq_h == pytest.approx(750.0)
    assert rem.tia_bq_h_sd == pytest.approx(50.0)  # sqrt(30² + 40²)
    assert rem.region == "remainder"
    assert "liver" in rem.model and "spleen" in rem.model


def test_remainder_clipped_at_zero_with_warning() -> None:
    with pytest.warns(ImmunopetWarning, match="clipped to 0"):
        rem = remainder_tia(_tia("total_body", 100.0), [_tia("liver", 150.0)])
    assert rem.tia_bq_h == 0.0
    assert rem.warnings


def test_remainder_of_other_subject_raises() -> None:
    with pytest.raises(PhysicsError):
        remainder_tia(_tia("total_body", 100.0), [_tia("liver", 10.0, subject="p2")])
