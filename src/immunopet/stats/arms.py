"""Comparison arms: lesions of one tracer, time point and group, and the rows they give.

Used by :mod:`.cohort`; an arm selects rows of the wide lesion table
(:func:`.lesions.lesion_table`) and a comparison of two arms becomes rows of
the statistics table (:data:`STATISTICS_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import MissingFieldError
from .compare import run_test
from .descriptive import describe
from .lesions import tracer_matches

__all__ = [
    "STATISTICS_COLUMNS",
    "LesionArm",
    "compare_arms",
    "configured_comparison",
    "record",
    "time_label_h",
]


STATISTICS_COLUMNS = [
    "analysis",  # human-readable name of the row
    "kind",  # descriptive | comparison | detection | roc | cutoff
    "metric",
    "tracer_a",
    "time_a_h",
    "group_a",
    "tracer_b",
    "time_b_h",
    "group_b",
    "n_a",
    "n_b",
    "mean_a",
    "sd_a",
    "sem_a",
    "mean_b",
    "sd_b",
    "sem_b",
    "median_a",
    "min_a",
    "max_a",
    "test",
    "statistic",
    "df",
    "p_value",
    "estimate",
    "ci_low",
    "ci_high",
    "unit",
    "note",
]


def require_columns(table: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise :class:`MissingFieldError` for the first of ``columns`` the lesion table lacks."""
    for col in columns:
        if col not in table.columns:
            raise MissingFieldError(f"the lesion table has no column {col!r}", field=col)


@dataclass(frozen=True)
class LesionArm:
    """Lesions of one tracer (substring), nominal time point (None: all) and group filter."""

    tracer: str
    time_h: float | None
    where: tuple[tuple[str, str], ...] = ()  # subject/lesion group filter: (key, value) pairs

    @property
    def group_label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.where)

    def label(self) -> str:
        parts = [self.tracer]
        if self.time_h is not None:
            parts.append(f"{self.time_h:g} h")
        if self.where:
            parts.append(self.group_label)
        return " ".join(parts)

    def select(self, table: pd.DataFrame, *, require: Iterable[str] = ()) -> pd.DataFrame:
        r"""The rows of this arm; ``require`` names columns the caller reads (checked first).

        Raises
        ------
        MissingFieldError
            A ``require``\ d column is not in the table.
        """
        require_columns(table, require)
        sub = table[tracer_matches(table["tracer"], self.tracer)]
        if self.time_h is not None:
            at = sub[np.isclose(sub["time_point_h"].astype(float), self.time_h)]
            if at.empty and sub["time_point_h"].nunique() == 1:
                at = sub  # a tracer imaged once (FDG at ~1 h): its only time point
            sub = at
        for key, value in self.where:
            sub = sub[sub[key].astype(str) == value] if key in sub.columns else sub.iloc[0:0]
        return sub


def record(**values: Any) -> dict[str, Any]:
    """One statistics-table row: NaN/empty defaults, then ``values``."""
    row: dict[str, Any] = dict.fromkeys(STATISTICS_COLUMNS, np.nan)
    row.update({"analysis": "", "kind": "", "metric": "", "test": "", "unit": "", "note": ""})
    row.update({k: v for k, v in values.items() if k in row})
    return row


def _arm_columns(arm: LesionArm, suffix: str, sub: pd.DataFrame) -> dict[str, Any]:
    time = arm.time_h
    if time is None and sub["time_point_h"].nunique() == 1:
        time = float(sub["time_point_h"].iloc[0])
    elif not sub.empty and sub["time_point_h"].nunique() == 1:
        time = float(sub["time_point_h"].iloc[0])
    return {
        f"tracer_{suffix}": arm.tracer,
        f"time_{suffix}_h": time,
        f"group_{suffix}": arm.group_label,
    }


def compare_arms(
    table: pd.DataFrame,
    metric: str,
    a: LesionArm,
    b: LesionArm,
    tests: Iterable[str],
    unit: str,
    name: str | None = None,
    explicit: bool = False,
) -> list[dict[str, Any]]:
    """Rows of one comparison; for an ``explicit`` (study-file) one, a note row when empty."""
    rows: list[dict[str, Any]] = []
    label = name or f"{metric}: {a.label()} vs {b.label()}"
    if metric not in table.columns:
        if explicit:
            rows.append(record(analysis=label, kind="comparison", metric=metric,
                                note=f"no lesion has metric {metric!r}"))  # fmt: skip
        return rows
    sa, sb = a.select(table), b.select(table)
    da, db = describe(sa[metric], unit=unit), describe(sb[metric], unit=unit)
    if da.n == 0 or db.n == 0:
        if explicit:
            empty = " and ".join(arm.label() for arm, d in ((a, da), (b, db)) if d.n == 0)
            rows.append(
                record(analysis=label, kind="comparison", metric=metric, n_a=da.n, n_b=db.n,
                        note=f"no lesion values for {empty}")
            )  # fmt: skip
        return rows
    base = {
        "analysis": label,
        "kind": "comparison",
        "metric": metric,
        **_arm_columns(a, "a", sa),
        **_arm_columns(b, "b", sb),
        "mean_a": da.mean, "sd_a": da.sd, "sem_a": da.sem,
        "median_a": da.median, "min_a": da.minimum, "max_a": da.maximum,
        "mean_b": db.mean, "sd_b": db.sd, "sem_b": db.sem,
        "unit": unit,
    }  # fmt: skip
    for test in tests:
        try:
            if test in ("paired_t", "wilcoxon"):
                pairs = sa[["subject", "region", metric]].merge(
                    sb[["subject", "region", metric]],
                    on=["subject", "region"],
                    suffixes=("_a", "_b"),
                )
                res = run_test(test, pairs[f"{metric}_a"], pairs[f"{metric}_b"])
                note = f"paired by lesion ({len(pairs)} pairs)"
            else:
                res = run_test(test, sa[metric], sb[metric])
                note = ""
        except Exception as exc:  # too few values for this test: say so in the table
            rows.append(record(**base, test=test, n_a=da.n, n_b=db.n, note=str(exc)))
            continue
        rows.append(
            record(
                **base,
                test=test,
                n_a=res.n_a,
                n_b=res.n_b,
                statistic=res.statistic,
                df=res.df,
                p_value=res.p_value,
                estimate=res.mean_difference,
                note=note,
            )
        )
    return rows


def time_label_h(label: Any) -> float | None:
    """Hours of a time label (``\"24h\"``) or number; None stays None."""
    if label is None:
        return None
    if isinstance(label, int | float):
        return float(label)
    from ..core.timepoints import parse_time_label_h

    return parse_time_label_h(str(label))


def configured_comparison(
    table: pd.DataFrame,
    c: Any,
    unit: str,
    main_tracer: str,
    default_metric: str = "suv_max",
) -> list[dict[str, Any]]:
    """One ``statistics.comparisons`` entry of the study file (two arms, one test).

    An arm without a tracer takes the study's (non-reference) tracer; an arm
    without a time takes all time points of its tracer (a tracer imaged once,
    like FDG, has one); a comparison without a metric takes ``default_metric``
    (the study's ``statistics.metric``).
    """
    if getattr(c, "region_kind", "lesion") != "lesion":
        return []
    arms = []
    for arm in (c.a, c.b):
        where = tuple(sorted((str(k), str(v)) for k, v in (arm.where or {}).items()))
        arms.append(LesionArm(arm.tracer or main_tracer, time_label_h(arm.time), where))
    return compare_arms(
        table,
        getattr(c, "metric", None) or default_metric,
        arms[0],
        arms[1],
        [c.test],
        unit,
        name=c.name,
        explicit=True,
    )
