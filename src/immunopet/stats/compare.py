"""Two-sample comparisons: Student's and Welch's t-tests, paired tests, Mann–Whitney.

All tests are two-tailed. They take raw samples (NaNs dropped) or, for the
t-tests, summary statistics (mean, SD or SEM, n) as a paper prints them —
GraphPad Prism's "t test from mean, SD/SEM and n", i.e.
:func:`scipy.stats.ttest_ind_from_stats`.

References
----------
Student (W. S. Gosset), "The probable error of a mean", Biometrika 6:1–25 (1908).
B. L. Welch, "The generalization of 'Student's' problem when several different
population variances are involved", Biometrika 34:28–35 (1947).
F. Wilcoxon, "Individual comparisons by ranking methods", Biometrics Bull. 1:80–83 (1945).
H. B. Mann & D. R. Whitney, Ann. Math. Stat. 18:50–60 (1947).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from ..core.errors import InvalidValueError
from .descriptive import Spread, as_finite_array, format_p, sd_from_sem

__all__ = [
    "TestResult",
    "mann_whitney",
    "run_test",
    "paired_t_test",
    "student_t_test",
    "t_test_from_summary",
    "welch_t_test",
    "wilcoxon_signed_rank",
]


@dataclass(frozen=True)
class TestResult:
    """Outcome of one two-tailed two-sample test.

    Attributes
    ----------
    test
        ``"student"``, ``"welch"``, ``"paired_t"``, ``"wilcoxon"`` or ``"mann_whitney"``.
    statistic
        t (t-tests), W (Wilcoxon: the smaller signed-rank sum) or U (Mann–Whitney, of sample a).
    p_value
        Two-tailed p.
    n_a, n_b
        Sample sizes (for paired tests: the number of pairs in both).
    df
        Degrees of freedom (t-tests; Welch–Satterthwaite for Welch), NaN otherwise.
    mean_difference
        mean(a) − mean(b) (paired: mean of the differences); NaN for rank tests.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    p_value: float
    n_a: int
    n_b: int
    df: float = float("nan")
    mean_difference: float = float("nan")

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether p < ``alpha``."""
        return self.p_value < alpha

    @property
    def p_text(self) -> str:
        """The p-value as printed in a paper (``"p < 0.0001"``)."""
        return format_p(self.p_value)

    @property
    def label(self) -> str:
        """Human-readable name of the test."""
        return _TEST_LABELS[self.test]


_TEST_LABELS = {
    "student": "two-tailed unpaired Student's t-test",
    "welch": "two-tailed Welch's t-test (unequal variances)",
    "paired_t": "two-tailed paired t-test",
    "wilcoxon": "two-tailed Wilcoxon signed-rank test",
    "mann_whitney": "two-tailed Mann–Whitney U test",
}


def _two_samples(a: ArrayLike, b: ArrayLike, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    xa = as_finite_array(a, name="sample a")
    xb = as_finite_array(b, name="sample b")
    if xa.size < minimum or xb.size < minimum:
        raise InvalidValueError(
            f"each sample needs at least {minimum} values, got {xa.size} and {xb.size}",
            value=(xa.size, xb.size),
        )
    return xa, xb


def _welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    # Welch–Satterthwaite equation (Welch 1947).
    qa, qb = var_a / n_a, var_b / n_b
    return (qa + qb) ** 2 / (qa**2 / (n_a - 1) + qb**2 / (n_b - 1))


def _unpaired_t_test(a: ArrayLike, b: ArrayLike, *, equal_var: bool) -> TestResult:
    xa, xb = _two_samples(a, b, 2)
    res = _sps.ttest_ind(xa, xb, equal_var=equal_var)
    df = (
        float(xa.size + xb.size - 2)
        if equal_var
        else _welch_df(float(xa.var(ddof=1)), xa.size, float(xb.var(ddof=1)), xb.size)
    )
    return TestResult(
        "student" if equal_var else "welch",
        float(res.statistic),
        float(res.pvalue),
        int(xa.size),
        int(xb.size),
        df=df,
        mean_difference=float(xa.mean() - xb.mean()),
    )


def student_t_test(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Two-tailed unpaired Student's t-test (pooled variance) on raw samples."""
    return _unpaired_t_test(a, b, equal_var=True)


