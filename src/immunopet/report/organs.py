"""Report sections on organs: time–activity curves and the Table-2-style dose table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.schema import RegionKind
from ..stats import describe, nominal_time_points
from . import figures
from .sections import Figure, Section, Table, fmt, frame_table, missing

__all__ = ["dose_section", "tac_section"]


#: Regions of the reference study's Fig. 2a, shown as curves when measured.
FIG2_REGIONS = ("blood", "thyroid", "liver", "spleen", "kidneys", "urinary_bladder_contents",
                "urinary_bladder_wall")  # fmt: skip


def _nominal(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    if "time_point_h" not in df.columns:
        df["time_point_h"] = np.nan
        for _tracer, idx in df.groupby("tracer").groups.items():
            df.loc[idx, "time_point_h"] = nominal_time_points(df.loc[idx, "time_h"])
    return df


def tac_section(measurements: pd.DataFrame | None, metric: str = "suv_max") -> Section:
    """Organ TACs (SUV) of the non-FDG tracer: median and range across subjects."""
    title = "Organ time–activity curves"
    if measurements is None or measurements.empty:
        return missing("tacs", title, "measurements")
    m = measurements[
        measurements["region_kind"].isin([RegionKind.ORGAN, RegionKind.BLOOD])
        & (measurements["metric"] == metric)
        & ~measurements["tracer"].astype(str).str.contains("FDG", case=False)
    ]
    if m.empty:
        return Section("tacs", title, note=f"Not available: no organ {metric} measurements.")
    m = _nominal(m)
    shown = [r for r in FIG2_REGIONS if r in set(m["region"])] or sorted(m["region"].unique())[:9]
    png = figures.tac_figure(m.loc[m["region"].isin(shown), ["region", "time_point_h", "subject", "value"]],
                             ylabel=metric.replace("_", " "))  # fmt: skip
    agg = m.groupby(["region", "time_point_h"])["value"].agg(["median", "min", "max", "count"])
    cells = agg.apply(
        lambda r: f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})" if r["count"] else "–",
        axis=1,
    ).unstack("time_point_h")
    cells.columns = [f"{t:g} h" for t in cells.columns]
    table = cells.fillna("–").reset_index()
    return Section(
        "tacs", title,
        tables=[frame_table(table, f"Organ {metric}: median (range) across subjects")],
        figures=[Figure(png, f"Organ {metric} against time: median (line) and range (band) "
                             f"across subjects; {', '.join(shown)}.")],
    )  # fmt: skip


def dose_section(doses: pd.DataFrame | None, tias: pd.DataFrame | None) -> Section:
    """Table-2-style organ absorbed doses, effective dose and per-scan mSv.

    The main table is the imaging nuclide with every segmented organ a source. With a
    ``reference_study`` source set the paper's sources give a second column, beside the
    reference study's Table 2 (OLINDA/EXM); other nuclides (therapy predictions) and
    source sets get one effective-dose line each.
    """
    title = "Radiation dosimetry"
    if doses is None or doses.empty:
        sec = missing("dosimetry", title, "doses")
    else:
        doses = _with_defaults(doses)
        imaging = str(doses["nuclide"].iloc[0])
        main = doses[(doses["nuclide"] == imaging) & (doses["source_set"] == "all_segmented")]
        ref = doses[(doses["nuclide"] == imaging) & (doses["source_set"] == "reference_study")]
        sec = Section("dosimetry", title)
        _absorbed_table(sec, main, ref)
        _effective_lines(sec, doses, main, ref, imaging)
        _lesion_table(sec, doses)
    if tias is not None and not tias.empty:
        cols = [c for c in ("subject", "region", "nuclide", "tia_bq_h", "tiac_h", "tiac_h_sd",
                            "model", "effective_half_life_h", "tail_fraction")
                if c in tias]  # fmt: skip
        sec.tables.append(frame_table(tias[cols], "Time-integrated activities", digits=3))
        if "labelling_caveat" in tias and tias["labelling_caveat"].notna().any():
            caveats = tias["labelling_caveat"].dropna().unique()
            sec.paragraphs.append("Therapy prediction, labelling assumption: " + "; ".join(caveats))
    return sec


def _with_defaults(doses: pd.DataFrame) -> pd.DataFrame:
    out = doses.copy()
    if "nuclide" not in out:
        out["nuclide"] = ""
    if "source_set" not in out:
        out["source_set"] = "all_segmented"
    return out


def _absorbed_table(sec: Section, main: pd.DataFrame, ref: pd.DataFrame) -> None:
    from ..dosimetry.dose_tables import REFERENCE_STUDY_TABLE2

    absorbed = main[main["quantity"] == "absorbed_dose"]
    ref_absorbed = ref[ref["quantity"] == "absorbed_dose"]
    per_scan_organ = main[main["quantity"] == "absorbed_dose_per_scan"]
    if absorbed.empty:
        return
    rows = []
    for target, sub in absorbed.groupby("target", sort=False):
        d = describe(sub["value"])
        row = [str(target).replace("_", " "), f"{d.mean:.3g}",
               fmt(d.sd, 3) if d.n > 1 else fmt(_single_sd(sub), 3), str(d.n)]  # fmt: skip
        if not per_scan_organ.empty:
            ps = describe(per_scan_organ.loc[per_scan_organ["target"] == target, "value"])
            row.append(f"{ps.mean:.3g} ({ps.format_range(2)})" if ps.n else "–")
        if not ref_absorbed.empty:
            r = describe(ref_absorbed.loc[ref_absorbed["target"] == target, "value"])
            row.append(f"{r.mean:.3g}" if r.n else "–")
            paper = REFERENCE_STUDY_TABLE2.get(str(target))
            row.append("–" if paper is None else f"{paper:.3g}")
        rows.append(row)
    unit = str(absorbed["unit"].iloc[0]) if "unit" in absorbed else "mGy/MBq"
    columns = ["organ", f"absorbed dose ({unit})", "SD", "n subjects"]
    if not per_scan_organ.empty:
        columns.append("per scan (mGy), mean (range)")
    caption = ("Mean ± SD across subjects (Table 2 style); with one subject the SD is that "
               "dose's own uncertainty. Every segmented organ is a source.")  # fmt: skip
    if not ref_absorbed.empty:
        columns += ["paper's sources (mGy/MBq)", "paper, Table 2 (mGy/MBq)"]
        caption += (" 'Paper's sources': heart, liver, spleen, kidneys and bladder as sources, "
                    "the rest in the remainder of body, as the reference study's OLINDA/EXM run "
                    "(its Table 2, mean of 5 patients, beside).")  # fmt: skip
    sec.tables.append(Table(columns, rows, caption))


def _effective_lines(
    sec: Section, doses: pd.DataFrame, main: pd.DataFrame, ref: pd.DataFrame, imaging: str
) -> None:
    eff = main[main["quantity"] == "effective_dose"]
    if not eff.empty:
        d = describe(eff["value"])
        unit = str(eff["unit"].iloc[0]) if "unit" in eff else "mSv/MBq"
        sd = d.sd if d.n > 1 else _single_sd(eff)
        sec.paragraphs.append(
            f"Effective dose = {d.mean:.4f} ± {fmt(sd, 4)} {unit} (mean ± SD, n = {d.n})."
        )
    ref_eff = ref[ref["quantity"] == "effective_dose"]
    if not ref_eff.empty:
        r = describe(ref_eff["value"])
        sec.paragraphs.append(
            f"With the reference study's source organs (heart, liver, spleen, kidneys, bladder "
            f"+ remainder of body): effective dose = {r.mean:.4f} ± {fmt(r.sd, 4)} mSv/MBq "
            f"(n = {r.n}), beside the paper's 0.30 mSv/MBq (OLINDA/EXM, 5 patients) and "
            f"{describe(eff['value']).mean:.4f} with every segmented organ a source."
        )
    others = doses[(doses["quantity"] == "effective_dose") & (doses["nuclide"] != imaging)]
    for (nuclide, source_set), part in others.groupby(["nuclide", "source_set"], sort=False):
        o = describe(part["value"])
        sec.paragraphs.append(
            f"{nuclide} (predicted from the {imaging} images, {source_set}): effective dose = "
            f"{o.mean:.4f} ± {fmt(o.sd, 4)} mSv/MBq (n = {o.n})."
        )
    per_scan = main[main["quantity"] == "effective_dose_per_scan"]
    if not per_scan.empty:
        d = describe(per_scan["value"])
        sec.paragraphs.append(
            f"Effective dose per scan: {d.minimum:.2f}–{d.maximum:.2f} mSv "
            f"(median {d.median:.2f} mSv, n = {d.n})."
        )
        cols = [c for c in ("subject", "value", "unit") if c in per_scan]
        sec.tables.append(frame_table(per_scan[cols], "Effective dose per scan"))


def _lesion_table(sec: Section, doses: pd.DataFrame) -> None:
    """Lesion self-doses (sphere model), one row per lesion, a column per nuclide."""
    les = doses[doses["quantity"] == "lesion_absorbed_dose"]
    if les.empty:
        return
    scan = doses[doses["quantity"] == "lesion_absorbed_dose_per_scan"]
    rows = []
    for (subject, target), sub in les.groupby(["subject", "target"], sort=False):
        mass = sub["mass_g"].iloc[0] if "mass_g" in sub else float("nan")
        row = [str(subject), str(target), fmt(float(mass), 1)]
        for nuclide in les["nuclide"].unique():
            v = sub[sub["nuclide"] == nuclide]
            p = scan[(scan["subject"] == subject) & (scan["target"] == target)
                     & (scan["nuclide"] == nuclide)]  # fmt: skip
            cell = (
                "–"
                if v.empty
                else f"{float(v['value'].iloc[0]):.3g} ± {fmt(float(v['sd'].iloc[0]), 3)}"
            )
            if not p.empty:
                cell += f" ({float(p['value'].iloc[0]):.3g} mGy)"
            row.append(cell)
        rows.append(row)
    columns = ["subject", "lesion", "mass (g)"] + [
        f"{n} dose (mGy/MBq; per scan)" for n in les["nuclide"].unique()
    ]
    sec.tables.append(
        Table(columns, rows, "Lesion absorbed doses: each lesion's own TIA in a unit-density "
              "sphere of its VOI's volume (self-dose only; electrons absorbed locally, which "
              "overstates sub-gram lesions).")
    )  # fmt: skip


def _single_sd(rows: pd.DataFrame) -> float:
    return float(rows["sd"].iloc[0]) if "sd" in rows and len(rows) == 1 else float("nan")
