"""Report section on the preclinical arm: %ID/g and tumour/muscle with per-time-point tests.

Two kinds of input: the table measured from the animal images (metric
``tumour_to_muscle`` present: :func:`_image_section` shows the %ID/g and T/M
tables beside the figure and the paper's comparisons), or uptake values and
published summaries given in the study (per-animal or mean/SD/n rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.schema import Metric
from ..stats import format_p, per_time_point_tests, tumour_to_muscle
from ..stats.preclinical import paper_pairs, preclinical_comparisons
from . import figures
from .sections import Figure, Section, Table, fmt, frame_table, missing

__all__ = ["preclinical_section"]


_PRECLINICAL_LABELS = {
    "percent_id_per_g": "tumour uptake (%ID/g)",
    "tumour_to_muscle": "tumour/muscle",
}


def _preclinical_long(pre: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Normalise the preclinical table: (per-animal long table or summaries, is_summary)."""
    df = pre.copy()
    if "time_h" not in df.columns and "time" in df.columns:
        from ..study import parse_time_label_h

        df["time_h"] = df["time"].map(lambda t: parse_time_label_h(str(t)))
    if {"mean", "n"} <= set(df.columns):
        if "metric" not in df.columns:
            df["metric"] = "percent_id_per_g"
        return df, True
    if "value" not in df.columns and "percent_id_per_g" in df.columns:
        df["value"] = df["percent_id_per_g"]
        df["metric"] = "percent_id_per_g"
    if "metric" not in df.columns:
        df["metric"] = "percent_id_per_g"
    parts = []
    pidg = df[df["metric"] == Metric.PERCENT_ID_PER_G]
    if "region" in df.columns:
        if "animal" in df.columns and pidg["region"].eq("muscle").any():
            parts.append(tumour_to_muscle(pidg))
        pidg = pidg[pidg["region"].astype(str).str.lower().isin(("tumour", "tumor"))]
    parts.insert(0, pidg)
    parts.append(df[df["metric"] != "percent_id_per_g"])
    return pd.concat(parts, ignore_index=True), False


def _reference_group(df: pd.DataFrame, is_summary: bool) -> str:
    """The group the others are compared with: highest mean tumour %ID/g (specific binding)."""
    first = df[df["metric"] == df["metric"].iloc[0]]
    column = "mean" if is_summary else "value"
    return str(first.groupby("group", sort=False)[column].mean().idxmax())


def preclinical_section(pre: pd.DataFrame | None) -> Section:
    """%ID/g and tumour/muscle by group and time, with per-time-point Student's t-tests."""
    title = "Preclinical arm"
    if pre is None or pre.empty:
        return missing("preclinical", title, "preclinical")
    if {"metric", "value", "region"} <= set(pre.columns) and pre["metric"].eq(
        "tumour_to_muscle"
    ).any():
        return _image_section(pre, title)
    df, is_summary = _preclinical_long(pre)
    summaries, tests = [], []
    reference = _reference_group(df, is_summary)
    for metric, sub in df.groupby("metric", sort=False):
        if is_summary:
            s = sub.copy()
            if "sd" not in s.columns:
                s["sd"] = s["sem"] * np.sqrt(s["n"])
        else:
            s = (sub.groupby(["group", "time_h"], sort=False)["value"]
                 .agg(mean="mean", sd=lambda v: v.std(ddof=1), n="count").reset_index())  # fmt: skip
        s["metric"] = metric
        summaries.append(s[["metric", "group", "time_h", "mean", "sd", "n"]])
        t = per_time_point_tests(sub if not is_summary else s, reference_group=reference)
        if not t.empty:
            t.insert(0, "metric", metric)
            tests.append(t)
    summary = pd.concat(summaries, ignore_index=True)
    sec = Section(title=title, id="preclinical")
    sec.figures.append(Figure(figures.preclinical_figure(summary, ylabels=_PRECLINICAL_LABELS),
                              "Mean ± SD per group and time point."))  # fmt: skip
    sec.tables.append(frame_table(summary, "Mean ± SD per group (SD with ddof = 1)"))
    if tests:
        t = pd.concat(tests, ignore_index=True)
        rows = [[r.metric, fmt(r.time_h, 0), r.group_a, r.group_b,
                 f"{fmt(r.mean_a)} ± {fmt(r.sd_a)}", f"{fmt(r.mean_b)} ± {fmt(r.sd_b)}",
                 fmt(r.statistic, 3), format_p(r.p_value)] for r in t.itertuples(index=False)]  # fmt: skip
        sec.tables.append(Table(["metric", "time (h)", "group a", "group b", "a (mean ± SD)",
                                 "b (mean ± SD)", "t", "p (two-tailed Student's t)"], rows,
                                f"Per-time-point comparisons with {reference} (highest mean uptake)."))  # fmt: skip
    return sec


