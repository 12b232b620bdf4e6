"""Lesions nested in patients: ICC, design effect, patient-cluster bootstrap, the table rows.

The reference study's 29 lesions come from 6 patients (patient 1 alone has 16).
Lesions of one patient share the patient's biology, antibody delivery and
reading, so they are *clustered*: a lesion-level analysis that treats them as
independent samples understates every variance by the design effect.

Definitions used by :mod:`.clustered`, :mod:`.roc_clustered`, :mod:`.gee` and
:mod:`.clustered_table`:

* **ICC** — the intra-class correlation by the one-way ANOVA estimator for
  clusters of unequal size,
  ``ICC = (MSB − MSW) / (MSB + (m₀ − 1)·MSW)`` with
  ``m₀ = (N − Σ_g Σ_{i∈g} m_i² / N_g) / (K − G)``
  (Snedecor & Cochran; Donner 1986; with G groups the between-cluster
  mean square is taken about each group's mean, so a group difference is not
  counted as clustering). It is also the estimator recommended for binary
  outcomes (Ridout, Demétrio & Firth 1999). It can be negative; NaN when
  MSB + (m₀ − 1)·MSW = 0 (no variation at all) or K ≤ G.
* **Design effect** (``design_effect`` column) — the ratio of the clustered
  variance of an estimate to the variance the lesion-level (independent)
  analysis gives it (Kish 1965: deff = Var_clustered / Var_srs). For a
  proportion with clusters of sizes m_i and a common ICC it is
  ``1 + (m̄_w − 1)·ICC`` with ``m̄_w = Σm_i² / Σm_i`` (Eldridge, Ashby & Kerry 2006,
  written with (CV² + 1)·m̄ = Σm²/N); :func:`design_effect_from_icc`
  gives that model value beside the measured ratio.
* **Cluster bootstrap** — patients are resampled with replacement (all lesions
  of a drawn patient come along), optionally within strata (e.g. HER2 class);
  B resamples from a seeded :class:`numpy.random.Generator`, percentile CIs
  (Davison & Hinkley 1997, §3.8 "Hierarchical data"; Field & Welsh 2007).

References
----------
A. Donner, "A review of inference procedures for the intraclass correlation
coefficient in the one-way random effects model", Int. Stat. Rev. 54:67–82 (1986).
M. S. Ridout, C. G. B. Demétrio, D. Firth, "Estimating intraclass correlation for
binary data", Biometrics 55:137–148 (1999).
L. Kish, *Survey Sampling*, Wiley (1965).
S. M. Eldridge, D. Ashby, S. Kerry, "Sample size for cluster randomized trials:
effect of coefficient of variation of cluster size and analysis method",
Int. J. Epidemiol. 35:1292–1300 (2006).
A. C. Davison, D. V. Hinkley, *Bootstrap Methods and their Application*, CUP (1997).
B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall (1993).
C. A. Field, A. H. Welsh, "Bootstrapping clustered data", J. R. Stat. Soc. B
69:369–390 (2007).
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..core.errors import InvalidValueError

__all__ = [
    "CLUSTERED_STATISTICS_COLUMNS",
    "CLUSTERED_VS_NAIVE",
    "DEFAULT_N_BOOT",
    "DEFAULT_SEED",
    "StatisticsMethod",
    "as_generator",
    "bootstrap_cluster_weights",
    "cluster_codes",
    "design_effect_from_icc",
    "icc_anova",
    "percentile_interval",
    "statistics_row",
    "weighted_mean_cluster_size",
]

#: Bootstrap resamples by default: the Monte Carlo relative SE of a bootstrap
#: variance is about √(2/(B − 1)) = 3.2 % for B = 2000 (Efron & Tibshirani 1993,
#: ch. 19; the normal-theory Var(s²) = 2σ⁴/(B − 1)).
DEFAULT_N_BOOT = 2000

#: Seed of the default :class:`numpy.random.Generator` (reproducible tables).
DEFAULT_SEED = 20261201

#: Why the clustered and the lesion-level (independent) intervals differ — one sentence
#: for the report.
CLUSTERED_VS_NAIVE = (
    "The lesion-level (independent) intervals count every lesion as an independent "
    "observation, but lesions of the same patient resemble each other (intra-class "
    "correlation ICC > 0), so the patient-clustered intervals, which treat the patient as "
    "the unit that was sampled, are wider by the square root of the design effect, about "
    "1 + (m̄ − 1)·ICC for m̄ lesions per patient — when a few patients hold most lesions, "
    "the effective sample size is nearer the number of patients than that of lesions."
)


class StatisticsMethod(str, Enum):
    """How an estimate's uncertainty was obtained (the ``method`` column)."""

    LESION_LEVEL = "lesion-level (independent)"
    CLUSTER_BOOTSTRAP = "patient-cluster bootstrap"
    RAO_SCOTT = "clustered variance (Rao–Scott / Obuchowski 1998)"
    OBUCHOWSKI_AUC = "clustered variance (Obuchowski 1997)"
    GEE = "GEE (exchangeable, patient clusters)"
    MIXED_MODEL = "mixed model (random intercept per patient)"
    PATIENT_LEVEL = "patient-level (per-patient mean)"

    def __str__(self) -> str:
        return self.value


