"""Per-time-point group comparisons for the preclinical (animal) arm.

The reference study compares tumour %ID/g and tumour-to-muscle ratios of each
group with the 124I-trastuzumab HER2-positive group at each time point with
two-tailed unpaired Student's t-tests (Methods, "Statistical analysis"). The
same is done here, from per-animal values or from published summaries
(mean, SD or SEM, n).
"""

from __future__ import annotations

import pandas as pd

from ..core.errors import InvalidValueError, MissingFieldError
from .compare import TestResult, run_test, t_test_from_summary
from .descriptive import Spread, describe

__all__ = ["per_time_point_tests", "tumour_to_muscle"]

_TUMOUR_NAMES = ("tumour", "tumor")


def tumour_to_muscle(
    table: pd.DataFrame,
    *,
    animal_col: str = "animal",
    time_col: str = "time_h",
    region_col: str = "region",
    value_col: str = "value",
    tumour: str | None = None,
    muscle: str = "muscle",
) -> pd.DataFrame:
    """Per-animal tumour/muscle ratios from a tidy table of region %ID/g.

    Returns the rows of the tumour region with ``value`` replaced by
    tumour / muscle of the same animal and time (``metric = "tumour_to_muscle"``).
    """
    for col in (animal_col, time_col, region_col, value_col):
        if col not in table.columns:
            raise MissingFieldError(f"the preclinical table has no column {col!r}", field=col)
    regions = table[region_col].astype(str)
    tumour_mask = regions.eq(tumour) if tumour else regions.str.lower().isin(_TUMOUR_NAMES)
    t = table[tumour_mask]
    m = table[regions.eq(muscle)][[animal_col, time_col, value_col]]
    merged = t.merge(m, on=[animal_col, time_col], suffixes=("", "_muscle"))
    merged[value_col] = merged[value_col] / merged[f"{value_col}_muscle"]
    merged = merged.drop(columns=[f"{value_col}_muscle"])
    merged["metric"] = "tumour_to_muscle"
    if "unit" in merged.columns:
        merged["unit"] = "ratio"
    return merged


def per_time_point_tests(
    table: pd.DataFrame,
    *,
    group_col: str = "group",
    time_col: str = "time_h",
    value_col: str = "value",
    reference_group: str | None = None,
    test: str = "student",
    spread: Spread = "sd",
) -> pd.DataFrame:
    """Compare every group with a reference group at each time point.

    Parameters
    ----------
    table
        Either per-animal values (columns ``group_col``, ``time_col``, ``value_col``)
        or summaries (columns ``group_col``, ``time_col``, ``mean``, ``n`` and ``sd``
        or ``sem``; then ``test`` must be ``"student"`` or ``"welch"``).
    reference_group
        Group every other group is compared with (default: the first group in
        order of appearance).
    test
        ``"student"`` (the paper's), ``"welch"`` or ``"mann_whitney"``.
    spread
        For summary input without an ``sd``/``sem`` column choice: which one ``spread`` holds.

    Returns
    -------
    pandas.DataFrame
        One row per time point and compared group: ``time_h, group_a, group_b,
        n_a, mean_a, sd_a, sem_a, n_b, mean_b, sd_b, sem_b, test, statistic, df, p_value``.
    """
    for col in (group_col, time_col):
        if col not in table.columns:
            raise MissingFieldError(f"the group table has no column {col!r}", field=col)
    summary_input = "mean" in table.columns and "n" in table.columns
    if not summary_input and value_col not in table.columns:
        raise MissingFieldError(f"the group table has no column {value_col!r}", field=value_col)
    groups = list(dict.fromkeys(table[group_col].astype(str)))
    if len(groups) < 2:
        return pd.DataFrame()
    ref = reference_group if reference_group is not None else groups[0]
    if ref not in groups:
        raise InvalidValueError(
            f"reference group {ref!r} is not among {groups}", field=group_col, value=ref
        )
    rows = []
    for time_h, at_time in table.groupby(time_col, sort=True):
        by_group = {str(g): sub for g, sub in at_time.groupby(group_col, sort=False)}
        if ref not in by_group:
            continue
        for other in groups:
            if other == ref or other not in by_group:
                continue
            a, b = by_group[ref], by_group[other]
            if summary_input:
                sa, sb = _summary_row(a, spread), _summary_row(b, spread)
                if test not in ("student", "welch"):
                    raise InvalidValueError(
                        "summary data only allow 'student' or 'welch'", field="test", value=test
                    )
                res: TestResult = t_test_from_summary(
                    sa["mean"], sa["sd"], sa["n"], sb["mean"], sb["sd"], sb["n"],
                    spread="sd", equal_var=test == "student",
                )  # fmt: skip
            else:
                da, db = describe(a[value_col]), describe(b[value_col])
                sa = {"n": da.n, "mean": da.mean, "sd": da.sd, "sem": da.sem}
                sb = {"n": db.n, "mean": db.mean, "sd": db.sd, "sem": db.sem}
                if min(da.n, db.n) < 2:
                    continue
                res = run_test(test, a[value_col], b[value_col])
            rows.append(
                {
                    "time_h": float(time_h),
                    "group_a": ref,
                    "group_b": other,
                    **{f"{k}_a": v for k, v in sa.items()},
                    **{f"{k}_b": v for k, v in sb.items()},
                    "test": res.test,
                    "statistic": res.statistic,
                    "df": res.df,
                    "p_value": res.p_value,
                }
            )
    return pd.DataFrame(rows)


def _summary_row(rows: pd.DataFrame, spread: Spread) -> dict[str, float]:
    row = rows.iloc[0]
    n = int(row["n"])
    if "sd" in rows.columns and pd.notna(row["sd"]):
        sd = float(row["sd"])
    elif "sem" in rows.columns and pd.notna(row["sem"]):
        sd = float(row["sem"]) * n**0.5
    elif "spread" in rows.columns:
        sd = float(row["spread"]) * (n**0.5 if spread == "sem" else 1.0)
    else:
        raise MissingFieldError("summary rows need an 'sd' or 'sem' column", field="sd")
    return {"n": n, "mean": float(row["mean"]), "sd": sd, "sem": sd / n**0.5}
