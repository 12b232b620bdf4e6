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
    """Table-2-style organ absorbed doses, effective dose and per-scan mSv."""
    title = "Radiation dosimetry"
    if doses is None or doses.empty:
        sec = missing("dosimetry", title, "doses")
    else:
        sec = Section("dosimetry", title)
        absorbed = doses[doses["quantity"] == "absorbed_dose"]
        per_scan_organ = doses[doses["quantity"] == "absorbed_dose_per_scan"]
        if not absorbed.empty:
            rows = []
            for target, sub in absorbed.groupby("target", sort=False):
                d = describe(sub["value"])
                row = [str(target).replace("_", " "), f"{d.mean:.3g}",
                       fmt(d.sd, 3) if d.n > 1 else fmt(_single_sd(sub), 3), str(d.n)]  # fmt: skip
                if not per_scan_organ.empty:
                    ps = describe(per_scan_organ.loc[per_scan_organ["target"] == target, "value"])
                    row.append(f"{ps.mean:.3g} ({ps.format_range(2)})" if ps.n else "–")
                rows.append(row)
            unit = str(absorbed["unit"].iloc[0]) if "unit" in absorbed else "mGy/MBq"
            columns = ["organ", f"absorbed dose ({unit})", "SD", "n subjects"]
            if not per_scan_organ.empty:
                columns.append("per scan (mGy), mean (range)")
            sec.tables.append(
                Table(columns, rows, "Mean ± SD across subjects (Table 2 style); with one "
                      "subject the SD is that dose's own uncertainty.")
            )  # fmt: skip
        eff = doses[doses["quantity"] == "effective_dose"]
        if not eff.empty:
            d = describe(eff["value"])
            unit = str(eff["unit"].iloc[0]) if "unit" in eff else "mSv/MBq"
            sd = d.sd if d.n > 1 else _single_sd(eff)
            sec.paragraphs.append(
                f"Effective dose = {d.mean:.4f} ± {fmt(sd, 4)} {unit} (mean ± SD, n = {d.n})."
            )
        per_scan = doses[doses["quantity"] == "effective_dose_per_scan"]
        if not per_scan.empty:
            d = describe(per_scan["value"])
            sec.paragraphs.append(
                f"Effective dose per scan: {d.minimum:.2f}–{d.maximum:.2f} mSv "
                f"(median {d.median:.2f} mSv, n = {d.n})."
            )
            cols = [c for c in ("subject", "value", "unit") if c in per_scan]
            sec.tables.append(frame_table(per_scan[cols], "Effective dose per scan"))
    if tias is not None and not tias.empty:
        cols = [c for c in ("subject", "region", "nuclide", "tia_bq_h", "tiac_h", "tiac_h_sd",
                            "model", "effective_half_life_h") if c in tias]  # fmt: skip
        sec.tables.append(frame_table(tias[cols], "Time-integrated activities", digits=3))
    return sec


def _single_sd(rows: pd.DataFrame) -> float:
    return float(rows["sd"].iloc[0]) if "sd" in rows and len(rows) == 1 else float("nan")
