"""Lesion detection: the rule that calls a lesion "seen", sensitivity with Wilson CIs.

Detection rule (configurable, :class:`DetectionRule`)
-----------------------------------------------------
* ``kind="ratio"`` (default): a lesion is detected on a scan when its
  lesion-to-background ratio is at least ``threshold`` (default 1.5), the ratio
  being ``metric`` (default ``tnr_background``: SUVmax of the lesion over the
  SUVmean of its local background shell, as :mod:`immunopet.measure` writes it)
  or, when ``background_metric`` is given, ``metric / background_metric``
  (e.g. ``suv_max / background_suv_mean``).
* ``kind="absolute"``: detected when ``metric`` (e.g. ``suv_max``) ≥ ``threshold``.

A lesion of the truth set that has no measurement on a scan (not matched,
outside the field of view) counts as **not detected** on that scan.

Sensitivity = detected / lesions, with the Wilson score interval.

References
----------
E. B. Wilson, "Probable inference, the law of succession, and statistical
inference", J. Am. Stat. Assoc. 22:209–212 (1927).
R. G. Newcombe, "Two-sided confidence intervals for the single proportion:
comparison of seven methods", Stat. Med. 17:857–872 (1998) — method 3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..core.errors import InvalidValueError, MissingFieldError

__all__ = [
    "DetectionRule",
    "Proportion",
    "detected",
    "detection_sensitivity",
    "wilson_bounds",
    "wilson_interval",
]


@dataclass(frozen=True)
class Proportion:
    """A proportion k/n with its confidence interval (fractions, not per cent).

    Attributes
    ----------
    successes, n
        Numerator and denominator.
    estimate
        k / n (NaN when n = 0).
    ci_low, ci_high
        Confidence limits.
    confidence
        Coverage, e.g. 0.95.
    method
        ``"wilson"`` (Wilson 1927; Newcombe 1998 method 3).
    """

    successes: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95
    method: str = "wilson"

    def format(self, digits: int = 1) -> str:
        """``"77.8 % (14/18; 95 % CI 54.8–91.0 %)"``."""
        pct = int(round(self.confidence * 100))
        return (
            f"{100 * self.estimate:.{digits}f} % ({self.successes}/{self.n}; {pct} % CI "
            f"{100 * self.ci_low:.{digits}f}–{100 * self.ci_high:.{digits}f} %)"
        )


def wilson_bounds(p_hat: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score limits of a proportion ``p_hat`` observed on ``n`` (possibly effective) trials.

    ``(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`` (Wilson 1927). ``n`` may be
    a non-integer *effective* sample size n / design effect, as in the Rao–Scott
    adjustment of a clustered proportion (:mod:`.clustered`).
    """
    z = float(norm.ppf(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p_hat + z * z / (2 * n)) / denom
    half = z * math.sqrt(p_hat * (1 - p_hat) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score confidence interval of a binomial proportion.

    ``(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`` with z the
    two-sided normal quantile (Wilson 1927; Newcombe 1998, method 3). Unlike
    the Wald interval it stays inside [0, 1] and is not degenerate at 0/n or n/n.

    Parameters
    ----------
    successes
        Number of successes k (0 ≤ k ≤ n).
    n
        Number of trials.
    confidence
        Two-sided coverage in (0, 1).

    Examples
    --------
    >>> wilson_interval(18, 18).format()
    '100.0 % (18/18; 95 % CI 82.4–100.0 %)'
    """
    if n < 0 or successes < 0 or successes > n:
        raise InvalidValueError(
            f"need 0 ≤ successes ≤ n, got {successes}/{n}", value=(successes, n)
        )
    if not 0 < confidence < 1:
        raise InvalidValueError("confidence must be in (0, 1)", value=confidence)
    if n == 0:
        nan = float("nan")
        return Proportion(0, 0, nan, nan, nan, confidence)
    p = successes / n
    low, high = wilson_bounds(p, n, confidence)
    # Exact endpoints at the boundaries (round-off would give 1 - 1e-17).
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return Proportion(int(successes), int(n), p, low, high, confidence)


@dataclass(frozen=True)
class DetectionRule:
    """When a lesion counts as detected on a scan (see the module docstring).

    Attributes
    ----------
    kind
        ``"ratio"`` (lesion-to-background) or ``"absolute"``.
    threshold
        Detected when the value is ≥ threshold (default 1.5 for a ratio).
    metric
        Column holding the ratio (``tnr_background``) or the absolute value (``suv_max``).
    background_metric
        For ``kind="ratio"``: divide ``metric`` by this column instead of reading a ratio.
    """

    kind: Literal["ratio", "absolute"] = "ratio"
    threshold: float = 1.5
    metric: str = "tnr_background"
    background_metric: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("ratio", "absolute"):
            raise InvalidValueError("kind must be 'ratio' or 'absolute'", value=self.kind)
        if not self.threshold > 0:
            raise InvalidValueError("the detection threshold must be > 0", value=self.threshold)

    @classmethod
    def from_options(cls, options: Any) -> DetectionRule:
        """From a study file's ``statistics.detection`` (``metric``, ``threshold``).

        A metric named ``tnr_*`` or ``*ratio*`` is a ratio rule; anything else absolute.
        """
        if options is None:
            return cls()
        if isinstance(options, DetectionRule):
            return options

        def get(name: str, default: Any) -> Any:
            if isinstance(options, Mapping):  # a study file's JSON/YAML block
                value = options.get(name, default)
            else:
                value = getattr(options, name, default)
            return default if value is None else value

        metric = str(get("metric", "tnr_background"))
        threshold = float(get("threshold", 1.5))
        kind = get("kind", None)
        if kind is None:
            kind = "ratio" if (metric.startswith("tnr") or "ratio" in metric) else "absolute"
        return cls(
            kind=kind,
            threshold=threshold,
            metric=metric,
            background_metric=get("background_metric", None),
        )

    def describe(self) -> str:
        """One sentence for the methods paragraph."""
        if self.kind == "absolute":
            return (
                f"a lesion was counted as detected when its {self.metric} was ≥ {self.threshold:g}"
            )
        ratio = f"{self.metric}/{self.background_metric}" if self.background_metric else self.metric
        return (
            "a lesion was counted as detected when its lesion-to-background ratio "
            f"({ratio}) was ≥ {self.threshold:g}"
        )


def detected(lesions: pd.DataFrame, rule: DetectionRule) -> np.ndarray:
    """Boolean per row of a wide lesion table: does the lesion meet ``rule``?

    Rows with a missing value are not detected.
    """
    needed = [rule.metric] + ([rule.background_metric] if rule.background_metric else [])
    for col in needed:
        if col not in lesions.columns:
            raise MissingFieldError(
                f"the detection rule needs lesion metric {col!r}; measured lesion metrics: "
                f"{sorted(c for c in map(str, lesions.columns) if c.startswith(('tnr_', 'suv_')))}",
                field=col,
            )
    value = lesions[rule.metric].to_numpy(dtype=float)
    if rule.kind == "ratio" and rule.background_metric:
        background = lesions[rule.background_metric].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(background > 0, value / background, np.nan)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nan_to_num(value, nan=-np.inf) >= rule.threshold)


def detection_sensitivity(
    lesions: pd.DataFrame,
    rule: DetectionRule,
    *,
    time_col: str = "time_h",
    lesion_cols: tuple[str, ...] = ("subject", "region"),
    by: tuple[str, ...] = (),
    confidence: float = 0.95,
    universe: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Detection sensitivity per time point (and per ``by`` group), with Wilson CIs.

    Parameters
    ----------
    lesions
        Wide lesion table: one row per lesion and scan, columns ``lesion_cols``,
        ``time_col``, ``by`` and the rule's metric columns.
    rule
        The detection rule.
    time_col
        Column of the (nominal) time point.
    lesion_cols
        Columns identifying a lesion; the denominator of each ``by`` group is
        its number of distinct lesions over all time points (a lesion absent at
        a time point is counted as missed).
    by
        Extra grouping columns, e.g. ``("her2",)``.
    confidence
        Coverage of the Wilson interval.
    universe
        The lesions that should be found (columns ``lesion_cols`` and ``by``), e.g.
        every lesion of the reference (FDG) scan; default: the lesions in ``lesions``.
        Lesions of the universe never measured on a scan count as missed.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, time_h, detected, n, sensitivity, ci_low, ci_high`` (fractions).
    """
    for col in (*lesion_cols, time_col, *by):
        if col not in lesions.columns:
            raise MissingFieldError(f"the lesion table has no column {col!r}", field=col)
    table = lesions.assign(_detected=detected(lesions, rule))
    pool = pd.concat([table, universe], ignore_index=True) if universe is not None else table
    rows = []
    groups = table.groupby(list(by), dropna=False, sort=True) if by else [((), table)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        in_group = pool
        for col, value in zip(by, key, strict=True):
            in_group = in_group[in_group[col].isna() if pd.isna(value) else in_group[col] == value]
        n_lesions = len(in_group[list(lesion_cols)].drop_duplicates())
        for time_h, at_time in sub.groupby(time_col, sort=True):
            hits = at_time.loc[at_time["_detected"], list(lesion_cols)].drop_duplicates()
            prop = wilson_interval(len(hits), n_lesions, confidence)
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "time_h": float(time_h),
                    "detected": prop.successes,
                    "n": prop.n,
                    "sensitivity": prop.estimate,
                    "ci_low": prop.ci_low,
                    "ci_high": prop.ci_high,
                }
            )
    return pd.DataFrame(
        rows, columns=[*by, "time_h", "detected", "n", "sensitivity", "ci_low", "ci_high"]
    )
