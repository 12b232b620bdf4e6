"""The report's sections: tables and figures built from the result tables.

Each ``*_section`` function takes DataFrames (any of them may be ``None``) and
returns a :class:`Section`; a section whose inputs are missing carries a note
saying which table it needs instead of content.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.schema import RegionKind
from ..stats import (
    describe,
    format_p,
    lesion_table,
    roc_analysis,
)
from ..stats.descriptive import Spread
from ..stats.lesions import tracer_matches
from . import figures
from .findings import group_label, humanise_groups, metric_label

__all__ = ["Figure", "Section", "Table", "fmt", "frame_table", "missing"]


@dataclass(frozen=True)
class Table:
    """A table already formatted as text cells (escaped by the template)."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """An embedded PNG (base64 data URI) with its caption."""

    png: bytes
    caption: str = ""

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    """One titled section of the report."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    note: str = ""


def fmt(value: Any, digits: int = 2) -> str:
    """A cell: numbers to ``digits`` decimals, NaN/None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "–"
        if value != 0 and not 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"  # 1.2e+09 Bq·h, not a 13-digit number
        return f"{value:.{digits}f}"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def frame_table(df: pd.DataFrame, caption: str = "", digits: int = 2) -> Table:
    return Table(
        [str(c) for c in df.columns],
        [[fmt(v, digits) for v in row] for row in df.itertuples(index=False)],
        caption,
    )


def missing(id_: str, title: str, *tables: str) -> Section:
    names = ", ".join(f"tables/{t}.parquet" for t in tables)
    return Section(id_, title, note=f"Not available: this run wrote no {names}.")


# --- cohort and lesions ----------------------------------------------------------------------


def findings_section(lines: list[tuple[str, str]]) -> Section:
    """The report's opening table: the run's headline (:func:`~.findings.key_findings`)."""
    if not lines:
        return Section("findings", "Key findings", note="No headline: the run has no statistics.")
    return Section(
        "findings",
        "Key findings",
        tables=[Table(["", "result"], [[a, b] for a, b in lines],
                      "Read back from this run's tables (lesion-level analysis, as in the paper).")],
    )  # fmt: skip


def cohort_section(subjects: pd.DataFrame | None, lesions_wide: pd.DataFrame | None) -> Section:
    """The cohort table: one row per subject with sex, group labels and lesion count."""
    if subjects is None or subjects.empty:
        return missing("cohort", "Cohort", "subjects")
    table = subjects.copy()
    if lesions_wide is not None and not lesions_wide.empty:
        counts = lesions_wide.groupby("subject")["region"].nunique().rename("lesions")
        table = table.merge(counts, left_on="subject", right_index=True, how="left")
        table["lesions"] = table["lesions"].fillna(0).astype(int)
    return Section("cohort", "Cohort", tables=[frame_table(table, f"{len(table)} subjects")])


def lesion_section(
    lesions_wide: pd.DataFrame | None, group_key: str | None, metric: str = "suv_max"
) -> Section:
    """Per-lesion uptake (``metric``, SUVmax by default) by tracer and time point, and its figure."""
    label = metric_label(metric)
    if lesions_wide is None or lesions_wide.empty or metric not in lesions_wide:
        return missing("lesions", f"Lesion {label} by time point", "measurements")
    lw = lesions_wide.copy()
    lw["column"] = lw["tracer"] + " " + lw["time_point_h"].map(lambda t: f"{t:g} h")
    index = ["subject", "region"] + ([group_key] if group_key and group_key in lw else [])
    for col in index:  # a missing label must not drop the lesion from the pivot
        lw[col] = lw[col].astype(object).where(lw[col].notna(), "–")
    wide = lw.pivot_table(index=index, columns="column", values=metric, aggfunc="first")
    order = lw.sort_values(["tracer", "time_point_h"])["column"].drop_duplicates().tolist()
    wide = wide[[c for c in order if c in wide.columns]].reset_index()
    wide.columns.name = None
    main = lw[~lw["tracer"].str.contains("FDG", case=False)]
    figs = []
    if not main.empty:
        figs.append(
            Figure(
                figures.lesion_suvmax_figure(main, group_key=group_key, metric=metric),
                f"{label} of each lesion against time post-injection (one line per lesion).",
            )
        )
    return Section(
        "lesions",
        f"Lesion {label} by time point",
        tables=[frame_table(wide, f"{len(wide)} lesions; {label} per scan")],
        figures=figs,
    )


def dot_plot_section(
    lesions_wide: pd.DataFrame | None,
    group_key: str | None,
    *,
    positive: str = "positive",
    time_h: float = 24.0,
    reference_tracer: str = "FDG",
    spread: Spread = "sd",
    metric: str = "suv_max",
) -> Section:
    """Fig-5-style dot plots: tracer HER2+ vs HER2− at ``time_h``, FDG, tracer vs FDG.

    Figure bars are always mean ± SD; the table gives mean ± ``spread`` (named).
    """
    title = f"Lesion {metric_label(metric)} by group: tracer vs FDG (Fig. 5 style)"
    if lesions_wide is None or lesions_wide.empty or not group_key or group_key not in lesions_wide:
        return Section("dotplot", title, note="Not available: no lesions with group labels.")
    lw = lesions_wide[lesions_wide[group_key].notna()]
    is_ref = lw["tracer"].str.contains(reference_tracer, case=False, regex=False)
    tracer_rows, ref_rows = lw[~is_ref], lw[is_ref]
    if tracer_rows.empty:
        return Section("dotplot", title, note="Not available: no non-reference tracer scans.")
    tracer = tracer_rows["tracer"].iloc[0]
    tps = np.asarray(sorted(tracer_rows["time_point_h"].unique()), dtype=float)
    tp = float(tps[np.argmin(np.abs(tps - time_h))])
    at = tracer_rows[np.isclose(tracer_rows["time_point_h"], tp)]
    neg_values = [g for g in lw[group_key].astype(str).unique() if g != positive]
    negative = neg_values[0] if neg_values else "negative"

    def values(df: pd.DataFrame, g: str) -> np.ndarray:
        return df.loc[df[group_key].astype(str) == g, metric].to_numpy(float)

    short = {positive: group_label(group_key, positive), negative: group_label(group_key, negative)}
    panels = [(f"{tracer} {tp:g} h", short[positive], values(at, positive),
               short[negative], values(at, negative))]  # fmt: skip
    if not ref_rows.empty:
        ref = ref_rows["tracer"].iloc[0]
        panels += [
            (ref, short[positive], values(ref_rows, positive), short[negative], values(ref_rows, negative)),
            (f"{short[negative]} lesions", tracer, values(at, negative), ref, values(ref_rows, negative)),
            (f"{short[positive]} lesions", tracer, values(at, positive), ref, values(ref_rows, positive)),
        ]  # fmt: skip
    png, ptexts = figures.dot_plot_figure(panels)
    rows = []
    for (ttl, la, va, lb, vb), p in zip(panels, ptexts, strict=True):
        da, db = describe(va), describe(vb)
        rows.append([ttl, f"{la}: {da.format(spread)}", f"{lb}: {db.format(spread)}", p])
    table = Table(
        ["panel", "arm a", "arm b", "two-tailed unpaired Student's t"],
        rows,
        f"Mean ± {spread.upper()}; bars in the figure are mean ± SD.",
    )
    return Section(
        "dotplot",
        title,
        tables=[table],
        figures=[
            Figure(png, "Each dot is a lesion; p from two-tailed unpaired Student's t-tests.")
        ],
    )


def statistics_section(statistics: pd.DataFrame | None, lesions_wide: pd.DataFrame | None,
                       group_key: str | None, positive: str = "positive",
                       spread: Spread = "sd") -> Section:  # fmt: skip
    """The statistics table (comparisons, detection, ROC, cutoffs) and a ROC curve."""
    if statistics is None or statistics.empty:
        return missing("statistics", "Statistics", "statistics")
    sec = Section("statistics", "Statistics")
    comp = statistics[statistics["kind"] == "comparison"]
    sa, sb, label = f"{spread}_a", f"{spread}_b", spread.upper()
    if not comp.empty:
        rows = [
            [humanise_groups(r.analysis), r.test, fmt(r.n_a, 0),
             f"{fmt(r.mean_a)} ± {fmt(getattr(r, sa))}",
             fmt(r.n_b, 0), f"{fmt(r.mean_b)} ± {fmt(getattr(r, sb))}", fmt(r.statistic, 3),
             fmt(r.df, 1), format_p(r.p_value) if pd.notna(r.p_value) else "–", r.note or ""]
            for r in comp.itertuples(index=False)
        ]  # fmt: skip
        sec.tables.append(
            Table(
                [
                    "comparison",
                    "test",
                    "n a",
                    f"a (mean ± {label})",
                    "n b",
                    f"b (mean ± {label})",
                    "statistic",
                    "df",
                    "p (two-tailed)",
                    "note",
                ],
                rows,
                f"Group comparisons; spread is the {label}.",
            )  # fmt: skip
        )
    det = statistics[statistics["kind"] == "detection"]
    computed = det[det["estimate"].notna()]
    for r in det[det["estimate"].isna()].itertuples(index=False):
        sec.paragraphs.append(f"Detection sensitivity of {r.tracer_a} not computed: {r.note}")
    if not computed.empty:
        rows = [
            [r.tracer_a, fmt(r.time_a_h, 0), humanise_groups(r.group_a),
             f"{fmt(r.statistic, 0)}/{fmt(r.n_a, 0)}", f"{100 * r.estimate:.1f} %",
             f"{100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %"]
            for r in computed.itertuples(index=False)
        ]  # fmt: skip
        notes = sorted({str(n) for n in computed["note"] if n})
        sec.tables.append(
            Table(
                ["tracer", "time (h)", "group", "detected", "sensitivity", "95 % CI (Wilson)"],
                rows,
                "Detection sensitivity; " + "; ".join(notes),
            )  # fmt: skip
        )
    roc = statistics[statistics["kind"].isin(["roc", "cutoff"])]
    if not roc.empty:
        rows = [
            [humanise_groups(r.analysis), fmt(r.n_a, 0), fmt(r.estimate, 3),
             f"{fmt(r.ci_low, 3)}–{fmt(r.ci_high, 3)}", r.note or ""]
            for r in roc.itertuples(index=False)
        ]  # fmt: skip
        sec.tables.append(
            Table(
                ["analysis", "n", "estimate", "95 % CI", "note"],
                rows,
                "ROC AUC (DeLong CI) and sensitivity/specificity at cutoffs (Wilson CIs).",
            )  # fmt: skip
        )
        curves = roc[roc["kind"] == "roc"]
        cut_rows = roc[roc["kind"] == "cutoff"]
        if not cut_rows.empty:  # one curve per time point a cutoff is read at (the paper's 24 h)
            times = sorted(set(cut_rows["time_a_h"].astype(float)))
            curves = curves[curves["time_a_h"].astype(float).isin(times)]
        else:
            curves = curves.sort_values("estimate", ascending=False, kind="stable").head(1)
        if lesions_wide is not None and group_key in lesions_wide:
            for r in curves.itertuples(index=False):
                sub = lesions_wide[tracer_matches(lesions_wide["tracer"], str(r.tracer_a))
                                   & np.isclose(lesions_wide["time_point_h"], r.time_a_h)]  # fmt: skip
                is_pos = sub[group_key].astype(str) == positive
                x = sub.loc[is_pos, r.metric]
                y = sub.loc[~is_pos & sub[group_key].notna(), r.metric]
                if len(x.dropna()) and len(y.dropna()):
                    res = roc_analysis(x, y)
                    sec.figures.append(
                        Figure(figures.roc_figure(res, title=humanise_groups(r.analysis)),
                               f"ROC of {metric_label(str(r.metric))} at {r.time_a_h:g} h; dot: "
                               f"Youden-optimal cutoff {res.youden.cutoff:.3g}.")
                    )  # fmt: skip
    clustered = statistics[statistics["kind"] == "clustered"]
    if not clustered.empty:
        _clustered_part(sec, clustered, positive, group_key)
    return sec


def _clustered_part(sec: Section, clustered: pd.DataFrame, positive: str,
                    group_key: str | None) -> None:  # fmt: skip
    """The patient-clustered analysis beside the lesion-level one, and why they differ."""
    from ..stats.clustered_table import clustering_sentence

    times = sorted(set(pd.to_numeric(clustered["time_h"], errors="coerce").dropna()))
    at = 24.0 if 24.0 in times else (times[0] if times else 24.0)
    sentence = clustering_sentence(
        clustered, analysis="detection sensitivity", time_h=at,
        groups=f"{group_key or 'her2'}={positive}",
    )  # fmt: skip
    if sentence:
        sec.paragraphs.append(humanise_groups(sentence))
    rows = [
        [humanise_groups(r.analysis), r.method, humanise_groups(r.groups), fmt(r.time_h, 0),
         fmt(r.estimate, 3), f"{fmt(r.ci_low, 3)}–{fmt(r.ci_high, 3)}",
         format_p(r.p) if pd.notna(r.p) else "–", fmt(r.n_lesions, 0), fmt(r.n_patients, 0),
         fmt(r.design_effect, 2), fmt(r.icc, 2)]
        for r in clustered.itertuples(index=False)
    ]  # fmt: skip
    sec.tables.append(
        Table(
            [
                "analysis",
                "method",
                "groups",
                "time (h)",
                "estimate",
                "95 % CI",
                "p",
                "lesions",
                "patients",
                "design effect",
                "ICC",
            ],
            rows,
            "Lesions nested in patients: the lesion-level analysis (the paper's) beside "
            "patient-clustered ones.",
        )  # fmt: skip
    )


# --- tumour-to-normal ratios ----------------------------------------------------------------


def tnr_section(lesions_wide: pd.DataFrame | None, group_key: str | None = None) -> Section:
    """Lesion tumour-to-normal ratios vs time, per reference region and lesion group."""
    title = "Tumour-to-normal ratios"
    if lesions_wide is None or lesions_wide.empty:
        return missing("tnr", title, "measurements")
    cols = [c for c in lesions_wide.columns if str(c).startswith("tnr_")]
    main = lesions_wide[~lesions_wide["tracer"].str.contains("FDG", case=False)].copy()
    if not cols or main.empty:
        return Section("tnr", title, note="Not available: no tnr_* lesion metrics measured.")
    main["group"] = (
        (group_key + " " + main[group_key].astype(str)).where(main[group_key].notna(), "–")
        if group_key and group_key in main
        else ""
    )
    long = main.melt(id_vars=["subject", "region", "time_point_h", "group"], value_vars=cols,
                     var_name="metric", value_name="value").dropna(subset=["value"])  # fmt: skip
    agg = (long.groupby(["metric", "group", "time_point_h"])["value"]
           .agg(n="count", median="median", min="min", max="max").reset_index())  # fmt: skip
    return Section(
        "tnr", title,
        tables=[frame_table(agg, "Lesion-to-reference ratios: median and range over lesions")],
        figures=[Figure(figures.tnr_figure(long), "Median (line) and range (band) over lesions.")],
    )  # fmt: skip


# --- images -----------------------------------------------------------------------------------


def mip_section(mip_dir: Path) -> Section:
    """Maximum-intensity projections saved by the pipeline as ``mip/*.png``."""
    title = "Maximum-intensity projections"
    pngs = sorted(mip_dir.glob("*.png")) if mip_dir.is_dir() else []
    if not pngs:
        return Section("mip", title, note="Not available: this run saved no mip/*.png images.")
    return Section(
        "mip", title,
        figures=[Figure(p.read_bytes(), p.stem.replace("_", " ")) for p in pngs],
        paragraphs=["Anterior MIPs; red contours outline the lesions."],
    )  # fmt: skip


def build_lesions(measurements: pd.DataFrame | None, subjects: pd.DataFrame | None,
                  lesions: pd.DataFrame | None) -> pd.DataFrame | None:  # fmt: skip
    """The wide lesion table of :func:`immunopet.stats.lesion_table`, or None."""
    if measurements is None or measurements.empty:
        return None
    if not (measurements["region_kind"] == RegionKind.LESION).any():
        return None
    return lesion_table(measurements, subjects, lesions)
