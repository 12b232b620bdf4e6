"""Group comparison of a lesion metric (HER2+ vs HER2− SUV) with patients as clusters.

Four analyses of the difference in mean ``metric`` between group a and group b,
one statistics-table row each:

* **lesion-level (independent)** — the reference study's two-tailed unpaired
  Student's t-test on lesions (:func:`.compare.student_t_test`); the CI is
  the pooled-variance t interval.
* **GEE** — generalised estimating equations (Liang & Zeger 1986), Gaussian
  family, identity link, ``metric ~ 1 + group_a``, exchangeable working
  correlation within patient, via :class:`statsmodels.genmod.generalized_estimating_equations.GEE`.
  The sandwich covariance is the bias-reduced one of Mancl & DeRouen (2001)
  by default, because the plain sandwich underestimates the variance with few
  clusters (6 patients here); normal-reference CI and Wald p.
* **mixed model** — linear mixed model with a random intercept per patient,
  fitted by REML (:class:`statsmodels.regression.mixed_linear_model.MixedLM`);
  Wald CI and p of the fixed effect; ICC = σ²_patient / (σ²_patient + σ²_residual)
  in the note.
* **patient-level (per-patient mean)** — each patient's mean, then Student's t
  on the patients (the analysis with the patient as the unit).

``design_effect`` = Var(difference, this method) / Var(difference, lesion-level
Student's t); ``icc`` = the ANOVA ICC of the metric within the groups
(:func:`.clustering.icc_anova`) on every row.

References
----------
K.-Y. Liang, S. L. Zeger, "Longitudinal data analysis using generalized linear
models", Biometrika 73:13–22 (1986).
L. A. Mancl, T. A. DeRouen, "A covariance estimator for GEE with improved
small-sample properties", Biometrics 57:126–134 (2001).
N. M. Laird, J. H. Ware, "Random-effects models for longitudinal data",
Biometrics 38:963–974 (1982).
S. Seabold, J. Perktold, "statsmodels: econometric and statistical modeling with
Python", Proc. 9th Python in Science Conf. (2010).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _sps

from ..core.errors import InvalidValueError
from .arms import LesionArm
from .clustering import StatisticsMethod, cluster_codes, icc_anova, statistics_row

__all__ = [
    "GroupDifference",
    "gee_difference",
    "gee_group_comparison",
    "mixed_model_difference",
    "patient_level_difference",
    "student_difference",
]


@dataclass(frozen=True)
class GroupDifference:
    """mean(a) − mean(b) with its CI and two-tailed p under one method."""

    method: StatisticsMethod
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    n_lesions: int
    n_patients: int
    note: str = ""


def _inputs(values: ArrayLike, in_a: ArrayLike, clusters: ArrayLike):
    y = np.asarray(values, dtype=float).ravel()
    a = np.asarray(in_a, dtype=bool).ravel()
    cl = np.asarray(clusters, dtype=object).ravel()
    if not y.size == a.size == cl.size:
        raise InvalidValueError("values, groups and clusters must have the same length")
    keep = np.isfinite(y)
    y, a, cl = y[keep], a[keep], cl[keep]
    if a.sum() < 2 or (~a).sum() < 2:
        raise InvalidValueError(
            f"each group needs ≥ 2 lesions, got {int(a.sum())} and {int((~a).sum())}"
        )
    codes, k = cluster_codes(cl)
    return y, a, codes, k


def _z_interval(est: float, se: float, confidence: float) -> tuple[float, float, float]:
    z = float(_sps.norm.ppf(0.5 + confidence / 2))
    p = 2 * float(_sps.norm.sf(abs(est / se))) if se > 0 else math.nan
    return est - z * se, est + z * se, p


def _pooled_t(
    ya: np.ndarray, yb: np.ndarray, confidence: float
) -> tuple[float, float, float, float, float, int]:
    """Difference of means with the pooled-variance SE, its t interval and two-tailed p.

    Returns ``(estimate, se, low, high, p, df)`` (Student's t, df = n_a + n_b − 2).
    """
    df = ya.size + yb.size - 2
    sp2 = ((ya.size - 1) * ya.var(ddof=1) + (yb.size - 1) * yb.var(ddof=1)) / df
    se = math.sqrt(sp2 * (1 / ya.size + 1 / yb.size))
    est = float(ya.mean() - yb.mean())
    t = float(_sps.t.ppf(0.5 + confidence / 2, df))
    p = float(_sps.ttest_ind(ya, yb).pvalue)
    return est, se, est - t * se, est + t * se, p, df


def student_difference(
    values: ArrayLike, in_a: ArrayLike, clusters: ArrayLike, *, confidence: float = 0.95
) -> GroupDifference:
    """Lesion-level (independent) Student's t: pooled-variance difference, t CI, p."""
    y, a, _codes, k = _inputs(values, in_a, clusters)
    est, se, low, high, p, df = _pooled_t(y[a], y[~a], confidence)
    return GroupDifference(
        StatisticsMethod.LESION_LEVEL,
        est,
        se,
        low,
        high,
        p,
        int(y.size),
        k,
        f"two-tailed unpaired Student's t, df = {df}",
    )


def gee_difference(
    values: ArrayLike,
    in_a: ArrayLike,
    clusters: ArrayLike,
    *,
    confidence: float = 0.95,
    cov_type: Literal["bias_reduced", "robust", "naive"] = "bias_reduced",
) -> GroupDifference:
    """GEE estimate of mean(a) − mean(b), exchangeable correlation within patients.

    Parameters
    ----------
    values, in_a, clusters
        Metric per lesion, True for group a, the lesion's patient.
    cov_type
        statsmodels' covariance: ``"bias_reduced"`` (Mancl & DeRouen 2001, default),
        ``"robust"`` (the plain sandwich) or ``"naive"`` (model-based).
    """
    # The modules themselves, not statsmodels.api (which imports graphics and time
    # series too: 0.6 s of a cohort task's start).
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Gaussian
    from statsmodels.genmod.generalized_estimating_equations import GEE

    y, a, codes, k = _inputs(values, in_a, clusters)
    design = np.column_stack([np.ones(y.size), a.astype(float)])
    model = GEE(y, design, groups=codes, family=Gaussian(), cov_struct=Exchangeable())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(cov_type=cov_type)
    est, se = float(res.params[1]), float(res.bse[1])
    low, high, p = _z_interval(est, se, confidence)
    rho = float(np.atleast_1d(model.cov_struct.dep_params)[0])
    note = (
        f"{cov_type} sandwich SE, normal reference; working exchangeable correlation "
        f"{rho:.3f}; {k} patients"
    )
    if caught:
        note += "; statsmodels: " + str(caught[0].message).splitlines()[0]
    return GroupDifference(StatisticsMethod.GEE, est, se, low, high, p, int(y.size), k, note)


def mixed_model_difference(
    values: ArrayLike, in_a: ArrayLike, clusters: ArrayLike, *, confidence: float = 0.95
) -> GroupDifference:
    """Random-intercept linear mixed model (REML): fixed effect of group a, Wald CI and p."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    y, a, codes, k = _inputs(values, in_a, clusters)
    design = np.column_stack([np.ones(y.size), a.astype(float)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = MixedLM(y, design, groups=codes).fit(reml=True)
    est, se = float(res.fe_params[1]), float(res.bse_fe[1])
    low, high, p = _z_interval(est, se, confidence)
    var_patient = float(np.asarray(res.cov_re).ravel()[0])
    total_var = var_patient + float(res.scale)
    # No variance at all (identical values, e.g. noiseless phantoms): the ICC is undefined.
    icc = var_patient / total_var if total_var > 0 else float("nan")
    note = f"REML; model ICC σ²_patient/(σ²_patient + σ²_residual) = {icc:.3f}; {k} patients"
    if caught:
        note += "; statsmodels: " + str(caught[0].message).splitlines()[0]
    return GroupDifference(
        StatisticsMethod.MIXED_MODEL, est, se, low, high, p, int(y.size), k, note
    )


def patient_level_difference(
    values: ArrayLike, in_a: ArrayLike, clusters: ArrayLike, *, confidence: float = 0.95
) -> GroupDifference:
    """Mean per patient, then Student's t on the patient means (≥ 2 patients per group).

    A patient whose lesions fall in both groups contributes one mean to each.
    """
    y, a, codes, k = _inputs(values, in_a, clusters)
    frame = pd.DataFrame({"y": y, "a": a, "c": codes})
    means = frame.groupby(["a", "c"])["y"].mean()
    ma = means.loc[True].to_numpy() if True in means.index.get_level_values(0) else np.array([])
    mb = means.loc[False].to_numpy() if False in means.index.get_level_values(0) else np.array([])
    if ma.size < 2 or mb.size < 2:
        nan = math.nan
        return GroupDifference(
            StatisticsMethod.PATIENT_LEVEL,
            float(ma.mean() - mb.mean()),
            nan,
            nan,
            nan,
            nan,
            int(y.size),
            k,
            f"{ma.size} vs {mb.size} patients: a t-test needs ≥ 2 per group",
        )
    est, se, low, high, p, df = _pooled_t(ma, mb, confidence)
    return GroupDifference(
        StatisticsMethod.PATIENT_LEVEL,
        est,
        se,
        low,
        high,
        p,
        int(y.size),
        k,
        f"Student's t on {ma.size} vs {mb.size} patient means, df = {df}",
    )


def gee_group_comparison(
    lesions: pd.DataFrame,
    metric: str,
    *,
    tracer: str,
    time_h: float | None,
    group_col: str = "her2",
    a: str = "positive",
    b: str = "negative",
    cluster_col: str = "subject",
    confidence: float = 0.95,
    mixed_model: bool = True,
) -> pd.DataFrame:
    """Rows comparing ``metric`` of ``group_col == a`` with ``== b`` lesions, every method.

    Reads the wide lesion table's ``subject``, ``tracer``, ``time_point_h``,
    ``group_col`` and ``metric`` columns (lesions of ``tracer`` at nominal
    ``time_h``). Returns :data:`.clustering.CLUSTERED_STATISTICS_COLUMNS` rows:
    lesion-level Student's t, GEE, mixed model (when ``mixed_model``) and
    patient-level t. A method that cannot be fitted gives a row with a note.
    """
    sub = LesionArm(tracer, time_h).select(lesions, require=(metric, group_col, cluster_col))
    labels = sub[group_col].astype(str)
    sub = sub[labels.isin([a, b]) & sub[metric].notna()]
    if sub.empty:
        return pd.DataFrame(columns=list(statistics_row()))
    y = sub[metric].to_numpy(float)
    in_a = (sub[group_col].astype(str) == a).to_numpy()
    cl = sub[cluster_col].to_numpy(object)
    icc = icc_anova(y, cl, groups=in_a)
    base = {
        "analysis": f"difference in mean {metric}",
        "groups": f"{group_col}={a} vs {group_col}={b}",
        "metric": metric,
        "tracer": tracer,
        "icc": icc,
        "time_h": math.nan if time_h is None else float(time_h),
    }
    fits = [student_difference, gee_difference]
    if mixed_model:
        fits.append(mixed_model_difference)
    fits.append(patient_level_difference)
    rows: list[dict[str, object]] = []
    naive_var = math.nan
    for fit in fits:
        try:
            r = fit(y, in_a, cl, confidence=confidence)
        except (InvalidValueError, np.linalg.LinAlgError, ValueError) as exc:
            rows.append(
                statistics_row(
                    **base,
                    method=_METHOD_OF[fit],
                    n_lesions=len(y),
                    n_patients=len(set(cl)),
                    note=f"not fitted: {exc}",
                )
            )
            continue
        if r.method is StatisticsMethod.LESION_LEVEL:
            naive_var = r.se**2
        deff = (
            r.se**2 / naive_var
            if r.method is not StatisticsMethod.LESION_LEVEL and naive_var > 0
            else math.nan
        )
        rows.append(
            statistics_row(
                **base,
                method=r.method,
                estimate=r.estimate,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p=r.p,
                n_lesions=r.n_lesions,
                n_patients=r.n_patients,
                design_effect=deff,
                note=r.note,
            )
        )
    return pd.DataFrame(rows, columns=list(statistics_row()))


def patient_summary(
    lesions: pd.DataFrame,
    metric: str,
    *,
    tracer: str,
    time_h: float | None,
    group_col: str = "her2",
    cluster_col: str = "subject",
) -> pd.DataFrame:
    """Per-patient summary of ``metric``: the patient-level view beside the lesion table.

    Returns one row per patient (and group, for a patient with lesions in two):
    ``subject, <group_col>, n_lesions, mean, sd, min, max`` of the lesions of
    ``tracer`` at nominal ``time_h`` (SD with ddof = 1, NaN for one lesion).
    """
    sub = LesionArm(tracer, time_h).select(lesions, require=(metric, cluster_col))
    sub = sub[sub[metric].notna()]
    keys = [cluster_col, *([group_col] if group_col in sub.columns else [])]
    out = sub.groupby(keys, dropna=False)[metric].agg(["size", "mean", "std", "min", "max"])
    return out.rename(columns={"size": "n_lesions", "std": "sd"}).reset_index()


_METHOD_OF = {
    student_difference: StatisticsMethod.LESION_LEVEL,
    gee_difference: StatisticsMethod.GEE,
    mixed_model_difference: StatisticsMethod.MIXED_MODEL,
    patient_level_difference: StatisticsMethod.PATIENT_LEVEL,
}