#: Columns of the clustered statistics table (``tables/statistics.parquet``).
CLUSTERED_STATISTICS_COLUMNS = [
    "analysis",  # detection sensitivity | sensitivity at cutoff | specificity at cutoff | ...
    "method",  # a StatisticsMethod value
    "groups",  # "her2=positive" or "her2=positive vs her2=negative"
    "estimate",
    "ci_low",
    "ci_high",
    "p",  # two-tailed p-value where the analysis is a test, else NaN
    "n_lesions",
    "n_patients",
    "design_effect",  # Var(this method) / Var(lesion-level method); NaN on lesion-level rows
    # (a proportion of 0 or 1 has no variance: its Rao–Scott row holds the bound used, see note)
    "icc",  # one-way ANOVA ICC of the analysed outcome within the groups
    "time_h",  # nominal time point (h)
    "metric",  # lesion metric (suv_max, tnr_background, ...)
    "tracer",
    "note",  # the test / interval, the model design effect, warnings
]


def statistics_row(**values: Any) -> dict[str, Any]:
    """One row of :data:`CLUSTERED_STATISTICS_COLUMNS` (NaN / empty defaults)."""
    row: dict[str, Any] = dict.fromkeys(CLUSTERED_STATISTICS_COLUMNS, math.nan)
    row.update({"analysis": "", "method": "", "groups": "", "metric": "", "tracer": "", "note": ""})
    for key, value in values.items():
        if key not in row:
            raise InvalidValueError(f"not a statistics-table column: {key!r}", field=key)
        row[key] = str(value) if isinstance(value, StatisticsMethod) else value
    return row


