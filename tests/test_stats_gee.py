"""Tests of immunopet.stats.gee and the clustered statistics table.

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

from immunopet.core.errors import MissingFieldError
from immunopet.stats import (
    CLUSTERED_STATISTICS_COLUMNS,
    StatisticsMethod,
    clustered_study_statistics,
    gee_difference,
    gee_group_comparison,
    lesion_table,
    mixed_model_difference,
    patient_level_difference,
    statistics_table,
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
    return pd.DataFrame({"subject": [f"P{c}" for c in cl], "region": [f"L{i}" for i in range(len(y))],
                         "tracer": "124I-trastuzumab", "time_point_h": 24.0, "time_h": 24.0,
                         "her2": np.where(a, "positive", "negative"), "suv_max": y,
                         "tnr_background": y / 2})  # fmt: skip


def _reference_like_measurements() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six patients with the reference study's lesion counts: 16 + 2 HER2+, 3 + 3 + 1 + 4 HER2−."""
    rng = np.random.default_rng(7)
    counts = {"P1": 16, "P2": 3, "P3": 2, "P4": 3, "P5": 1, "P6": 4}
    her2 = {s: "positive" if s in ("P1", "P3") else "negative" for s in counts}
    rows = []
    for s, n in counts.items():
        pos = her2[s] == "positive"
        patient = rng.normal(0, 0.8)
        for i in range(n):
            series = [("18F-FDG", 1.0, 6.0)] + [
                ("124I-trastuzumab", t, mu + patient + rng.normal(0, 0.6))
                for t, mu in ((24.0, 7.8 if pos else 1.8), (48.0, 5.7 if pos else 1.5))
            ]
            for tracer, t, v in series:
                for metric, value in (
                    ("suv_max", max(v, 0.3)),
                    ("tnr_background", max(v, 0.3) / 1.2),
                ):
                    rows.append({"subject": s, "scan_id": f"{s}-{tracer}-{t:g}", "tracer": tracer,
                                 "nuclide": "I-124", "time_h": t, "region": f"lesion_{i:02d}",
                                 "region_kind": "lesion", "metric": metric, "value": value,
                                 "unit": "SUVbw"})  # fmt: skip
    subjects = pd.DataFrame({"subject": list(counts), "her2": [her2[s] for s in counts]})
    return pd.DataFrame(rows), subjects


def test_statistics_table_reference_like_study():
    m, subjects = _reference_like_measurements()

    class Cutoff:
        metric, value, time, tracer, group, positive = (
            "suv_max",
            4.0,
            "24h",
            "124I",
            "her2",
            "positive",
        )

    class Options:
        metric, cutoffs, detection = (
            "suv_max",
            [Cutoff()],
            {"metric": "tnr_background", "threshold": 1.5},
        )

    table = clustered_study_statistics(m, subjects, options=Options(), n_boot=500)
    assert list(table.columns) == CLUSTERED_STATISTICS_COLUMNS
    analyses = set(table.analysis)
    assert {"detection sensitivity", "difference in mean suv_max", "ROC AUC",
            "sensitivity at suv_max ≥ 4", "specificity at suv_max ≥ 4"} <= analyses  # fmt: skip
    diff = table[(table.analysis == "difference in mean suv_max") & (table.time_h == 24.0)]
    assert set(diff.method) == {str(x) for x in (StatisticsMethod.LESION_LEVEL, StatisticsMethod.GEE,
                                                 StatisticsMethod.MIXED_MODEL,
                                                 StatisticsMethod.PATIENT_LEVEL)}  # fmt: skip
    assert (diff.n_lesions == 29).all() and (diff.n_patients == 6).all()
    by = diff.set_index("method")
    naive_w = by.loc[str(StatisticsMethod.LESION_LEVEL), ["ci_low", "ci_high"]].diff().iloc[-1]
    gee_w = by.loc[str(StatisticsMethod.GEE), ["ci_low", "ci_high"]].diff().iloc[-1]
    assert gee_w > naive_w  # clustered lesions: the GEE interval is wider
    assert by.loc[str(StatisticsMethod.GEE), "design_effect"] > 1
    det = table[(table.analysis == "detection sensitivity") & (table.groups == "her2=positive")]
    assert (det.n_patients == 2).all() and (det.n_lesions == 18).all()
    # Reproducible: the same seed gives the same table.
    again = clustered_study_statistics(m, subjects, options=Options(), n_boot=500)
    pd.testing.assert_frame_equal(table, again)
    roc = table[(table.analysis == "ROC AUC") & (table.time_h == 24.0)].set_index("method")
    assert roc.loc[str(StatisticsMethod.OBUCHOWSKI_AUC), "n_patients"] == 6
    with pytest.raises(MissingFieldError, match="statistics.metric"):
        statistics_table(lesion_table(m, subjects), metric="suv_nope")
