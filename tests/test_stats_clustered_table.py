"""Tests of immunopet.stats.clustered_table: the lesion-level and clustered statistics table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import MissingFieldError
from immunopet.stats import (
    CLUSTERED_STATISTICS_COLUMNS,
    CLUSTERED_VS_NAIVE,
    StatisticsMethod,
    clustered_study_statistics,
    clustering_sentence,
    lesion_table,
    statistics_table,
)


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
                    rows.append(
                        {
                            "subject": s,
                            "scan_id": f"{s}-{tracer}-{t:g}",
                            "tracer": tracer,
                            "nuclide": "I-124",
                            "time_h": t,
                            "region": f"lesion_{i:02d}",
                            "region_kind": "lesion",
                            "metric": metric,
                            "value": value,
                            "unit": "SUVbw",
                        }
                    )
    subjects = pd.DataFrame({"subject": list(counts), "her2": [her2[s] for s in counts]})
    return pd.DataFrame(rows), subjects


def test_statistics_table_reference_like_study(tmp_path):
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
    assert {
        "detection sensitivity",
        "difference in mean suv_max",
        "ROC AUC",
        "sensitivity at suv_max ≥ 4",
        "specificity at suv_max ≥ 4",
    } <= analyses
    diff = table[(table.analysis == "difference in mean suv_max") & (table.time_h == 24.0)]
    assert set(diff.method) == {
        str(x)
        for x in (
            StatisticsMethod.LESION_LEVEL,
            StatisticsMethod.GEE,
            StatisticsMethod.MIXED_MODEL,
            StatisticsMethod.PATIENT_LEVEL,
        )
    }
    assert (diff.n_lesions == 29).all() and (diff.n_patients == 6).all()
    by = diff.set_index("method")
    naive_w = by.loc[str(StatisticsMethod.LESION_LEVEL), ["ci_low", "ci_high"]].diff().iloc[-1]
    gee_w = by.loc[str(StatisticsMethod.GEE), ["ci_low", "ci_high"]].diff().iloc[-1]
    assert gee_w > naive_w  # clustered lesions: the GEE interval is wider
    assert by.loc[str(StatisticsMethod.GEE), "design_effect"] > 1
    det = table[(table.analysis == "detection sensitivity") & (table.groups == "her2=positive")]
    assert (det.n_patients == 2).all() and (det.n_lesions == 18).all()
    table.to_parquet(tmp_path / "statistics.parquet")  # the pipeline's file
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "statistics.parquet"), table, check_dtype=False
    )
    # Reproducible: the same seed gives the same table.
    again = clustered_study_statistics(m, subjects, options=Options(), n_boot=500)
    pd.testing.assert_frame_equal(table, again)
    roc = table[(table.analysis == "ROC AUC") & (table.time_h == 24.0)].set_index("method")
    assert roc.loc[str(StatisticsMethod.OBUCHOWSKI_AUC), "n_patients"] == 6
    sentence = clustering_sentence(table, analysis="detection sensitivity", time_h=24.0)
    assert "82.4–100.0 % over 18 lesions" in sentence and "(2 patients," in sentence
    assert sentence.endswith(CLUSTERED_VS_NAIVE) and "upper bound" in sentence
    assert clustering_sentence(table, analysis="no such analysis") == ""
    with pytest.raises(MissingFieldError, match="statistics.metric"):
        statistics_table(lesion_table(m, subjects), metric="suv_nope")
