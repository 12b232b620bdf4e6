"""The clustered statistics table: lesion-level (independent) and patient-clustered, side by side.

:func:`statistics_table` takes the wide lesion table
(:func:`.lesions.lesion_table`: one row per lesion and scan with ``subject``,
``region``, ``tracer``, ``time_h``, ``time_point_h``, the metric columns such as
``suv_max`` / ``tnr_background`` / ``suv_max_core`` / ``background_suv_mean``,
and group labels such as ``her2``) and, for every non-reference tracer and
nominal time point, writes

* detection sensitivity per group (:func:`.clustered.clustered_detection`);
* the HER2+ vs HER2− difference of ``metric`` (:func:`.gee.gee_group_comparison`:
  lesion-level Student's t, GEE, mixed model, patient-level t);
* ROC AUC of ``metric`` for HER2 (:func:`.roc_clustered.clustered_roc`);
* sensitivity and specificity at each configured cutoff
  (:func:`.clustered.clustered_cutoff`),

each with its lesion-level (independent) row — the reference study's analysis —
and its clustered rows, with ``design_effect`` and ``icc``
(:data:`.clustering.CLUSTERED_STATISTICS_COLUMNS`). The pipeline writes it to
``tables/statistics.parquet``; :data:`.clustering.CLUSTERED_VS_NAIVE` is the
sentence the report prints beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import MissingFieldError
from .arms import require_columns, time_label_h
from .clustered import clustered_cutoff, clustered_detection
from .clustering import (
    CLUSTERED_STATISTICS_COLUMNS,
    CLUSTERED_VS_NAIVE,
    DEFAULT_N_BOOT,
    DEFAULT_SEED,
    StatisticsMethod,
)
from .detection import DetectionRule
from .gee import gee_group_comparison
from .lesions import lesion_table
from .roc_clustered import clustered_roc

__all__ = ["clustered_study_statistics", "clustering_sentence", "statistics_table"]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    value = obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)
    return default if value is None else value


def statistics_table(
    lesions: pd.DataFrame,
    *,
    metric: str = "suv_max",
    group_col: str = "her2",
    positive: str = "positive",
    negative: str | None = None,
    rule: DetectionRule | None = None,
    cutoffs: Iterable[Any] = (),
    tracer: str | None = None,
    reference_tracer: str = "FDG",
    cluster_col: str = "subject",
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    mixed_model: bool = True,
) -> pd.DataFrame:
    """Lesion-level and patient-clustered statistics of a study as one tidy table.

    Parameters
    ----------
    lesions
        The wide lesion table (module docstring); needs ``subject``, ``region``,
        ``tracer``, ``time_point_h``, ``metric`` and, for the group analyses,
        ``group_col``.
    metric
        Lesion metric of the group comparison and the ROC (the study's
        ``statistics.metric``).
    group_col, positive, negative
        Binary label and its positive / negative values (default negative: the
        other value present).
    rule
        Detection rule (default :class:`.detection.DetectionRule`).
    cutoffs
        Entries with ``metric``, ``value``, ``time``, ``tracer``, ``group``,
        ``positive`` (the study's ``statistics.cutoffs``, objects or mappings).
    tracer, reference_tracer
        Analysed tracer (default every tracer but the reference).
    confidence, n_boot, seed
        Coverage, bootstrap resamples, and the seed of the one generator all
        bootstraps draw from in turn (the table is reproducible).
    mixed_model
        Also fit the random-intercept model.

    Returns
    -------
    pandas.DataFrame
        :data:`.clustering.CLUSTERED_STATISTICS_COLUMNS`.
    """
    require_columns(lesions, (cluster_col, "region", "tracer", "time_point_h"))
    if metric not in lesions.columns:
        measured = sorted(c for c in map(str, lesions.columns) if c.startswith(("suv_", "tnr_")))
        raise MissingFieldError(
            f"statistics.metric: lesion metric {metric!r} was not measured; measured lesion "
            f"metrics: {measured}",
            field="statistics.metric",
            value=metric,
        )
    rng = np.random.default_rng(seed)
    frames: list[pd.DataFrame] = []
    has_groups = group_col in lesions.columns
    frames.append(
        clustered_detection(lesions, rule, tracer=tracer, reference_tracer=reference_tracer,
                            by=(group_col,) if has_groups else (), cluster_col=cluster_col,
                            confidence=confidence, n_boot=n_boot, rng=rng)
    )  # fmt: skip
    tracers = list(dict.fromkeys(lesions["tracer"].astype(str)))
    main = [t for t in tracers if reference_tracer.lower() not in t.lower()] or tracers
    if tracer is not None:
        main = [t for t in main if tracer.lower() in t.lower()]
    if has_groups:
        values = sorted(lesions[group_col].dropna().astype(str).unique())
        if negative is None:
            others = [v for v in values if v != positive]
            negative = others[0] if len(others) == 1 else "negative"
        for tr in main:
            times = sorted(lesions.loc[lesions["tracer"].astype(str) == tr, "time_point_h"]
                           .dropna().unique())  # fmt: skip
            for tp in times:
                frames.append(
                    gee_group_comparison(lesions, metric, tracer=tr, time_h=float(tp),
                                         group_col=group_col, a=positive, b=negative,
                                         cluster_col=cluster_col, confidence=confidence,
                                         mixed_model=mixed_model)
                )  # fmt: skip
                frames.append(
                    clustered_roc(lesions, metric, tracer=tr, time_h=float(tp),
                                  group_col=group_col, positive=positive,
                                  cluster_col=cluster_col, confidence=confidence,
                                  n_boot=n_boot, rng=rng)
                )  # fmt: skip
    for c in cutoffs:
        c_metric = str(_get(c, "metric", metric))
        c_group = str(_get(c, "group", group_col))
        if c_metric not in lesions.columns or c_group not in lesions.columns:
            continue
        frames.append(
            clustered_cutoff(lesions, c_metric, float(_get(c, "value")),
                             tracer=str(_get(c, "tracer", main[0] if main else tracers[0])),
                             time_h=time_label_h(_get(c, "time")), group_col=c_group,
                             positive=str(_get(c, "positive", positive)),
                             cluster_col=cluster_col, confidence=confidence, n_boot=n_boot,
                             rng=rng)
        )  # fmt: skip
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=CLUSTERED_STATISTICS_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CLUSTERED_STATISTICS_COLUMNS]


def clustered_study_statistics(
    measurements: pd.DataFrame,
    subjects: pd.DataFrame | None = None,
    *,
    options: Any = None,
    lesions: pd.DataFrame | None = None,
    reference_tracer: str = "FDG",
    group_key: str = "her2",
    positive: str = "positive",
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """:func:`statistics_table` from the same inputs as :func:`.cohort.study_statistics`.

    ``measurements`` is the tidy measurement table, ``subjects`` the subject
    labels, ``lesions`` the per-lesion labels, ``options`` the study's
    ``analysis.statistics`` (``metric``, ``detection``, ``cutoffs`` are read).
    """
    table = lesion_table(measurements, subjects, lesions)
    if table.empty:
        return pd.DataFrame(columns=CLUSTERED_STATISTICS_COLUMNS)
    cutoffs = list(_get(options, "cutoffs", []) or []) if options is not None else []
    return statistics_table(
        table,
        metric=str(_get(options, "metric", "suv_max")) if options is not None else "suv_max",
        group_col=group_key,
        positive=positive,
        rule=DetectionRule.from_options(_get(options, "detection") if options else None),
        cutoffs=cutoffs,
        reference_tracer=reference_tracer,
        n_boot=n_boot,
        seed=seed,
    )


#: Clustered methods in the order :func:`clustering_sentence` prefers them.
_CLUSTERED_PREFERENCE = (
    StatisticsMethod.RAO_SCOTT,
    StatisticsMethod.OBUCHOWSKI_AUC,
    StatisticsMethod.GEE,
    StatisticsMethod.CLUSTER_BOOTSTRAP,
    StatisticsMethod.MIXED_MODEL,
    StatisticsMethod.PATIENT_LEVEL,
)


def clustering_sentence(
    table: pd.DataFrame,
    *,
    analysis: str = "detection sensitivity",
    time_h: float = 24.0,
    groups: str = "her2=positive",
    confidence: float = 0.95,
) -> str:
    """The report's sentence: one analysis, independent vs clustered CI, and why they differ.

    E.g. "Detection sensitivity at 24 h (her2=positive): 100.0 %; lesion-level
    (independent) 95 % CI 82.4–100.0 % over 18 lesions; clustered by patient (2
    patients, clustered variance (Rao–Scott / Obuchowski 1998)) 24.5–100.0 %,
    design effect 14.44, ICC n/a." followed by :data:`.clustering.CLUSTERED_VS_NAIVE`.
    ``confidence`` is the coverage the table was built with (for the label only).
    Returns "" when the table has no such rows.
    """
    at = table[(table["analysis"] == analysis) & (table["groups"] == groups)]
    at = at[np.isclose(at["time_h"].astype(float), time_h)]
    naive = at[at["method"] == str(StatisticsMethod.LESION_LEVEL)]
    clustered = None
    for method in _CLUSTERED_PREFERENCE:
        rows = at[(at["method"] == str(method)) & at["ci_low"].notna()]
        if not rows.empty:
            clustered = rows.iloc[0]
            break
    if naive.empty or clustered is None:
        return ""
    n = naive.iloc[0]
    proportion = "sensitivity" in analysis or "specificity" in analysis

    def fmt(x: float) -> str:
        return f"{100 * x:.1f} %" if proportion else f"{x:.3g}"

    def pair(lo: float, hi: float) -> str:
        return f"{100 * lo:.1f}–{100 * hi:.1f} %" if proportion else f"{lo:.3g} to {hi:.3g}"

    icc = f"{clustered['icc']:.2f}" if np.isfinite(clustered["icc"]) else "n/a"
    bound = (
        " (its ICC = 1 upper bound: no variance to measure)" if "bound" in clustered["note"] else ""
    )
    return (
        f"{analysis[0].upper()}{analysis[1:]} at {time_h:g} h ({groups}): {fmt(n['estimate'])}; "
        f"lesion-level (independent) {100 * confidence:g} % CI {pair(n['ci_low'], n['ci_high'])} "
        f"over {int(n['n_lesions'])} lesions; clustered by patient ({int(clustered['n_patients'])} "
        f"patients, {clustered['method']}) {pair(clustered['ci_low'], clustered['ci_high'])}, "
        f"design effect {clustered['design_effect']:.2f}{bound}, ICC {icc}. {CLUSTERED_VS_NAIVE}"
    )