#: (region, metric) shown from image measurements, with their table titles.
_IMAGE_METRICS = (
    ("tumour", "percent_id_per_g", "Tumour uptake (%ID/g)"),
    ("tumour", "tumour_to_muscle", "Tumour/muscle (T/M)"),
    ("muscle", "percent_id_per_g", "Muscle uptake (%ID/g)"),
    ("liver", "percent_id_per_g", "Liver uptake (%ID/g)"),
)


def _image_section(pre: pd.DataFrame, title: str) -> Section:
    """%ID/g and T/M measured from the images: figure, wide tables, the paper's t-tests."""
    sec = Section(title=title, id="preclinical")
    sec.paragraphs.append(
        "Measured from the micro-PET images: tumour VOI grown from the hottest voxel near "
        "the given seed (voxels at or above a fixed fraction of its maximum), muscle and liver "
        "spheres; mean %ID/g decay-corrected to each animal's injection, per animal's "
        "injected activity, tissue density as set in the study. No partial-volume "
        "correction: a tumour of a few millimetres reads below its true concentration "
        "(scanner resolution and positron range: about half of it for a 6 mm tumour "
        "imaged with 124I), as ROI values on micro-PET images do."
    )
    summaries = []
    groups = list(dict.fromkeys(pre["group"].astype(str)))
    for region, metric, caption in _IMAGE_METRICS:
        sub = pre[(pre["region"] == region) & (pre["metric"] == metric)]
        if sub.empty:
            continue
        s = (sub.groupby(["group", "time_h"], sort=False)["value"]
             .agg(mean="mean", sd=lambda v: v.std(ddof=1), n="count").reset_index())  # fmt: skip
        s["metric"] = metric if region == "tumour" else f"{region}_{metric}"
        summaries.append(s)
        times = sorted(s["time_h"].unique())
        cells = {(r.group, r.time_h): f"{fmt(r.mean)} ± {fmt(r.sd)}" for r in s.itertuples()}
        rows = [[g, *[cells.get((g, t), "–") for t in times]] for g in groups]
        n = int(s["n"].max())
        sec.tables.append(Table(["group", *[f"{fmt(t, 0)} h" for t in times]], rows,
                                f"{caption}: mean ± SD (ddof = 1), n ≤ {n} animals per cell"))  # fmt: skip
    summary = pd.concat(summaries, ignore_index=True)
    shown = summary[summary["metric"].isin(["percent_id_per_g", "tumour_to_muscle"])]
    sec.figures.insert(0, Figure(figures.preclinical_figure(shown, ylabels=_PRECLINICAL_LABELS),
                                 "Tumour %ID/g and T/M, mean ± SD per group and time point."))  # fmt: skip
    if {"tracer", "her2"} <= set(pre.columns):
        # The study's group order is not in the table: list groups by mean tumour %ID/g,
        # so that the specific antibody (highest uptake) is group a of a tracer comparison.
        tumour = pre[(pre["region"] == "tumour") & (pre["metric"] == Metric.PERCENT_ID_PER_G)]
        order = tumour.groupby("group")["value"].mean().sort_values(ascending=False).index
        info = pre.drop_duplicates("group").set_index("group").loc[list(order)].reset_index()
        info = info[["group", "tracer", "her2"]]
        pairs = paper_pairs([{"name": r.group, "tracer": r.tracer, "her2": r.her2}
                             for r in info.itertuples()])  # fmt: skip
    else:
        pairs = []
    tests = preclinical_comparisons(pre, pairs) if pairs else pd.DataFrame()
    if not tests.empty:
        rows = [[r.comparison, r.metric, fmt(r.time_h, 0), f"{fmt(r.mean_a)} ± {fmt(r.sd_a)}",
                 f"{fmt(r.mean_b)} ± {fmt(r.sd_b)}", fmt(r.statistic, 3), format_p(r.p_value)]
                for r in tests.itertuples(index=False)]  # fmt: skip
        sec.tables.append(Table(["comparison", "metric", "time (h)", "a (mean ± SD)",
                                 "b (mean ± SD)", "t", "p (two-tailed Student's t)"], rows,
                                "The paper's comparisons, per time point (tables/"
                                "preclinical_comparisons.parquet)."))  # fmt: skip
    return sec
