"""Cohort statistics of a study, as one tidy table (``results/tables/statistics``).

:func:`study_statistics` takes the tidy measurement table (one row per
subject·scan·region·metric), the subjects table (subject, sex, group labels)
and optionally the lesions table (per-lesion truth), and runs

* descriptive statistics of the lesion uptake metric (``options.metric``, default
  SUVmax) per tracer, time point and group
  (n, mean, SD, SEM, median, range);
* group comparisons — the study file's ``statistics.comparisons``, or, by
  default, the reference study's set: positive vs negative lesions per tracer
  and time point; tracer vs lesion-reference tracer (FDG) within each group
  (the paper's unpaired Student's test, plus paired t and Wilcoxon on the same
  lesions); consecutive time points within each group (Student's and paired t);
* detection sensitivity per time point with Wilson CIs (:mod:`.detection`);
* ROC (AUC with DeLong CI, Youden cutoff) and sensitivity/specificity at each
  configured cutoff (the paper's SUVmax 4.0 at 24 h) with Wilson CIs.

Every row of the output has the columns :data:`STATISTICS_COLUMNS`; group
labels are written ``"key=value"`` (e.g. ``"her2=positive"``). By ``kind``:

* ``descriptive``: arm a only — ``n_a, mean_a, sd_a, sem_a, median_a, min_a, max_a``;
* ``comparison``: both arms' n, mean, SD, SEM; ``test``, ``statistic`` (t, U or W),
  ``df``, two-tailed ``p_value``, ``estimate`` = mean(a) − mean(b) (paired: mean difference);
* ``detection``: ``statistic`` = lesions detected, ``n_a`` = lesions, ``estimate`` =
  sensitivity, ``ci_low``/``ci_high`` = Wilson 95 % CI (fractions);
* ``roc``: ``estimate`` = AUC, DeLong CI, ``statistic`` = Youden-optimal cutoff,
  ``n_a``/``n_b`` = positives/negatives;
* ``cutoff``: one row each for sensitivity and specificity at a cutoff — ``statistic`` =
  successes, ``n_a`` = cases, ``estimate`` and Wilson CI (fractions).

Time points are nominal (:func:`.lesions.nominal_time_points`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.errors import MissingFieldError
from .arms import (
    STATISTICS_COLUMNS,
    LesionArm,
    compare_arms,
    configured_comparison,
    record,
    time_label_h,
)
from .descriptive import describe
from .detection import DetectionRule, detection_sensitivity
from .lesions import lesion_table
from .roc import roc_analysis, sensitivity_specificity

__all__ = ["STATISTICS_COLUMNS", "study_statistics"]


def _unit(measurements: pd.DataFrame, metric: str) -> str:
    if "unit" not in measurements.columns:
        return ""
    units = measurements.loc[measurements["metric"] == metric, "unit"].dropna().unique()
    return str(units[0]) if len(units) else ""


def _require_lesion_metrics(table: pd.DataFrame, metrics: list[tuple[str, str]]) -> None:
    """Each (metric, study-file field) must be measured: a typo would drop its analyses."""
    measured = sorted(c for c in map(str, table.columns) if c.startswith(("suv_", "tnr_")))
    for metric, field in metrics:
        if metric not in table.columns:
            raise MissingFieldError(
                f"{field}: lesion metric {metric!r} was not measured; measured lesion "
                f"metrics: {measured}",
                field=field,
                value=metric,
            )


def _group_key(table: pd.DataFrame, preferred: str | None) -> str | None:
    if preferred and preferred in table.columns:
        return preferred
    if "her2" in table.columns:
        return "her2"
    return None


def _group_values(table: pd.DataFrame, key: str | None, positive: str = "positive") -> list[str]:
    if key is None or key not in table.columns:
        return []
    values = sorted(table[key].dropna().astype(str).unique())
    if positive in values:  # positive first: the paper's "HER2+ vs HER2−" order
        values.remove(positive)
        values.insert(0, positive)
    return values


def study_statistics(
    measurements: pd.DataFrame,
    subjects: pd.DataFrame | None = None,
    *,
    options: Any = None,
    lesions: pd.DataFrame | None = None,
    reference_tracer: str = "FDG",
    group_key: str | None = None,
    positive: str = "positive",
) -> pd.DataFrame:
    """All cohort statistics of a study as one tidy table (see the module docstring).

    Parameters
    ----------
    measurements
        The tidy measurement table.
    subjects
        ``subject`` plus group-label columns (e.g. ``her2``).
    options
        The study's ``analysis.statistics`` (:class:`immunopet.study.StatisticsOptions`)
        or None for the defaults.
    lesions
        Optional per-lesion labels (see :func:`lesion_table`).
    reference_tracer
        The lesion-reference tracer (matched case-insensitively as a substring).
    group_key, positive
        Binary group column and its positive value for the default analyses.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STATISTICS_COLUMNS`.
    """
    table = lesion_table(measurements, subjects, lesions)
    rows: list[dict[str, Any]] = []
    if table.empty:
        return pd.DataFrame(columns=STATISTICS_COLUMNS)
    comparisons = list(getattr(options, "comparisons", []) or [])
    cutoffs = list(getattr(options, "cutoffs", []) or [])
    rule = DetectionRule.from_options(getattr(options, "detection", None))
    key = _group_key(table, group_key or (cutoffs[0].group if cutoffs else None))
    groups = _group_values(table, key, positive)
    tracers = list(dict.fromkeys(table["tracer"]))
    ref = [t for t in tracers if reference_tracer.lower() in t.lower()]
    main = [t for t in tracers if t not in ref]
    metric = str(getattr(options, "metric", None) or "suv_max")
    _require_lesion_metrics(
        table, [(metric, "statistics.metric"), *((c.metric, "statistics.cutoffs") for c in cutoffs)]
    )
    unit = _unit(measurements, metric)

    # Descriptive: every tracer × time point × group.
    for tracer in tracers:
        sub_t = table[table["tracer"] == tracer]
        for tp in sorted(sub_t["time_point_h"].dropna().unique()):
            for g in [None, *groups]:
                arm = LesionArm(tracer, float(tp), ((key, g),) if g is not None else ())
                sub = arm.select(table)
                if metric not in sub.columns or sub.empty:
                    continue
                d = describe(sub[metric], unit=unit)
                rows.append(
                    record(
                        analysis=f"{metric}: {arm.label()}", kind="descriptive", metric=metric,
                        tracer_a=tracer, time_a_h=float(tp), group_a=arm.group_label,
                        n_a=d.n, mean_a=d.mean, sd_a=d.sd, sem_a=d.sem,
                        median_a=d.median, min_a=d.minimum, max_a=d.maximum, unit=unit,
                    )
                )  # fmt: skip

    # Comparisons.
    if comparisons:
        for c in comparisons:
            rows += configured_comparison(table, c, unit, main[0] if main else tracers[0], metric)
    elif key is not None and len(groups) >= 2:
        g_pos, g_neg = groups[0], groups[1]
        for tracer in tracers:
            for tp in sorted(table.loc[table["tracer"] == tracer, "time_point_h"].unique()):
                rows += compare_arms(
                    table, metric, LesionArm(tracer, tp, ((key, g_pos),)), LesionArm(tracer, tp, ((key, g_neg),)),
                    ["student", "welch", "mann_whitney"], unit,
                )  # fmt: skip
        for tracer in main:
            tps = sorted(table.loc[table["tracer"] == tracer, "time_point_h"].unique())
            for g in groups:
                for r in ref:
                    for tp in tps:
                        rows += compare_arms(
                            table, metric, LesionArm(tracer, tp, ((key, g),)), LesionArm(r, None, ((key, g),)),
                            ["student", "paired_t", "wilcoxon"], unit,
                        )  # fmt: skip
                for t1, t2 in zip(tps[:-1], tps[1:], strict=True):
                    rows += compare_arms(
                        table, metric, LesionArm(tracer, t1, ((key, g),)), LesionArm(tracer, t2, ((key, g),)),
                        ["student", "paired_t"], unit,
                    )  # fmt: skip

    # Detection sensitivity per time point (per group), Wilson CIs.
    for tracer in main:
        sub = table[table["tracer"] == tracer]
        try:
            universe_cols = ["subject", "region", *([key] if key else [])]
            det = detection_sensitivity(
                sub.assign(time_h=sub["time_point_h"]),
                rule,
                by=(key,) if key else (),
                universe=table[table["tracer"].isin([tracer, *ref])][universe_cols],
            )
        except MissingFieldError as exc:
            rows.append(
                record(analysis=f"detection: {tracer}", kind="detection", metric=rule.metric,
                        tracer_a=tracer, note=str(exc))
            )  # fmt: skip
            continue
        for _, d in det.iterrows():
            g = f"{key}={d[key]}" if key else ""
            rows.append(
                record(
                    analysis=f"detection: {tracer} {d['time_h']:g} h {g}".strip(),
                    kind="detection", metric=rule.metric, tracer_a=tracer,
                    time_a_h=d["time_h"], group_a=g, n_a=d["n"], statistic=d["detected"],
                    estimate=d["sensitivity"], ci_low=d["ci_low"], ci_high=d["ci_high"],
                    test="wilson", unit="fraction", note=rule.describe(),
                )
            )  # fmt: skip

    # ROC and cutoffs.
    specs = cutoffs or []
    roc_targets: list[tuple[str, str, float | None, str, str]] = []
    for c in specs:
        roc_targets.append((c.metric, c.tracer or (main[0] if main else tracers[0]),
                            time_label_h(c.time), c.group, c.positive))  # fmt: skip
    if not specs and key is not None and main:
        tps = sorted(table.loc[table["tracer"] == main[0], "time_point_h"].unique())
        roc_targets += [(metric, main[0], float(tp), key, positive) for tp in tps]
    done_roc: set[tuple[Any, ...]] = set()
    for metric, tracer, tp, gkey, pos in roc_targets:
        if metric not in table.columns or gkey not in table.columns:
            continue
        sub = LesionArm(tracer, tp).select(table)
        is_pos = sub[gkey].astype(str) == pos
        x, y = sub.loc[is_pos, metric], sub.loc[~is_pos & sub[gkey].notna(), metric]
        if x.dropna().empty or y.dropna().empty:
            continue
        base = {"metric": metric, "tracer_a": tracer, "time_a_h": tp, "group_a": f"{gkey}={pos}",
                "group_b": f"{gkey}!={pos}", "unit": ""}  # fmt: skip
        if (metric, tracer, tp, gkey) not in done_roc:
            done_roc.add((metric, tracer, tp, gkey))
            roc = roc_analysis(x, y)
            rows.append(
                record(
                    **base, analysis=f"ROC {metric}: {tracer} {tp:g} h", kind="roc",
                    n_a=roc.n_positive, n_b=roc.n_negative, test="delong", estimate=roc.auc,
                    ci_low=roc.ci_low, ci_high=roc.ci_high, statistic=roc.youden.cutoff,
                    note=(f"AUC (Mann–Whitney), DeLong CI; Youden cutoff {roc.youden.cutoff:.3g}: "
                          f"sensitivity {roc.youden.sensitivity.format()}, "
                          f"specificity {roc.youden.specificity.format()}"),
                )
            )  # fmt: skip
        for c in specs:
            if (c.metric, time_label_h(c.time), c.group) != (metric, tp, gkey):
                continue
            cut = sensitivity_specificity(x, y, c.value)
            for what, prop in (("sensitivity", cut.sensitivity), ("specificity", cut.specificity)):
                rows.append(
                    record(
                        **base, analysis=f"{what} of {metric} ≥ {c.value:g}: {tracer} {tp:g} h",
                        kind="cutoff", test="wilson", statistic=prop.successes, n_a=prop.n,
                        estimate=prop.estimate, ci_low=prop.ci_low, ci_high=prop.ci_high,
                        note=f"{what} of {metric} ≥ {c.value:g}",
                    )
                )  # fmt: skip
    return pd.DataFrame(rows, columns=STATISTICS_COLUMNS)
