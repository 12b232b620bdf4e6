"""The micro-PET arm's comparisons, as the reference study ran them.

Reference study, Methods "Statistical analysis": micro-PET ROI values as
mean ± SD, compared with two-tailed, unpaired Student's t-tests (p < 0.05);
Results: 124I-trastuzumab vs 124I-hIgG1 in the HER2+ PDX (tumour 11.91 ± 1.08
vs 3.83 ± 0.09 %ID/g at 24 h, p = 0.0002) and HER2+ vs HER2− PDX with
124I-trastuzumab (vs 5.05 ± 0.17, p = 0.0004), per time point, for tumour
%ID/g and tumour/muscle.

The pairs follow from the groups' attributes, not their names:
*tracer* comparisons pair groups of one HER2 status with different tracers
(specific vs control antibody), *HER2* comparisons pair groups of one tracer
with different HER2 status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..core.errors import MissingFieldError
from .compare import student_t_test
from .descriptive import describe

__all__ = ["COMPARISON_COLUMNS", "paper_pairs", "preclinical_comparisons"]

COMPARISON_COLUMNS = (
    "comparison", "region", "metric", "time_h", "group_a", "group_b", "n_a", "mean_a", "sd_a",
    "n_b", "mean_b", "sd_b", "test", "statistic", "df", "p_value",
)  # fmt: skip


def paper_pairs(groups: Sequence[Mapping[str, object]]) -> list[tuple[str, str, str]]:
    """(label, group_a, group_b) pairs from group records with ``name, tracer, her2``.

    Group a is the HER2-positive one (HER2 comparisons) or the first listed
    (tracer comparisons; list the specific antibody first, as the study file does).
    """
    pairs = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            if a.get("her2") == b.get("her2") and a.get("tracer") != b.get("tracer"):
                pairs.append((f"{a['tracer']} vs {b['tracer']} ({a.get('her2') or 'all'})",
                              str(a["name"]), str(b["name"])))  # fmt: skip
            elif a.get("tracer") == b.get("tracer") and a.get("her2") != b.get("her2"):
                pos, neg = (a, b) if a.get("her2") == "positive" else (b, a)
                pairs.append((f"HER2+ vs HER2- ({a['tracer']})", str(pos["name"]),
                              str(neg["name"])))  # fmt: skip
    return pairs


def preclinical_comparisons(
    table: pd.DataFrame,
    pairs: Sequence[tuple[str, str, str]],
    *,
    metrics: Sequence[tuple[str, str]] = (
        ("tumour", "percent_id_per_g"),
        ("tumour", "tumour_to_muscle"),
    ),
) -> pd.DataFrame:
    """Two-tailed unpaired Student's t per pair, (region, metric) and time point.

    ``table`` is the tidy ``preclinical`` table (``group, animal, time_h, region,
    metric, value``). Returns :data:`COMPARISON_COLUMNS`; a time point where a
    group has fewer than two animals is skipped.
    """
    for col in ("group", "time_h", "region", "metric", "value"):
        if col not in table.columns:
            raise MissingFieldError(f"the preclinical table has no column {col!r}", field=col)
    rows = []
    for region, metric in metrics:
        sub = table[(table["region"] == region) & (table["metric"] == metric)]
        for time_h, at in sub.groupby("time_h", sort=True):
            by_group = {str(g): s["value"].to_numpy(float) for g, s in at.groupby("group")}
            for label, ga, gb in pairs:
                a, b = by_group.get(ga), by_group.get(gb)
                if a is None or b is None or min(len(a), len(b)) < 2:
                    continue
                da, db, res = describe(a), describe(b), student_t_test(a, b)
                rows.append(dict(
                    comparison=label, region=region, metric=metric, time_h=float(time_h),
                    group_a=ga, group_b=gb, n_a=da.n, mean_a=da.mean, sd_a=da.sd,
                    n_b=db.n, mean_b=db.mean, sd_b=db.sd, test=res.test,
                    statistic=res.statistic, df=res.df, p_value=res.p_value,
                ))  # fmt: skip
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
