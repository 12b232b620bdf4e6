"""Tests of immunopet.kinetics fits: analytic integrals, uncertainty coverage, AICc, fallbacks.

Numbers required by issue 4: for mono- and bi-exponential curves sampled at
1, 24, 48 h and at 1, 24, 48, 72, 96 h the fitted TIA equals the analytic
integral within 1 % without noise, and ±1.96 SD covers the truth in ≈ 95 % of
seeded noisy replicates.

Which models can reach 1 % with 3 points (module docstring of immunopet.kinetics.fit):
``mono`` recovers a mono-exponential truth, ``bi`` (3 parameters, 3 equations)
recovers an uptake-and-clearance truth; the trapezoid cannot (tested as a bias bound).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunopet.core.errors import FitError, ImmunopetWarning
from immunopet.core.nuclides import Nuclide
from immunopet.kinetics import (
    TimeActivityCurve,
    aicc,
    fit_exponential,
    fit_tac,
    integrate_trapezoid,
)

I124 = Nuclide.from_name("I-124")
LN2 = math.log(2.0)
A0_BQ = 1.0e7
INJECTED_BQ = 7.4e7
T3 = np.array([1.0, 24.0, 48.0])
T5 = np.array([1.0, 24.0, 48.0, 72.0, 96.0])
MONO_T_EFF_H = 50.0
BI_T1_H, BI_T2_H = 60.0, 8.0  # clearance and uptake half-lives (λ2 > λ1 ≥ λ_phys)


def mono_truth(t: np.ndarray) -> tuple[np.ndarray, float]:
    lam = LN2 / MONO_T_EFF_H
    return A0_BQ * np.exp(-lam * t), A0_BQ / lam


def bi_truth(t: np.ndarray) -> tuple[np.ndarray, float]:
    l1, l2 = LN2 / BI_T1_H, LN2 / BI_T2_H
    return A0_BQ * (np.exp(-l1 * t) - np.exp(-l2 * t)), A0_BQ * (1 / l1 - 1 / l2)


def curve(t: np.ndarray, a: np.ndarray, sd: np.ndarray | None = None) -> TimeActivityCurve:
    return TimeActivityCurve("p1", "liver", I124, t, a, sd, INJECTED_BQ, "organ")


def test_i124_half_life_is_icrp107() -> None:
    # ICRP Publication 107: I-124 T½ = 4.176 d = 100.224 h.
    assert I124.half_life("h") == pytest.approx(100.224, rel=1e-9)


@pytest.mark.parametrize("times", [T3, T5], ids=["3pts", "5pts"])
@pytest.mark.parametrize(
    ("truth", "model"), [(mono_truth, "mono"), (bi_truth, "bi")], ids=["mono", "bi"]
)
def test_noise_free_tia_matches_analytic_integral(times, truth, model) -> None:
    a, tia_true = truth(times)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)  # 3-point bi: no residual dof
        result = fit_tac(curve(times, a), model)
    assert result.model == model
    assert result.tia_bq_h == pytest.approx(tia_true, rel=0.01)
    assert result.tiac_h == pytest.approx(tia_true / INJECTED_BQ, rel=0.01)
    # In fact exact to solver precision:
    assert abs(result.tia_bq_h / tia_true - 1) < 1e-6
    expected_t_eff = MONO_T_EFF_H if model == "mono" else BI_T1_H
    assert result.effective_half_life_h == pytest.approx(expected_t_eff, rel=1e-6)
    assert np.max(np.abs(result.residuals_bq)) < 1e-6 * A0_BQ


def test_auto_with_five_points_and_sds_picks_bi_for_uptake_curve() -> None:
    a, tia_true = bi_truth(T5)
    result = fit_tac(curve(T5, a, 0.05 * a), "auto")
    assert result.model == "bi (auto: AICc)"
    assert result.parameters["aicc_bi"] < result.parameters["aicc_mono"]
    assert result.tia_bq_h == pytest.approx(tia_true, rel=1e-6)


def test_auto_with_five_points_picks_mono_for_mono_curve() -> None:
    a, tia_true = mono_truth(T5)
    result = fit_tac(curve(T5, a), "auto")
    assert result.model.startswith("mono (auto")
    assert result.tia_bq_h == pytest.approx(tia_true, rel=1e-6)


def test_auto_with_three_points_uses_trapezoid_physical_tail() -> None:
    a, _ = mono_truth(T3)
    result = fit_tac(curve(T3, a), "auto")
    assert result.model == "trapezoid + physical tail (auto: 3 points, AICc needs ≥ 5)"


def test_auto_uptake_curve_with_five_points_without_sd_uses_fitted_tail() -> None:
    a, tia_true = bi_truth(T5)
    result = fit_tac(curve(T5, a), "auto")
    assert result.model.startswith("trapezoid + fit tail (auto: uptake phase")
    # Trapezoid bias on this curve (documented, not 1 %): within 5 %.
    assert abs(result.tia_bq_h / tia_true - 1) < 0.05


def test_trapezoid_cannot_reach_one_percent_with_three_points() -> None:
    """Honest bound: with 1, 24, 48 h the trapezoid + physical tail is far off a clearing curve."""
    for truth in (mono_truth, bi_truth):
        a, tia_true = truth(T3)
        physical = integrate_trapezoid(curve(T3, a), tail="physical").tia_bq_h / tia_true - 1
        fitted = integrate_trapezoid(curve(T3, a), tail="fit").tia_bq_h / tia_true - 1
        # Physical tail overestimates (clearance ignored after 48 h): +38 % to +52 % here.
        assert 0.3 < physical < 0.6
        # A fitted tail helps for the mono truth (< 1 %), not for the uptake curve (> 1 %).
        if truth is mono_truth:
            assert abs(fitted) < 0.01
        else:
            assert abs(fitted) > 0.01


def test_physical_tail_uses_icrp107_half_life() -> None:
    t = np.array([24.0])
    a = np.array([2.0e6])
    result = integrate_trapezoid(curve(t, a), head="constant", tail="physical")
    tau_h = 100.224 / LN2  # ICRP-107 I-124 mean life
    assert result.tail_bq_h == pytest.approx(2.0e6 * tau_h, rel=1e-9)
    assert result.head_bq_h == pytest.approx(2.0e6 * 24.0)
    assert result.tia_bq_h == pytest.approx(2.0e6 * (24.0 + tau_h), rel=1e-12)


def test_trapezoid_head_linear_vs_constant_and_pure_physical_decay() -> None:
    lam = LN2 / I124.half_life("h")
    t = np.array([0.0, 10.0, 30.0])
    a = A0_BQ * np.exp(-lam * t)
    res = integrate_trapezoid(curve(t, a))
    # Physical decay only: exact integral A0/λ; trapezoid chord error < 0.1 % here.
    assert res.tia_bq_h == pytest.approx(A0_BQ / lam, rel=1e-3)
    t1 = np.array([2.0, 10.0])
    lin = integrate_trapezoid(curve(t1, a[:2]), head="linear").head_bq_h
    const = integrate_trapezoid(curve(t1, a[:2]), head="constant").head_bq_h
    assert const == pytest.approx(2 * lin)


def test_fitted_tail_never_slower_than_physical() -> None:
    t = np.array([1.0, 24.0, 48.0])
    a = np.array([1.0, 2.0, 3.0]) * 1e6  # still rising: fitted λ < 0
    with pytest.warns(ImmunopetWarning, match="not clearing faster"):
        res = fit_tac(curve(t, a), "trapezoid", tail="fit")
    assert res.parameters["tail_lambda_per_h"] == pytest.approx(LN2 / I124.half_life("h"))
    assert res.effective_half_life_h == pytest.approx(I124.half_life("h"))


def test_effective_half_life_never_exceeds_physical() -> None:
    lam_slow = 0.5 * LN2 / I124.half_life("h")  # "truth" slower than physical decay
    a = A0_BQ * np.exp(-lam_slow * T5)
    with pytest.warns(ImmunopetWarning, match="limited to physical"):
        result = fit_tac(curve(T5, a), "mono")
    assert result.effective_half_life_h <= I124.half_life("h") * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(
    t_eff_h=st.floats(5.0, 100.0),
    a0=st.floats(1e3, 1e9),
    t_first=st.floats(0.5, 6.0),
)
def test_mono_recovers_any_mono_curve(t_eff_h: float, a0: float, t_first: float) -> None:
    t = np.array([t_first, 24.0, 48.0, 72.0])
    a = a0 * np.exp(-LN2 / t_eff_h * t)
    result = fit_tac(curve(t, a), "mono", warn=False)
    assert result.tia_bq_h == pytest.approx(a0 * t_eff_h / LN2, rel=1e-6)


def _coverage(times, truth, model, uncertainty="delta", n_rep=400, cv=0.10, seed=20261124):
    """Fraction of seeded noisy replicates with |TIA − truth| ≤ 1.96 SD."""
    rng = np.random.default_rng(seed)
    a, tia_true = truth(times)
    noise = rng.standard_normal((n_rep, times.size))
    hits = 0
    for row in noise:
        noisy = np.maximum(a * (1 + cv * row), 0.0)
        res = fit_tac(curve(times, noisy, cv * a), model, uncertainty=uncertainty, warn=False)
        hits += abs(res.tia_bq_h - tia_true) <= 1.96 * res.tia_bq_h_sd
    return hits / n_rep


@pytest.mark.parametrize(
    ("times", "truth", "model", "uncertainty"),
    [
        (T3, mono_truth, "mono", "delta"),
        (T5, mono_truth, "mono", "delta"),
        (T5, mono_truth, "mono", "monte_carlo"),
        (T5, bi_truth, "bi", "delta"),
    ],
    ids=["mono-3pts-delta", "mono-5pts-delta", "mono-5pts-mc", "bi-5pts-delta"],
)
def test_uncertainty_covers_truth_about_95_percent(times, truth, model, uncertainty) -> None:
    coverage = _coverage(times, truth, model, uncertainty)
    print(f"coverage {model} {times.size} pts {uncertainty}: {coverage:.3f}")
    assert 0.90 <= coverage <= 0.99


def test_trapezoid_sd_is_exact_for_physical_tail() -> None:
    lam = LN2 / I124.half_life("h")
    a, _ = mono_truth(T3)
    sd = 0.1 * a
    res = integrate_trapezoid(curve(T3, a, sd), head="linear", tail="physical")
    # Ã = w·A with w = (t1/2 + (t2−t1)/2, (t3−t1)/2, (t3−t2)/2 + 1/λ)
    w = np.array([0.5 + 11.5, 23.5, 12.0 + 1 / lam])
    assert res.tia_bq_h == pytest.approx(w @ a, rel=1e-12)
    assert res.tia_bq_h_sd == pytest.approx(np.sqrt(np.sum((w * sd) ** 2)), rel=1e-5)
    mc = integrate_trapezoid(curve(T3, a, sd), uncertainty="monte_carlo", seed=1)
    assert mc.tia_bq_h_sd == pytest.approx(res.tia_bq_h_sd, rel=0.05)


def test_aicc_formula_and_undefined_case() -> None:
    # Burnham & Anderson 2002 eq. 2.14 with K = p + 1 (variance estimated).
    n, p, rss = 6, 2, 0.3
    k = p + 1
    expected = n * math.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
    assert aicc(rss, n, p, sd_known=False) == pytest.approx(expected)
    assert aicc(7.0, 5, 3, sd_known=True) == pytest.approx(7.0 + 6 + 24 / 1)
    assert math.isnan(aicc(rss, 4, 2, sd_known=False))


# --- bad input and fallbacks -------------------------------------------------------------


def test_bi_with_two_points_falls_back_to_trapezoid_with_warning() -> None:
    t = np.array([1.0, 24.0])
    with pytest.warns(ImmunopetWarning, match="bi needs ≥ 3 points"):
        res = fit_tac(curve(t, np.array([1e6, 2e6])), "bi")
    assert res.model == "trapezoid + physical tail (fallback: bi needs ≥ 3 points)"
    assert res.tia_bq_h > 0


def test_mono_with_one_point_falls_back() -> None:
    with pytest.warns(ImmunopetWarning, match="mono needs ≥ 2 points"):
        res = fit_tac(curve(np.array([24.0]), np.array([1e6])), "mono")
    assert "fallback" in res.model


def test_exact_bi_fit_without_sd_warns_no_dof_and_sd_nan() -> None:
    a, _ = bi_truth(T3)
    with pytest.warns(ImmunopetWarning, match="no residual degrees of freedom"):
        res = fit_tac(curve(T3, a), "bi")
    assert math.isnan(res.tiac_h_sd)


def test_mono_on_uptake_curve_warns() -> None:
    a, _ = bi_truth(T5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_tac(curve(T5, a), "mono")
    assert any("uptake phase" in str(w.message) for w in caught)
    assert any("uptake phase" in w for w in result.warnings)


def test_unstable_bi_fit_on_mono_data_is_flagged() -> None:
    a, _ = mono_truth(T5)
    with pytest.warns(ImmunopetWarning, match="unstable bi fit"):
        fit_tac(curve(T5, a), "bi")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "quadratic"}, "model"),
        ({"model": "trapezoid", "tail": "linear"}, "tail"),
        ({"model": "trapezoid", "head": "cubic"}, "head"),
        ({"model": "mono", "uncertainty": "bootstrap"}, "uncertainty"),
    ],
)
def test_unknown_options_raise_fit_error(kwargs, field) -> None:
    a, _ = mono_truth(T3)
    with pytest.raises(FitError) as info:
        fit_tac(curve(T3, a), **kwargs)
    assert info.value.field == field


def test_all_zero_curve_cannot_be_fitted() -> None:
    with pytest.raises(FitError, match="no positive activity"):
        fit_exponential(curve(T3, np.zeros(3)), "mono")
    with pytest.warns(ImmunopetWarning, match="fallback: mono fit failed"):
        res = fit_tac(curve(T3, np.zeros(3)), "mono")
    assert res.tia_bq_h == 0.0


@settings(max_examples=20, deadline=None)
@given(
    scale=st.floats(1e-3, 1e3),
    model=st.sampled_from(["trapezoid", "mono", "bi"]),
    tail=st.sampled_from(["physical", "fit"]),
)
def test_tia_scales_linearly_with_activity(scale: float, model: str, tail: str) -> None:
    a, _ = bi_truth(T5)
    a = a * (1 + 0.05 * np.array([1, -1, 0.5, -0.5, 1]))
    base = fit_tac(curve(T5, a), model, tail=tail, warn=False)
    scaled = fit_tac(curve(T5, scale * a), model, tail=tail, warn=False)
    assert scaled.tia_bq_h == pytest.approx(scale * base.tia_bq_h, rel=1e-5)
    assert scaled.effective_half_life_h == pytest.approx(base.effective_half_life_h, rel=1e-5)


def test_study_file_aliases_and_no_tail() -> None:
    a, _ = mono_truth(T5)
    assert fit_tac(curve(T5, a), "mono_exp").model == "mono"
    res = fit_tac(curve(T5, a), "trapezoid", tail="none")
    assert res.model == "trapezoid, no tail"
    assert res.parameters["tail_bq_h"] == 0.0
    assert math.isnan(res.effective_half_life_h)


T6 = np.array([1.0, 4.0, 24.0, 48.0, 72.0, 96.0])


def sum_truth(t: np.ndarray) -> tuple[np.ndarray, float]:
    l1, l2 = LN2 / 70.0, LN2 / 3.0  # slow and fast clearance (blood-like)
    return 6e6 * np.exp(-l1 * t) + 4e6 * np.exp(-l2 * t), 6e6 / l1 + 4e6 / l2


@pytest.mark.parametrize("times", [T5, T6], ids=["5pts", "6pts"])
def test_sum_of_exponentials_recovers_analytic_integral(times) -> None:
    a, tia_true = sum_truth(times)
    result = fit_tac(curve(times, a), "bi_sum", warn=False)
    assert result.tia_bq_h == pytest.approx(tia_true, rel=1e-6)
    assert result.effective_half_life_h == pytest.approx(70.0, rel=1e-6)
    assert result.parameters["lambda2_per_h"] == pytest.approx(LN2 / 3.0, rel=1e-5)


def test_auto_picks_bi_sum_for_two_clearance_phases() -> None:
    times = np.array([0.5, 1.0, 2.0, 4.0, 24.0, 48.0, 72.0, 96.0])
    a, tia_true = sum_truth(times)
    result = fit_tac(curve(times, a, 0.05 * a), "auto")
    assert result.model == "bi_sum (auto: AICc)"
    assert result.tia_bq_h == pytest.approx(tia_true, rel=1e-6)
    assert result.parameters["aicc_bi_sum"] < result.parameters["aicc_mono"]


def test_fitted_tail_uses_the_points_after_the_maximum() -> None:
    """Uptake still rising at 1 h must not flatten the tail: it is fitted from the peak on."""
    # Rising 1 → 24 h, then clearing with T_eff = 50 h (muscle-like IgG curve).
    lam = LN2 / MONO_T_EFF_H
    a = np.array([0.6, 1.0, math.exp(-lam * 24.0)]) * A0_BQ
    result = integrate_trapezoid(curve(T3, a), tail="fit")
    assert result.tail == "fit"
    assert result.tail_decay_constant_per_h == pytest.approx(lam, rel=1e-9)
    body = np.trapezoid(a, T3) + 0.5 * a[0] * T3[0]  # linear head from zero at t = 0
    assert result.tia_bq_h == pytest.approx(body + a[-1] / lam, rel=1e-9)
