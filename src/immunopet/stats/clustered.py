"""Clustered proportions: detection sensitivity, sensitivity and specificity at a cutoff.

A proportion over lesions, p̂ = Σ y_i / Σ m_i (patient i has m_i lesions, y_i of
them "successes"), gets three intervals, one row each in the statistics table:

1. **lesion-level (independent)** — the reference study's: the Wilson interval on
   N = Σ m_i lesions as if independent (:func:`.detection.wilson_interval`).
2. **clustered variance (Rao–Scott / Obuchowski 1998)** — the ratio-estimator
   variance ``Var(p̂) = K/(K−1) · Σ_i (y_i − p̂·m_i)² / N²`` (Obuchowski 1998,
   written with p̂_i = y_i/m_i; the same as Rao & Scott 1992, v/n²). The
   design effect is ``d = Var(p̂) / (p̂(1 − p̂)/N)``; the interval is Rao & Scott's:
   the Wilson interval on the *effective* counts p̂ and N/d. A d below 1
   (negatively correlated lesions) is used as 1 (no credit for it); when
   p̂ is 0 or 1 there is no variance to measure and d is taken at its bound for
   perfectly correlated lesions, Σm²/N (ICC = 1), the widest interval — the
   note says so.
3. **patient-cluster bootstrap** — patients resampled with replacement
   (:func:`.clustering.bootstrap_cluster_weights`), p̂* = Σ w_i y_i / Σ w_i m_i,
   percentile interval; design effect Var_boot(p̂*) / (p̂(1 − p̂)/N). At p̂ = 0 or 1
   every resample equals p̂ and the percentile interval collapses to a point.

References
----------
N. A. Obuchowski, "On the comparison of correlated proportions for clustered data",
Stat. Med. 17:1495–1507 (1998).
J. N. K. Rao, A. J. Scott, "A simple method for the analysis of clustered binary
data", Biometrics 48:577–585 (1992).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..core.errors import InvalidValueError
from .arms import LesionArm, require_columns
from .clustering import (
    DEFAULT_N_BOOT,
    StatisticsMethod,
    as_generator,
    bootstrap_cluster_weights,
    cluster_codes,
    design_effect_from_icc,
    icc_anova,
    percentile_interval,
    statistics_row,
    weighted_mean_cluster_size,
)
from .detection import DetectionRule, detected, wilson_bounds, wilson_interval
from .lesions import tracer_matches

__all__ = ["ClusteredProportion", "clustered_cutoff", "clustered_detection", "clustered_proportion"]


@dataclass(frozen=True)
class ClusteredProportion:
    """A lesion proportion with its independent and patient-clustered intervals.

    Attributes
    ----------
    successes, n, n_clusters
        Σ y_i, N = Σ m_i lesions, K patients.
    estimate
        p̂ = successes / n.
    wilson_low, wilson_high
        Lesion-level (independent) Wilson interval.
    rao_scott_low, rao_scott_high, design_effect_rao_scott, n_effective
        Clustered-variance interval, its design effect (NaN when p̂ ∈ {0, 1}) and N/d used.
    bootstrap_low, bootstrap_high, design_effect_bootstrap, bootstrap_se
        Cluster-bootstrap percentile interval, Var_boot/Var_naive and the bootstrap SE.
    icc, design_effect_icc
        ANOVA ICC of the 0/1 outcomes and the model design effect 1 + (Σm²/N − 1)·ICC.
    n_boot, confidence
        Resamples and coverage.
    note, note_bootstrap
        What was assumed where the data could not say (p̂ ∈ {0, 1}, one patient, d < 1),
        for the Rao–Scott and the bootstrap interval.
    """

    successes: int
    n: int
    n_clusters: int
    estimate: float
    wilson_low: float
    wilson_high: float
    rao_scott_low: float
    rao_scott_high: float
    design_effect_rao_scott: float
    n_effective: float
    bootstrap_low: float
    bootstrap_high: float
    design_effect_bootstrap: float
    bootstrap_se: float
    icc: float
    design_effect_icc: float
    n_boot: int
    confidence: float
    note: str = ""
    note_bootstrap: str = ""


def clustered_proportion(
    outcomes: ArrayLike,
    clusters: ArrayLike,
    *,
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int | None = None,
) -> ClusteredProportion:
    """A proportion of lesions with lesion-level, Rao–Scott and cluster-bootstrap intervals.

    Parameters
    ----------
    outcomes
        One boolean per lesion (detected; called positive; ...).
    clusters
        The lesion's patient (any hashable labels).
    confidence
        Two-sided coverage of all three intervals.
    n_boot
        Bootstrap resamples.
    rng
        A :class:`numpy.random.Generator`, a seed, or None for
        :data:`.clustering.DEFAULT_SEED`.
    """
    y = np.asarray(outcomes, dtype=bool).ravel()
    codes, k = cluster_codes(clusters)
    if codes.size != y.size:
        raise InvalidValueError("outcomes and clusters must have the same length")
    n = int(y.size)
    if n == 0:
        raise InvalidValueError("a proportion needs at least one lesion", value=0)
    m_i = np.bincount(codes, minlength=k).astype(float)
    y_i = np.bincount(codes, weights=y.astype(float), minlength=k)
    p = float(y_i.sum() / n)
    wil = wilson_interval(int(y.sum()), n, confidence)
    var_naive = p * (1 - p) / n
    notes: list[str] = []
    icc = icc_anova(y.astype(float), codes)
    if k >= 2:
        var_rs = k / (k - 1) * float(((y_i - p * m_i) ** 2).sum()) / n**2
        deff_rs = var_rs / var_naive if var_naive > 0 else math.nan
        if math.isfinite(deff_rs):
            d = max(deff_rs, 1.0)
            if deff_rs < 1.0:
                notes.append(f"design effect {deff_rs:.2f} < 1 used as 1")
        else:
            d = weighted_mean_cluster_size(m_i)
            notes.append(
                f"p̂ = {p:g}: no variance to measure; design effect taken at its ICC = 1 "
                f"bound Σm²/N = {d:.2f}"
            )
        n_eff = n / d
        rs_low, rs_high = wilson_bounds(p, n_eff, confidence)
    else:
        deff_rs, n_eff, rs_low, rs_high = math.nan, math.nan, math.nan, math.nan
        notes.append("one patient: no between-patient variance, no clustered interval")
    gen = as_generator(rng)
    if k >= 2:
        w = bootstrap_cluster_weights(k, n_boot, gen).astype(float)
        boot = (w @ y_i) / (w @ m_i)
    else:  # resampling one patient gives back the same patient: no interval
        boot = np.full(n_boot, math.nan)
    se_boot = float(np.std(boot, ddof=1)) if n_boot > 1 else math.nan
    deff_boot = se_boot**2 / var_naive if var_naive > 0 else math.nan
    b_low, b_high = percentile_interval(boot, confidence)
    boot_note = ""
    if k < 2:
        boot_note = "one patient: resampling patients gives no interval"
    elif p in (0.0, 1.0):
        boot_note = "every resample equals p̂: the percentile interval is a point"
    return ClusteredProportion(
        successes=int(y.sum()),
        n=n,
        n_clusters=k,
        estimate=p,
        wilson_low=wil.ci_low,
        wilson_high=wil.ci_high,
        rao_scott_low=rs_low,
        rao_scott_high=rs_high,
        design_effect_rao_scott=deff_rs,
        n_effective=n_eff,
        bootstrap_low=b_low,
        bootstrap_high=b_high,
        design_effect_bootstrap=deff_boot,
        bootstrap_se=se_boot,
        icc=icc,
        design_effect_icc=design_effect_from_icc(m_i, icc) if math.isfinite(icc) else math.nan,
        n_boot=int(n_boot),
        confidence=float(confidence),
        note="; ".join(notes),
        note_bootstrap=boot_note,
    )


def proportion_rows(
    prop: ClusteredProportion, *, analysis: str, groups: str, **context: object
) -> list[dict[str, object]]:
    """The three statistics-table rows of a clustered proportion."""
    base = {"analysis": analysis, "groups": groups, "estimate": prop.estimate, "icc": prop.icc,
            "n_lesions": prop.n, "n_patients": prop.n_clusters, **context}  # fmt: skip
    model = (
        f"model design effect 1 + (Σm²/N − 1)·ICC = {prop.design_effect_icc:.2f}"
        if math.isfinite(prop.design_effect_icc)
        else "ICC not estimable"
    )
    return [
        statistics_row(
            **base, method=StatisticsMethod.LESION_LEVEL, ci_low=prop.wilson_low,
            ci_high=prop.wilson_high,
            note=f"{prop.successes}/{prop.n}; Wilson score interval (lesions as independent)",
        ),
        statistics_row(
            **base, method=StatisticsMethod.RAO_SCOTT, ci_low=prop.rao_scott_low,
            ci_high=prop.rao_scott_high,
            design_effect=(prop.design_effect_rao_scott
                           if math.isfinite(prop.design_effect_rao_scott)
                           else prop.n / prop.n_effective),
            note="; ".join(filter(None, [
                f"Wilson interval on the effective n = N/d = {prop.n_effective:.2f}", model,
                prop.note])),
        ),
        statistics_row(
            **base, method=StatisticsMethod.CLUSTER_BOOTSTRAP, ci_low=prop.bootstrap_low,
            ci_high=prop.bootstrap_high, design_effect=prop.design_effect_bootstrap,
            note="; ".join(filter(None, [
                f"{prop.n_boot} resamples of patients, percentile interval", model,
                prop.note_bootstrap])),
        ),
    ]  # fmt: skip


def _main_tracers(lesions: pd.DataFrame, tracer: str | None, reference_tracer: str) -> list[str]:
    tracers = list(dict.fromkeys(lesions["tracer"].astype(str)))
    if tracer is not None:
        return [t for t in tracers if tracer_matches(pd.Series([t]), tracer).iloc[0]]
    return [t for t in tracers if reference_tracer.lower() not in t.lower()] or tracers


def clustered_detection(
    lesions: pd.DataFrame,
    rule: DetectionRule | None = None,
    *,
    tracer: str | None = None,
    reference_tracer: str = "FDG",
    by: tuple[str, ...] = ("her2",),
    cluster_col: str = "subject",
    lesion_col: str = "region",
    time_col: str = "time_point_h",
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Detection sensitivity per tracer, time point and group, independent and clustered.

    Parameters
    ----------
    lesions
        The wide lesion table (:func:`.lesions.lesion_table`): one row per lesion
        and scan with columns ``subject``, ``region``, ``tracer``, ``time_point_h``,
        the ``by`` labels (e.g. ``her2``) and the rule's metric columns
        (default ``tnr_background``).
    rule
        The detection rule (default :class:`.detection.DetectionRule`).
    tracer
        Tracer to analyse (substring match); default every non-reference tracer.
    reference_tracer
        The lesion-reference tracer: its lesions join the denominator (a lesion
        seen on FDG but never measured on the tracer scan counts as missed), as in
        :func:`.detection.detection_sensitivity`. At each time point the
        denominator holds the lesions of the patients imaged then (with at least
        one lesion row of the tracer at that time point), unlike
        :func:`.detection.detection_sensitivity`, which counts the lesions of a
        patient not imaged at a time point as missed there.
    by
        Group columns (absent ones are ignored).

    Returns
    -------
    pandas.DataFrame
        :data:`.clustering.CLUSTERED_STATISTICS_COLUMNS`; three rows (lesion-level,
        Rao–Scott, bootstrap) per tracer · time point · group.
    """
    rule = rule or DetectionRule()
    require_columns(lesions, (cluster_col, lesion_col, time_col, "tracer"))
    by = tuple(c for c in by if c in lesions.columns)
    gen = as_generator(rng)
    key = [cluster_col, lesion_col]
    rows: list[dict[str, object]] = []
    for tr in _main_tracers(lesions, tracer, reference_tracer):
        own = lesions[lesions["tracer"].astype(str) == tr]
        names = lesions["tracer"].astype(str)
        pool = lesions[(names == tr) | names.str.lower().str.contains(reference_tracer.lower())]
        universe = pool[[*key, *by]].drop_duplicates(key).reset_index(drop=True)
        hit_flags = own.assign(_hit=detected(own, rule))
        for time_h, at_time in hit_flags.groupby(time_col, sort=True):
            hits = set(map(tuple, at_time.loc[at_time["_hit"], key].to_numpy()))
            seen = np.array([tuple(r) in hits for r in universe[key].to_numpy()])
            scanned = universe[universe[cluster_col].isin(set(at_time[cluster_col]))]
            groups = scanned.groupby(list(by), dropna=False, sort=True) if by else [((), scanned)]
            for label, sub in groups:
                label = label if isinstance(label, tuple) else (label,)
                prop = clustered_proportion(
                    seen[sub.index],
                    sub[cluster_col],
                    confidence=confidence,
                    n_boot=n_boot,
                    rng=gen,
                )
                rows += proportion_rows(
                    prop, analysis="detection sensitivity",
                    groups=",".join(f"{c}={v}" for c, v in zip(by, label, strict=True)),
                    time_h=float(time_h), metric=rule.metric, tracer=tr,
                )  # fmt: skip
    return pd.DataFrame(rows, columns=list(statistics_row()))


