"""The cohort recipe: every subject's tables → the study's statistics."""

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
    return StatisticsTable(
        study_statistics(
            table,
            subjects,
            options=options,
            lesions=truth,
            reference_tracer=reference_tracer or "FDG",
        )
    )
