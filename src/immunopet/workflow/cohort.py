"""The cohort recipe: every subject's tables → the study's statistics, in one tidy table.

The table holds the reference study's own analysis (every lesion an independent
sample: ``method`` = ``lesion-level (independent)``, with the detailed
``kind``/``group_a``/``mean_a`` … columns of :func:`immunopet.stats.study_statistics`)
and, beside it, the analysis clustered by patient (``kind`` = ``clustered``:
Rao–Scott / Obuchowski, patient-cluster bootstrap, GEE, mixed model and
patient-level rows of :func:`immunopet.stats.clustered_study_statistics`). The
shared columns are ``analysis, method, groups, estimate, ci_low, ci_high, p,
n_lesions, n_patients, design_effect, icc``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..core.errors import InputError
from ..study import StatisticsOptions
from .tables import MeasurementTable, StatisticsTable

__all__ = ["cohort_statistics"]


def cohort_statistics(
    measurements: Sequence[MeasurementTable],
    lesions: Sequence[pd.DataFrame],
    subjects: pd.DataFrame,
    options: StatisticsOptions,
    *,
    reference_tracer: str | None = "FDG",
) -> StatisticsTable:
    """The study's statistics table (:func:`immunopet.stats.study_statistics`).

    Parameters
    ----------
    measurements
        Every measured scan's table.
    lesions
        The lesion-reference tables (detected lesions matched to the study's truth).
    subjects
        One row per subject: ``subject`` and its group labels.
    """
    from ..stats import study_statistics

    if not measurements:
        raise InputError("no subject was measured: nothing to compare")
    table = pd.concat([m.frame for m in measurements], ignore_index=True)
    truth = pd.concat(list(lesions), ignore_index=True) if lesions else None
    if truth is not None:
        truth = truth.rename(columns={"lesion_id": "lesion"})
        truth = truth.drop(columns=["scan_id", "tracer"], errors="ignore")
    naive = study_statistics(
        table, subjects, options=options, lesions=truth, reference_tracer=reference_tracer or "FDG"
    )
    clustered = _clustered(table, subjects, options, truth, reference_tracer or "FDG")
    return StatisticsTable(_one_table(naive, clustered))


def _clustered(table, subjects, options, truth, reference_tracer):  # type: ignore[no-untyped-def]
    """The patient-clustered rows (empty when the study names no binary group)."""
    from ..stats.clustered_table import clustered_study_statistics

    cut = options.cutoffs[0] if options.cutoffs else None
    group = cut.group if cut is not None else "her2"
    positive = cut.positive if cut is not None else "positive"
    if subjects is None or group not in subjects.columns:
        return pd.DataFrame()
    return clustered_study_statistics(
        table, subjects, options=options, lesions=truth, reference_tracer=reference_tracer,
        group_key=group, positive=positive,
    )  # fmt: skip


#: The columns every row of the statistics table has, first.
SHARED_COLUMNS = (
    "analysis", "method", "groups", "estimate", "ci_low", "ci_high", "p", "n_lesions",
    "n_patients", "design_effect", "icc",
)  # fmt: skip


def _one_table(naive: pd.DataFrame, clustered: pd.DataFrame) -> pd.DataFrame:
    """Lesion-level rows with the shared columns filled, then the clustered rows."""
    from ..stats.clustering import StatisticsMethod

    out = naive.copy()
    out["method"] = StatisticsMethod.LESION_LEVEL.value
    group_b = out["group_b"].astype("string").fillna("")
    out["groups"] = out["group_a"].astype("string").fillna("") + group_b.map(
        lambda g: f" vs {g}" if g else ""
    )
    out["p"] = out["p_value"]
    n_b = pd.to_numeric(out["n_b"], errors="coerce").fillna(0)
    out["n_lesions"] = pd.to_numeric(out["n_a"], errors="coerce") + n_b
    out["n_patients"] = pd.NA
    out["design_effect"] = float("nan")
    out["icc"] = float("nan")
    if not clustered.empty:
        clustered = clustered.assign(kind="clustered", time_a_h=clustered.get("time_h"),
                                     tracer_a=clustered.get("tracer"))  # fmt: skip
        out = pd.concat([out, clustered], ignore_index=True)
    first = [c for c in SHARED_COLUMNS if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]
