"""Tests of immunopet.stats.clustered: proportions of lesions nested in patients.

Tolerances are fixed before running, from the sampling theory of each check:

* A bootstrap variance from B resamples has a Monte Carlo relative SE of about
  √(2/(B − 1)) (Efron & Tibshirani 1993, ch. 19; the normal-theory
  Var(s²) = 2σ⁴/(B − 1)): 2.2 % for B = 4000. A
  bootstrap design effect is accepted within 3 such SEs (6.7 %) of its
  theoretical value.
* A design effect *estimated from one data set* of K patients also carries the
  data's sampling error, ≈ √(2/(K − 1)) relative (a ratio of mean squares,
  χ²_{K−1}/(K − 1)); independent lesions must give 1 within
  3·√(2/(K − 1) + 2/(B − 1)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import InvalidValueError
from immunopet.stats import (
    CLUSTERED_STATISTICS_COLUMNS,
    DetectionRule,
    StatisticsMethod,
    clustered_detection,
    clustered_proportion,
    detection_sensitivity,
)

B = 4000
BOOT_TOL = 3 * math.sqrt(2 / (B - 1))  # relative, 6.7 %


# --- clustered proportions ---------------------------------------------------------------


def _perfectly_clustered(k: int, m: int, p: float, seed: int):
    """k patients of m lesions; all lesions of a patient share one detection outcome."""
    rng = np.random.default_rng(seed)
    outcome = rng.random(k) < p
    return np.repeat(outcome, m), np.repeat(np.arange(k), m)


def test_shared_outcome_widens_the_interval_as_the_design_effect_predicts():
    k, m = 200, 5
    y, cl = _perfectly_clustered(k, m, 0.7, seed=11)
    prop = clustered_proportion(y, cl, n_boot=B, rng=3)
    # Every patient is homogeneous: the ANOVA ICC is exactly 1, 1 + (m − 1)·ICC = m.
    assert prop.icc == pytest.approx(1.0, abs=1e-12)
    assert prop.design_effect_icc == pytest.approx(m)
    # Rao–Scott / Obuchowski: exactly m·K/(K − 1) for homogeneous clusters (algebra).
    assert prop.design_effect_rao_scott == pytest.approx(m * k / (k - 1), rel=1e-12)
    # Bootstrap: E[Var*] = p̂(1 − p̂)/K exactly, so deff → m within Monte Carlo error.
    print(f"bootstrap design effect {prop.design_effect_bootstrap:.3f} vs m = {m}")
    assert abs(prop.design_effect_bootstrap / m - 1) < BOOT_TOL
    # Interval widths grow by √deff (Wilson ≈ Wald at N = 1000; 3 % for the z²/n terms,
    # 10 % for the percentile interval's quantile and 1/K-lattice error).
    wilson = prop.wilson_high - prop.wilson_low
    assert (prop.rao_scott_high - prop.rao_scott_low) / wilson == pytest.approx(
        math.sqrt(m * k / (k - 1)), rel=0.03
    )
    assert (prop.bootstrap_high - prop.bootstrap_low) / wilson == pytest.approx(
        math.sqrt(m), rel=0.10
    )


def test_partial_clustering_design_effect_equals_one_plus_m_minus_one_icc():
    # Beta-binomial patients: ICC ρ = 1/(a + b + 1) = 0.3 with a = 0.7·c, b = 0.3·c.
    rng = np.random.default_rng(21)
    k, m, rho = 1000, 4, 0.3
    c = 1 / rho - 1
    p_i = rng.beta(0.7 * c, 0.3 * c, k)
    y = rng.random((k, m)) < p_i[:, None]
    prop = clustered_proportion(y.ravel(), np.repeat(np.arange(k), m), n_boot=B, rng=4)
    model = 1 + (m - 1) * prop.icc
    print(
        f"ICC {prop.icc:.3f}; deff bootstrap {prop.design_effect_bootstrap:.3f}, model {model:.3f}"
    )
    assert abs(prop.design_effect_bootstrap / model - 1) < BOOT_TOL + 1 / k
    # The ICC estimate itself: Fisher's large-sample SE ≈ 0.017 here; 4 SE on the deff.
    se_icc = math.sqrt(2 * (1 - rho) ** 2 * (1 + (m - 1) * rho) ** 2 / (m * (m - 1) * (k - 1)))
    assert abs(model - (1 + (m - 1) * rho)) < 4 * (m - 1) * se_icc


def test_independent_lesions_give_design_effect_one():
    rng = np.random.default_rng(31)
    k, m = 2000, 5
    y = rng.random(k * m) < 0.7
    prop = clustered_proportion(y, np.repeat(np.arange(k), m), n_boot=B, rng=5)
    tol = 3 * math.sqrt(2 / (k - 1) + 2 / (B - 1))
    print(f"independent: ICC {prop.icc:.4f}, deff RS {prop.design_effect_rao_scott:.3f}, "
          f"bootstrap {prop.design_effect_bootstrap:.3f} (tolerance {tol:.3f})")  # fmt: skip
    assert abs(prop.design_effect_rao_scott - 1) < 3 * math.sqrt(2 / (k - 1))
    assert abs(prop.design_effect_bootstrap - 1) < tol
    assert abs(prop.icc) < 0.03


def test_proportion_edge_cases_are_stated_not_hidden():
    # 18/18 in 2 patients (16 + 2): no variance to measure → the ICC = 1 bound Σm²/N.
    y, cl = np.ones(18, bool), np.array(["P1"] * 16 + ["P3"] * 2)
    prop = clustered_proportion(y, cl, n_boot=200, rng=1)
    assert round(100 * prop.wilson_low, 1) == 82.4  # the Wilson 95 % CI 82.4–100 %
    assert prop.n_effective == pytest.approx(18 / (260 / 18))
    assert prop.rao_scott_low < prop.wilson_low and prop.rao_scott_high == 1.0
    assert "ICC = 1 bound" in prop.note and (prop.bootstrap_low, prop.bootstrap_high) == (1, 1)
    one = clustered_proportion([True, False, True], ["P1"] * 3, n_boot=50)
    assert math.isnan(one.rao_scott_low) and math.isnan(one.bootstrap_low)
    with pytest.raises(InvalidValueError):
        clustered_proportion([], [])


def test_clustered_detection_counts_like_the_lesion_level_function():
    rng = np.random.default_rng(41)
    rows = []
    for s, n, her2 in (("P1", 16, "positive"), ("P2", 5, "negative"), ("P3", 2, "positive"),
                       ("P4", 6, "negative")):  # fmt: skip
        for i in range(n):
            rows.append({"subject": s, "region": f"L{i}", "tracer": "18F-FDG", "time_h": 1.0,
                         "time_point_h": 1.0, "her2": her2, "tnr_background": 3.0})  # fmt: skip
            if s == "P1" and i == 0:
                continue  # never measured on the tracer scan: counts as missed
            rows.append({"subject": s, "region": f"L{i}", "tracer": "124I-trastuzumab",
                         "time_h": 24.0, "time_point_h": 24.0, "her2": her2,
                         "tnr_background": rng.uniform(1.0, 3.0)})  # fmt: skip
    table = pd.DataFrame(rows)
    out = clustered_detection(table, DetectionRule(), n_boot=300, rng=2)
    assert list(out.columns) == CLUSTERED_STATISTICS_COLUMNS
    assert set(out.method) == {str(m) for m in (StatisticsMethod.LESION_LEVEL,
                                                StatisticsMethod.RAO_SCOTT,
                                                StatisticsMethod.CLUSTER_BOOTSTRAP)}  # fmt: skip
    tracer_rows = table[table.tracer != "18F-FDG"]
    ref = detection_sensitivity(tracer_rows, DetectionRule(), by=("her2",),
                                universe=table[["subject", "region", "her2"]])  # fmt: skip
    naive = out[out.method == StatisticsMethod.LESION_LEVEL.value]
    for _, r in ref.iterrows():
        row = naive[naive.groups == f"her2={r.her2}"].iloc[0]
        assert row.estimate == pytest.approx(r.sensitivity)
        assert (row.ci_low, row.ci_high) == (pytest.approx(r.ci_low), pytest.approx(r.ci_high))
        assert row.n_lesions == r.n
    pos = out[out.groups == "her2=positive"]
    assert (pos.n_patients == 2).all() and (pos.n_lesions == 18).all()


def test_detection_counts_only_patients_imaged_at_the_time_point():
    rows = [{"subject": s, "region": f"L{i}", "tracer": "124I-trastuzumab", "time_point_h": t,
             "her2": "negative", "tnr_background": 3.0 if i == 0 else 1.0}
            for s, n, times in (("P2", 3, (24.0, 72.0)), ("P4", 2, (24.0,)))
            for i in range(n) for t in times]  # fmt: skip
    out = clustered_detection(pd.DataFrame(rows), n_boot=50, rng=1)
    naive = out[out.method == StatisticsMethod.LESION_LEVEL.value].set_index("time_h")
    assert naive.loc[24.0, "n_lesions"] == 5 and naive.loc[24.0, "estimate"] == pytest.approx(2 / 5)
    assert naive.loc[72.0, "n_lesions"] == 3 and naive.loc[72.0, "n_patients"] == 1