def clustered_cutoff(
    lesions: pd.DataFrame,
    metric: str,
    cutoff: float,
    *,
    tracer: str,
    time_h: float | None,
    group_col: str = "her2",
    positive: str = "positive",
    cluster_col: str = "subject",
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Sensitivity (positives with ``metric ≥ cutoff``) and specificity (negatives below).

    Reads the wide lesion table's ``subject``, ``tracer``, ``time_point_h``,
    ``group_col`` and ``metric`` columns; lesions without a value or a group are
    left out. Returns three rows per proportion (see :func:`clustered_detection`).
    """
    sub = LesionArm(tracer, time_h).select(lesions, require=(metric, group_col, cluster_col))
    sub = sub[sub[metric].notna() & sub[group_col].notna()]
    is_pos = sub[group_col].astype(str) == positive
    gen = as_generator(rng)
    rows: list[dict[str, object]] = []
    for what, part, outcome in (
        ("sensitivity", sub[is_pos], lambda s: s[metric] >= cutoff),
        ("specificity", sub[~is_pos], lambda s: s[metric] < cutoff),
    ):
        if part.empty:
            continue
        prop = clustered_proportion(outcome(part), part[cluster_col], confidence=confidence,
                                    n_boot=n_boot, rng=gen)  # fmt: skip
        label = f"{group_col}={positive}" if what == "sensitivity" else f"{group_col}!={positive}"
        rows += proportion_rows(
            prop, analysis=f"{what} at {metric} ≥ {cutoff:g}", groups=label,
            time_h=math.nan if time_h is None else float(time_h), metric=metric, tracer=tracer,
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(statistics_row()))
