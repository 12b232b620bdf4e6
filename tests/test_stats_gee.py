"""Tests of immunopet.stats.gee: GEE, mixed model and patient-level group differences.

Balanced data (equal lesions per patient, the group a patient-level label):
GEE with an exchangeable working correlation, the random-intercept model and
the patient-level means all estimate exactly the naive difference of means
(generalised least squares equals ordinary least squares for a design
constant within balanced clusters), so they are compared to 1e-10. The plain
sandwich variance then equals Σ_g Σ_{i∈g} (ȳ_i − ȳ_g)² / K_g² (algebra).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from immunopet.stats import (
    StatisticsMethod,
    gee_difference,
    gee_group_comparison,
    mixed_model_difference,
    patient_level_difference,
    patient_summary,
    student_t_test,
)


def _balanced(k_per_group: int, m: int, icc: float, seed: int, shift: float = 2.0):
    rng = np.random.default_rng(seed)
    k = 2 * k_per_group
    in_a_patient = np.arange(k) < k_per_group
    u = rng.normal(0, math.sqrt(icc), k)
    y = (5.0 + shift * in_a_patient + u)[:, None] + rng.normal(0, math.sqrt(1 - icc), (k, m))
    return y.ravel(), np.repeat(in_a_patient, m), np.repeat(np.arange(k), m)


def test_gee_and_mixed_model_equal_the_naive_difference_on_balanced_data():
    y, a, cl = _balanced(6, 5, 0.4, seed=1)
    naive = float(y[a].mean() - y[~a].mean())
    gee = gee_difference(y, a, cl, cov_type="robust")
    assert gee.estimate == pytest.approx(naive, rel=1e-10)
    assert mixed_model_difference(y, a, cl).estimate == pytest.approx(naive, rel=1e-8)
    pl = patient_level_difference(y, a, cl)
    assert pl.estimate == pytest.approx(naive, rel=1e-12)
    means = y.reshape(12, 5).mean(1)
    sandwich = sum(((means[g] - means[g].mean()) ** 2).sum() / 36 for g in (a[::5], ~a[::5]))
    assert gee.se**2 == pytest.approx(sandwich, rel=1e-8)
    # Mancl–DeRouen inflates the plain sandwich; the patient-level t is its (K−1)/K-free twin.
    assert gee_difference(y, a, cl).se > gee.se
    assert pl.se**2 == pytest.approx(sandwich * 6 / 5, rel=1e-10)
    assert student_t_test(y[a], y[~a]).p_value == pytest.approx(
        gee_group_comparison(_frame(y, a, cl), "suv_max", tracer="124I", time_h=24.0)
        .set_index("method")
        .loc[str(StatisticsMethod.LESION_LEVEL), "p"]
    )


def test_gee_design_effect_matches_one_plus_m_minus_one_icc():
    # Cluster-level group: deff of the difference = 1 + (m − 1)·ICC (Kish); the estimate's
    # relative sampling error is ≈ √(2/(K − 2)) → 3 of them as the tolerance (≈ 25 %).
    k_per, m, icc = 150, 4, 0.5
    y, a, cl = _balanced(k_per, m, icc, seed=2)
    rows = gee_group_comparison(_frame(y, a, cl), "suv_max", tracer="124I", time_h=24.0)
    gee = rows.set_index("method").loc[str(StatisticsMethod.GEE)]
    expected = 1 + (m - 1) * icc
    print(f"GEE design effect {gee.design_effect:.3f} vs 1 + (m − 1)·ICC = {expected}")
    assert gee.design_effect == pytest.approx(expected, rel=3 * math.sqrt(2 / (2 * k_per - 2)))
    assert gee.icc == pytest.approx(icc, abs=0.1)
    assert rows.loc[rows.method == str(StatisticsMethod.LESION_LEVEL), "design_effect"].isna().all()


def _frame(y, a, cl) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": [f"P{c}" for c in cl],
            "region": [f"L{i}" for i in range(len(y))],
            "tracer": "124I-trastuzumab",
            "time_point_h": 24.0,
            "time_h": 24.0,
            "her2": np.where(a, "positive", "negative"),
            "suv_max": y,
            "tnr_background": y / 2,
        }
    )


def test_patient_summary_is_one_row_per_patient_with_its_lesion_mean():
    y, a, cl = _balanced(3, 4, 0.3, seed=3)
    summary = patient_summary(_frame(y, a, cl), "suv_max", tracer="124I", time_h=24.0)
    assert len(summary) == 6 and (summary.n_lesions == 4).all()
    assert summary["mean"].to_numpy() == pytest.approx(y.reshape(6, 4).mean(1))
    assert set(summary.her2) == {"positive", "negative"}
