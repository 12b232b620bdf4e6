"""ROC AUC of lesions nested in patients: Obuchowski's clustered variance and the bootstrap.

The AUC itself is the Mann–Whitney estimate over all positive × negative lesion
pairs (:func:`.roc.roc_auc`). Its variance, for K patients of whom patient i has
m_i positive and n_i negative lesions (M = Σm_i, N = Σn_i), is Obuchowski's
(1997): with DeLong's structural components V10(X_ij) (fraction of all
negatives below positive X_ij, ties ½) and V01(Y_ik) (fraction of all positives
above negative Y_ik), summed per patient, V10_i = Σ_j V10(X_ij) and
V01_i = Σ_k V01(Y_ik),

* S10 = K10 / ((K10 − 1)·M) · Σ_i (V10_i − m_i·θ)²  (K10 patients with a positive),
* S01 = K01 / ((K01 − 1)·N) · Σ_i (V01_i − n_i·θ)²  (K01 patients with a negative),
* S11 = K / (K − 1) · Σ_i (V10_i − m_i·θ)(V01_i − n_i·θ),
* Var(θ) = S10/M + S01/N + 2·S11/(M·N).

With one lesion per patient it reduces to DeLong's variance exactly. The CI is
θ ± z·SE clipped to [0, 1]; ``design_effect`` = Var_Obuchowski / Var_DeLong. It
needs at least two patients on each side (K10, K01 ≥ 2).

The patient-cluster bootstrap resamples patients — within the HER2 class when
each patient's lesions are all of one class, so every resample has both — and
takes the percentile interval of the resampled AUCs.

References
----------
N. A. Obuchowski, "Nonparametric analysis of clustered ROC curve data",
Biometrics 53:567–578 (1997).
E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson, Biometrics 44:837–845 (1988).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import norm, rankdata

from ..core.errors import InvalidValueError
from .arms import LesionArm
from .clustering import (
    DEFAULT_N_BOOT,
    StatisticsMethod,
    as_generator,
    bootstrap_cluster_weights,
    cluster_codes,
    icc_anova,
    percentile_interval,
    statistics_row,
)
from .roc import roc_auc

__all__ = ["ClusteredAuc", "clustered_auc", "clustered_roc"]


@dataclass(frozen=True)
class ClusteredAuc:
    """AUC with DeLong (independent), Obuchowski (clustered) and bootstrap intervals."""

    auc: float
    n_positive: int
    n_negative: int
    n_clusters: int
    se_delong: float
    delong_low: float
    delong_high: float
    se_obuchowski: float
    obuchowski_low: float
    obuchowski_high: float
    design_effect_obuchowski: float
    bootstrap_low: float
    bootstrap_high: float
    design_effect_bootstrap: float
    n_boot_used: int
    icc: float
    confidence: float
    note: str = ""


def _components(score: np.ndarray, pos: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and per-lesion V10 (positives) / V01 (negatives) with mid-ranks for ties."""
    x, y = score[pos], score[~pos]
    combined = rankdata(np.concatenate([x, y]))
    v10 = (combined[: x.size] - rankdata(x)) / y.size
    v01 = 1.0 - (combined[x.size :] - rankdata(y)) / x.size
    return float(v10.mean()), v10, v01


def _obuchowski_variance(score: np.ndarray, pos: np.ndarray, codes: np.ndarray, k: int) -> float:
    auc, v10, v01 = _components(score, pos)
    m_i = np.bincount(codes[pos], minlength=k).astype(float)
    n_i = np.bincount(codes[~pos], minlength=k).astype(float)
    v10_i = np.bincount(codes[pos], weights=v10, minlength=k)
    v01_i = np.bincount(codes[~pos], weights=v01, minlength=k)
    big_m, big_n = m_i.sum(), n_i.sum()
    k10, k01 = int((m_i > 0).sum()), int((n_i > 0).sum())
    if k10 < 2 or k01 < 2:
        return math.nan
    dx, dy = v10_i - m_i * auc, v01_i - n_i * auc
    s10 = k10 / ((k10 - 1) * big_m) * float((dx * dx).sum())
    s01 = k01 / ((k01 - 1) * big_n) * float((dy * dy).sum())
    s11 = k / (k - 1) * float((dx * dy).sum())
    return s10 / big_m + s01 / big_n + 2.0 * s11 / (big_m * big_n)


def _weighted_auc(score: np.ndarray, pos: np.ndarray, weight: np.ndarray) -> float:
    """AUC of a resample given as a weight (multiplicity) per lesion."""
    x, wx = score[pos], weight[pos]
    y, wy = score[~pos], weight[~pos]
    if wx.sum() == 0 or wy.sum() == 0:
        return math.nan
    order = np.argsort(y)
    ys, wys = y[order], wy[order]
    cum = np.concatenate([[0.0], np.cumsum(wys)])
    below = cum[np.searchsorted(ys, x, side="left")]
    tied = cum[np.searchsorted(ys, x, side="right")] - below
    return float((wx * (below + 0.5 * tied)).sum() / (wx.sum() * wy.sum()))