def cluster_codes(clusters: ArrayLike) -> tuple[np.ndarray, int]:
    """Integer codes 0..K−1 of the cluster labels (order of first appearance) and K."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(clusters, dtype=object)), sort=False)
    if (codes < 0).any():
        raise InvalidValueError("cluster labels must not be missing", field="subject")
    return codes.astype(np.int64), len(uniques)


def weighted_mean_cluster_size(sizes: ArrayLike) -> float:
    """m̄_w = Σm² / Σm: the cluster size a randomly drawn *lesion* belongs to."""
    m = np.asarray(sizes, dtype=float)
    m = m[m > 0]
    return float((m * m).sum() / m.sum()) if m.size else math.nan


def design_effect_from_icc(sizes: ArrayLike, icc: float) -> float:
    """Model design effect ``1 + (Σm²/Σm − 1)·ICC`` (Kish 1965; Eldridge et al. 2006)."""
    return 1.0 + (weighted_mean_cluster_size(sizes) - 1.0) * float(icc)


def icc_anova(values: ArrayLike, clusters: ArrayLike, groups: ArrayLike | None = None) -> float:
    """One-way ANOVA intra-class correlation for clusters of unequal size (module docstring).

    Parameters
    ----------
    values
        One value per lesion (a metric, or 0/1 for an outcome); NaNs are dropped.
    clusters
        The lesion's patient.
    groups
        Optional fixed groups the clusters are nested in (e.g. HER2 class): the
        between-cluster mean square is taken about each group's mean.

    Returns
    -------
    float
        The ICC estimate (may be negative), NaN when it is not estimable.
    """
    y = np.asarray(values, dtype=float).ravel()
    cl = np.asarray(clusters, dtype=object).ravel()
    gr = np.zeros(y.size, dtype=object) if groups is None else np.asarray(groups, dtype=object)
    if cl.size != y.size or gr.size != y.size:
        raise InvalidValueError("values, clusters and groups must have the same length")
    keep = ~np.isnan(y)
    y = y[keep]
    n_total = int(y.size)
    if n_total == 0:
        return math.nan
    g_code = pd.factorize(pd.Series(gr[keep]))[0]
    # One code per (group, cluster) pair: a cluster split over two groups is two clusters.
    pair = pd.factorize(pd.Series(list(zip(g_code, cl[keep], strict=True))))[0]
    k, n_groups = int(pair.max()) + 1, int(g_code.max()) + 1
    if k <= n_groups or n_total <= k:
        return math.nan
    m_i = np.bincount(pair, minlength=k).astype(float)
    mean_i = np.bincount(pair, weights=y, minlength=k) / m_i
    group_of = np.zeros(k, dtype=np.int64)
    group_of[pair] = g_code
    n_g = np.bincount(g_code, minlength=n_groups).astype(float)
    mean_g = np.bincount(g_code, weights=y, minlength=n_groups) / n_g
    dev = mean_i - mean_g[group_of]
    msb = float((m_i * dev * dev).sum()) / (k - n_groups)
    msw = float(((y - mean_i[pair]) ** 2).sum()) / (n_total - k)
    m0 = (n_total - float((m_i * m_i / n_g[group_of]).sum())) / (k - n_groups)
    denom = msb + (m0 - 1.0) * msw
    if not denom > 0:
        return math.nan
    return (msb - msw) / denom


def bootstrap_cluster_weights(
    n_clusters: int,
    n_boot: int,
    rng: np.random.Generator,
    strata: ArrayLike | None = None,
) -> np.ndarray:
    """How often each patient is drawn in each resample: an (n_boot, K) integer matrix.

    Each resample draws K patients with replacement — within each stratum as
    many as it holds when ``strata`` (one label per cluster) is given, so every
    resample keeps, e.g., both HER2 classes (the two-sample bootstrap of
    Davison & Hinkley 1997, §3.8).
    """
    if n_clusters < 1 or n_boot < 1:
        raise InvalidValueError("need ≥ 1 cluster and ≥ 1 resample", value=(n_clusters, n_boot))
    weights = np.zeros((n_boot, n_clusters), dtype=np.int64)
    if strata is None:
        members = [np.arange(n_clusters)]
    else:
        s = np.asarray(strata, dtype=object)
        members = [np.flatnonzero(s == value) for value in pd.unique(s)]
    rows = np.arange(n_boot)[:, None]
    for idx in members:
        draws = idx[rng.integers(0, idx.size, size=(n_boot, idx.size))]
        np.add.at(weights, (np.broadcast_to(rows, draws.shape), draws), 1)
    return weights


def percentile_interval(samples: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the finite ``samples`` (Efron & Tibshirani 1993, ch. 13)."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    low, high = np.quantile(s, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A seeded generator: ``rng`` itself, ``default_rng(rng)``, or the default seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(DEFAULT_SEED if rng is None else rng)
