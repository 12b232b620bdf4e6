"""Descriptive statistics: n, mean, SD, SEM, median, range — and p-value text.

Every spread is named: a :class:`Summary` prints as ``"7.83 ± 0.55 (mean ± SEM, n = 18)"``,
never a bare ``±``. The SD uses Bessel's correction (``ddof = 1``), as GraphPad
Prism and Excel's ``STDEV`` do; SEM = SD / √n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import InvalidValueError

__all__ = ["Spread", "Summary", "as_finite_array", "describe", "format_p", "sd_from_sem"]

Spread = Literal["sd", "sem"]

_SPREAD_LABEL = {"sd": "SD", "sem": "SEM"}


def as_finite_array(values: ArrayLike, *, name: str = "values") -> np.ndarray:
    """1-D float array of ``values`` with NaNs dropped; non-finite ±inf is an error."""
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[~np.isnan(arr)]
    if not np.all(np.isfinite(arr)):
        raise InvalidValueError(f"{name} contain infinite values", field=name)
    return arr


def sd_from_sem(sem: float, n: int) -> float:
    """Sample SD from a standard error of the mean: SD = SEM · √n."""
    return float(sem) * math.sqrt(n)


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one sample, in the unit of the values.

    Attributes
    ----------
    n
        Number of finite values.
    mean, sd, sem, median, minimum, maximum
        Sample mean, SD (ddof = 1; NaN when n < 2), SEM = SD/√n, median, range.
    unit
        Unit of the values (e.g. ``"SUVbw"``, ``"%ID/g"``).
    """

    n: int
    mean: float
    sd: float
    sem: float
    median: float
    minimum: float
    maximum: float
    unit: str = ""

    def spread(self, which: Spread = "sd") -> float:
        """The SD or the SEM."""
        return self.sd if which == "sd" else self.sem

    def format(self, spread: Spread = "sd", digits: int = 2) -> str:
        """``"mean ± spread (mean ± SD, n = k)"`` with the spread named."""
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{self.mean:.{digits}f} ± {self.spread(spread):.{digits}f}{unit} "
            f"(mean ± {_SPREAD_LABEL[spread]}, n = {self.n})"
        )

    def format_range(self, digits: int = 1) -> str:
        """``"min–max"``."""
        return f"{self.minimum:.{digits}f}–{self.maximum:.{digits}f}"


def describe(values: ArrayLike, *, unit: str = "") -> Summary:
    """n, mean, SD (ddof = 1), SEM, median and range of ``values`` (NaNs dropped).

    Parameters
    ----------
    values
        The sample.
    unit
        Unit carried into the result.

    Returns
    -------
    Summary
        With NaN spread for n < 2 and NaN everything for n = 0.
    """
    arr = as_finite_array(values)
    n = int(arr.size)
    if n == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan, nan, unit)
    sd = float(np.std(arr, ddof=1)) if n > 1 else float("nan")
    return Summary(
        n=n,
        mean=float(np.mean(arr)),
        sd=sd,
        sem=sd / math.sqrt(n) if n > 1 else float("nan"),
        median=float(np.median(arr)),
        minimum=float(np.min(arr)),
        maximum=float(np.max(arr)),
        unit=unit,
    )


def format_p(p_value: float) -> str:
    """A p-value as papers print it (GraphPad style): ``"p < 0.0001"``, ``"p = 0.0065"``.

    Below 0.0001 the value is given as a bound; below 0.01 to four decimals;
    otherwise to three (0.057, 0.350). NaN gives ``"p = n/a"``.
    """
    p = float(p_value)
    if math.isnan(p):
        return "p = n/a"
    if p < 1e-4:
        return "p < 0.0001"
    if p < 0.01:
        return f"p = {p:.4f}"
    return f"p = {p:.3f}"