def clustered_auc(
    scores: ArrayLike,
    positive: ArrayLike,
    clusters: ArrayLike,
    *,
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int | None = None,
) -> ClusteredAuc:
    """AUC of ``scores`` for ``positive`` lesions vs the others, clustered by patient.

    Parameters
    ----------
    scores
        One score per lesion (higher = more likely positive); NaN lesions dropped.
    positive
        One boolean per lesion: truly positive.
    clusters
        The lesion's patient.
    confidence, n_boot, rng
        Coverage, bootstrap resamples, generator or seed.
    """
    s = np.asarray(scores, dtype=float).ravel()
    pos = np.asarray(positive, dtype=bool).ravel()
    cl = np.asarray(clusters, dtype=object).ravel()
    if not s.size == pos.size == cl.size:
        raise InvalidValueError("scores, positive and clusters must have the same length")
    keep = np.isfinite(s)
    s, pos, cl = s[keep], pos[keep], cl[keep]
    if pos.sum() == 0 or (~pos).sum() == 0:
        raise InvalidValueError("ROC analysis needs positive and negative lesions")
    codes, k = cluster_codes(cl)
    auc, se_d, d_low, d_high = roc_auc(s[pos], s[~pos], confidence=confidence)
    z = float(norm.ppf(0.5 + confidence / 2))
    notes: list[str] = []
    var_o = _obuchowski_variance(s, pos, codes, k)
    if math.isfinite(var_o):
        se_o = math.sqrt(max(var_o, 0.0))
        o_low, o_high = max(0.0, auc - z * se_o), min(1.0, auc + z * se_o)
        deff_o = var_o / se_d**2 if se_d > 0 else math.nan
    else:
        se_o = o_low = o_high = deff_o = math.nan
        notes.append("fewer than two patients with positive or with negative lesions")
    if se_d == 0:
        notes.append("perfect separation: both variances are 0 (asymptotic CIs collapse)")
    # Stratify by class when every patient's lesions are of one class.
    per_patient_class = pd.Series(pos).groupby(codes).nunique()
    strata = None
    if (per_patient_class == 1).all():
        strata = pd.Series(pos).groupby(codes).first().reindex(range(k)).to_numpy()
    w = bootstrap_cluster_weights(k, n_boot, as_generator(rng), strata=strata)
    boot = np.array([_weighted_auc(s, pos, row[codes].astype(float)) for row in w])
    used = int(np.isfinite(boot).sum())
    if used < n_boot:
        notes.append(f"{n_boot - used} resamples without both classes left out")
    b_low, b_high = percentile_interval(boot, confidence)
    var_b = float(np.nanvar(boot, ddof=1)) if used > 1 else math.nan
    return ClusteredAuc(
        auc=auc,
        n_positive=int(pos.sum()),
        n_negative=int((~pos).sum()),
        n_clusters=k,
        se_delong=se_d,
        delong_low=d_low,
        delong_high=d_high,
        se_obuchowski=se_o,
        obuchowski_low=o_low,
        obuchowski_high=o_high,
        design_effect_obuchowski=deff_o,
        bootstrap_low=b_low,
        bootstrap_high=b_high,
        design_effect_bootstrap=var_b / se_d**2 if se_d > 0 else math.nan,
        n_boot_used=used,
        icc=icc_anova(s, codes, groups=pos),
        confidence=confidence,
        note="; ".join(notes),
    )


def clustered_roc(
    lesions: pd.DataFrame,
    metric: str,
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
    """Rows of the ROC AUC of ``metric`` (``group_col == positive`` vs the rest), 3 methods.

    Reads the wide lesion table's ``subject``, ``tracer``, ``time_point_h``,
    ``group_col`` and ``metric`` columns.
    """
    sub = LesionArm(tracer, time_h).select(lesions, require=(metric, group_col, cluster_col))
    sub = sub[sub[metric].notna() & sub[group_col].notna()]
    is_pos = (sub[group_col].astype(str) == positive).to_numpy()
    if is_pos.all() or not is_pos.any():
        return pd.DataFrame(columns=list(statistics_row()))
    res = clustered_auc(sub[metric], is_pos, sub[cluster_col], confidence=confidence,
                        n_boot=n_boot, rng=rng)  # fmt: skip
    base = {"analysis": "ROC AUC", "groups": f"{group_col}={positive} vs {group_col}!={positive}",
            "estimate": res.auc, "n_lesions": res.n_positive + res.n_negative,
            "n_patients": res.n_clusters, "icc": res.icc, "metric": metric, "tracer": tracer,
            "time_h": math.nan if time_h is None else float(time_h)}  # fmt: skip
    counts = f"{res.n_positive} positive / {res.n_negative} negative lesions"
    return pd.DataFrame(
        [
            statistics_row(**base, method=StatisticsMethod.LESION_LEVEL, ci_low=res.delong_low,
                           ci_high=res.delong_high, note=f"{counts}; DeLong variance"),
            statistics_row(**base, method=StatisticsMethod.OBUCHOWSKI_AUC,
                           ci_low=res.obuchowski_low, ci_high=res.obuchowski_high,
                           design_effect=res.design_effect_obuchowski,
                           note="; ".join(filter(None, [counts, res.note]))),
            statistics_row(**base, method=StatisticsMethod.CLUSTER_BOOTSTRAP,
                           ci_low=res.bootstrap_low, ci_high=res.bootstrap_high,
                           design_effect=res.design_effect_bootstrap,
                           note=f"{res.n_boot_used} resamples of patients, percentile interval"),
        ],
        columns=list(statistics_row()),
    )  # fmt: skip