def welch_t_test(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Two-tailed Welch's t-test (unequal variances) on raw samples."""
    return _unpaired_t_test(a, b, equal_var=False)


def t_test_from_summary(
    mean_a: float,
    spread_a: float,
    n_a: int,
    mean_b: float,
    spread_b: float,
    n_b: int,
    *,
    spread: Spread = "sd",
    equal_var: bool = True,
) -> TestResult:
    """Two-tailed unpaired t-test from published mean, SD-or-SEM and n.

    Parameters
    ----------
    mean_a, spread_a, n_a, mean_b, spread_b, n_b
        Means, spreads and sample sizes of the two groups.
    spread
        Whether the spreads are standard deviations (``"sd"``) or standard
        errors of the mean (``"sem"``, converted as SD = SEM·√n).
    equal_var
        True: Student's pooled-variance test; False: Welch's test.

    Examples
    --------
    HER2-positive lesions at 24 h vs 48 h (reference study: 7.83 ± 0.55 vs
    5.73 ± 0.47 SEM, n = 18 each, p = 0.0065):

    >>> round(t_test_from_summary(7.83, 0.55, 18, 5.73, 0.47, 18, spread="sem").p_value, 4)
    0.0065
    """
    if n_a < 2 or n_b < 2:
        raise InvalidValueError("a t-test needs n ≥ 2 in each group", value=(n_a, n_b))
    if spread_a < 0 or spread_b < 0:
        raise InvalidValueError("spreads must be ≥ 0", value=(spread_a, spread_b))
    if spread == "sem":
        sd_a, sd_b = sd_from_sem(spread_a, n_a), sd_from_sem(spread_b, n_b)
    elif spread == "sd":
        sd_a, sd_b = float(spread_a), float(spread_b)
    else:
        raise InvalidValueError("spread must be 'sd' or 'sem'", field="spread", value=spread)
    res = _sps.ttest_ind_from_stats(mean_a, sd_a, n_a, mean_b, sd_b, n_b, equal_var=equal_var)
    df = float(n_a + n_b - 2) if equal_var else _welch_df(sd_a**2, n_a, sd_b**2, n_b)
    return TestResult(
        "student" if equal_var else "welch",
        float(res.statistic),
        float(res.pvalue),
        int(n_a),
        int(n_b),
        df=df,
        mean_difference=float(mean_a - mean_b),
    )


def _pairs(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(a, dtype=float).ravel()
    xb = np.asarray(b, dtype=float).ravel()
    if xa.shape != xb.shape:
        raise InvalidValueError(
            f"paired samples must have the same length, got {xa.size} and {xb.size}"
        )
    keep = ~(np.isnan(xa) | np.isnan(xb))  # drop incomplete pairs
    xa, xb = xa[keep], xb[keep]
    if xa.size < 2:
        raise InvalidValueError(f"a paired test needs at least 2 complete pairs, got {xa.size}")
    return xa, xb


def paired_t_test(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Two-tailed paired t-test (e.g. tracer vs FDG SUVmax on the same lesions).

    Pairs with a NaN on either side are dropped.
    """
    xa, xb = _pairs(a, b)
    res = _sps.ttest_rel(xa, xb)
    n = int(xa.size)
    return TestResult(
        "paired_t",
        float(res.statistic),
        float(res.pvalue),
        n,
        n,
        df=float(n - 1),
        mean_difference=float(np.mean(xa - xb)),
    )


def wilcoxon_signed_rank(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Two-tailed Wilcoxon signed-rank test on paired samples.

    scipy's defaults: exact distribution for small samples without ties or
    zero differences, otherwise the normal approximation; zero differences are
    dropped (Wilcoxon's convention, ``zero_method="wilcox"``).
    """
    xa, xb = _pairs(a, b)
    if np.all(xa == xb):
        return TestResult("wilcoxon", 0.0, 1.0, int(xa.size), int(xa.size))
    res = _sps.wilcoxon(xa, xb, zero_method="wilcox", alternative="two-sided")
    return TestResult(
        "wilcoxon",
        float(res.statistic),
        float(res.pvalue),
        int(xa.size),
        int(xa.size),
        mean_difference=float(np.mean(xa - xb)),
    )


def mann_whitney(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Two-tailed Mann–Whitney U test (scipy's method choice: exact when small, no ties).

    The statistic is U of sample ``a``; U / (n_a·n_b) is the ROC AUC of ``a``
    over ``b`` (:func:`immunopet.stats.roc.roc_auc`).
    """
    xa, xb = _two_samples(a, b, 1)
    res = _sps.mannwhitneyu(xa, xb, alternative="two-sided")
    return TestResult(
        "mann_whitney",
        float(res.statistic),
        float(res.pvalue),
        int(xa.size),
        int(xb.size),
    )


def run_test(test: str, a: ArrayLike, b: ArrayLike) -> TestResult:
    """Dispatch by name: ``student``, ``welch``, ``paired_t``, ``wilcoxon``, ``mann_whitney``."""
    funcs = {
        "student": student_t_test,
        "welch": welch_t_test,
        "paired_t": paired_t_test,
        "wilcoxon": wilcoxon_signed_rank,
        "mann_whitney": mann_whitney,
    }
    if test not in funcs:
        raise InvalidValueError(
            f"unknown test {test!r}; choose one of {sorted(funcs)}", field="test", value=test
        )
    return funcs[test](a, b)
