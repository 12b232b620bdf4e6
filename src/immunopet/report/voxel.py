"""The report's "Voxel dosimetry" section: a dose map, DVHs, voxel vs sphere vs MIRD doses.

Reads ``tables/voxel_doses`` (dose statistics), ``tables/voxel_dvh`` (cumulative DVHs),
``tables/doses`` (sphere-model lesion doses, MIRD organ doses) and the maps written into
``OUT/voxel/<subject>/`` (:mod:`immunopet.pipeline.voxel_outputs`). Doses are shown per
administered activity (mGy/MBq = Gy/GBq): a predicted therapy nuclide's map is for the same
activity as the imaging, so only the per-MBq values compare.

The discussion states what the methods are and what the numbers show; the reasons it
names are those of the methods (sphere model: the lesion's own TIA, self-dose only, in an
isolated unit-density sphere; MIRD: S values of the ICRP 89 phantom, its organ masses,
photon cross-dose between every pair of organs; voxel: the patient's own voxels, a
soft-tissue kernel of finite extent, PET resolution in the activity maps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .findings import group_label
from .sections import Figure, Section, Table, fmt
from .voxel_discussion import discussion_paragraphs, mass_ratio

__all__ = ["voxel_section"]

TITLE = "Voxel dosimetry"
#: Organs drawn beside the lesions in the DVH figure, when segmented.
DVH_ORGANS = ("liver", "kidneys", "spleen", "red_marrow", "lungs")
#: The metrics of the statistics table, in order.
_STAT_METRICS = ("dose_mean_gy", "dose_max_gy", "d2_gy", "d50_gy", "d98_gy")


def _per_mbq(table: pd.DataFrame) -> pd.DataFrame:
    """Wide voxel statistics in mGy/MBq (Gy / administered MBq × 1000)."""
    idx = ["subject", "region", "region_kind", "nuclide"]
    wide = table.pivot_table(index=idx, columns="metric", values="value", aggfunc="first")
    mbq = table.groupby(idx)["administered_mbq"].first()
    for m in _STAT_METRICS:
        if m in wide:
            wide[m.replace("_gy", "_mgy_per_mbq")] = wide[m] * 1000.0 / mbq
    return wide.reset_index()


def _lesion_status(lesions_wide: pd.DataFrame | None, subjects: pd.DataFrame | None,
                   group_key: str | None) -> dict[tuple[str, str], str]:  # fmt: skip
    """``{(subject, lesion): group value}``: the lesion's own status, else its subject's."""
    out: dict[tuple[str, str], str] = {}
    if group_key and subjects is not None and group_key in subjects:
        by_subject = dict(zip(subjects["subject"].astype(str), subjects[group_key].astype(str),
                              strict=True))  # fmt: skip
        out = {("*", s): v for s, v in by_subject.items()}
    if group_key and lesions_wide is not None and group_key in lesions_wide:
        for r in lesions_wide[["subject", "region", group_key]].dropna().itertuples(index=False):
            out[(str(r[0]), str(r[1]))] = str(r[2])
    return out


def _status(status: Mapping[tuple[str, str], str], subject: str, region: str) -> str:
    return status.get((subject, region), status.get(("*", subject), ""))


def _lesion_table(wide: pd.DataFrame, doses: pd.DataFrame | None, status, group_key):  # type: ignore[no-untyped-def]
    """One row per lesion: per nuclide the voxel statistics, the sphere-model dose and ratio."""
    les = wide[wide["region_kind"] == "lesion"]
    sphere = pd.Series(dtype=float)
    if doses is not None and not doses.empty and "quantity" in doses:
        s = doses[doses["quantity"] == "lesion_absorbed_dose"]
        sphere = s.set_index(["subject", "target", "nuclide"])["value"].astype(float)
    records = []
    for r in les.itertuples(index=False):
        key = (str(r.subject), str(r.region), str(r.nuclide))
        sph = float(sphere.get(key, np.nan)) if len(sphere) else np.nan
        mean = float(r.dose_mean_mgy_per_mbq)
        records.append({"subject": key[0], "region": key[1], "nuclide": key[2],
                        "group": _status(status, key[0], key[1]), "volume_ml": float(r.volume_ml),
                        "voxel": mean, "sphere": sph,
                        "ratio": mean / sph if np.isfinite(sph) and sph > 0 else np.nan,
                        "dx": f"{fmt(float(r.d98_mgy_per_mbq), 2)} / "
                              f"{fmt(float(r.d50_mgy_per_mbq), 2)} / "
                              f"{fmt(float(r.d2_mgy_per_mbq), 2)}"})  # fmt: skip
    rec = pd.DataFrame(records)
    if rec.empty:
        return Table([], []), rec
    nuclides = list(dict.fromkeys(rec["nuclide"]))
    with_sphere = [n for n in nuclides if rec.loc[rec["nuclide"] == n, "sphere"].notna().any()]
    cols = ["subject", "lesion", "group", "volume (mL)"]
    for n in nuclides:
        cols += [f"{n} voxel mean", f"{n} D98 / D50 / D2"]
        if n in with_sphere:
            cols += [f"{n} sphere", f"{n} voxel / sphere"]
    rows = []
    for (subject, region), g in rec.groupby(["subject", "region"], sort=False):
        grp = str(g["group"].iloc[0])
        row = [subject, region, group_label(group_key, grp) if grp else "–",
               fmt(float(g["volume_ml"].iloc[0]), 1)]  # fmt: skip
        by_nuc = g.set_index("nuclide")
        for n in nuclides:
            if n not in by_nuc.index:
                row += ["–", "–"] + (["–", "–"] if n in with_sphere else [])
                continue
            x = by_nuc.loc[n]
            row += [fmt(float(x["voxel"]), 3), str(x["dx"])]
            if n in with_sphere:
                row += [fmt(float(x["sphere"]), 3), fmt(float(x["ratio"]), 2)]
        rows.append(row)
    caption = ("Lesion absorbed doses per administered MBq (mGy/MBq): voxel mean and "
               "D98/D50/D2 (ICRU Report 83) over the lesion's voxels, beside the sphere-model "
               "self-dose of the same nuclide where the run has one (tables/doses).")  # fmt: skip
    return Table(cols, rows, caption), rec


def _organ_table(wide: pd.DataFrame, doses: pd.DataFrame | None):  # type: ignore[no-untyped-def]
    """Organ voxel means beside the MIRD organ doses (all segmented organs as sources)."""
    org = wide[(wide["region_kind"] == "organ") & (wide["voxels"] > 0)]
    if doses is None or doses.empty or "quantity" not in doses:
        return None, pd.DataFrame()
    d = doses[doses["quantity"] == "absorbed_dose"]
    if "source_set" in d:
        d = d[d["source_set"] == "all_segmented"]
    mird = d.set_index(["subject", "target", "nuclide"])["value"].astype(float)
    phantom = str(d["phantom"].dropna().iloc[0]) if "phantom" in d and d["phantom"].notna().any() \
        else "adult"  # fmt: skip
    records = []
    for r in org.itertuples(index=False):
        key = (str(r.subject), str(r.region), str(r.nuclide))
        if key not in mird.index:
            continue
        m = float(mird[key])
        records.append({"subject": key[0], "region": key[1], "nuclide": key[2],
                        "voxel": float(r.dose_mean_mgy_per_mbq), "mird": m,
                        "ratio": float(r.dose_mean_mgy_per_mbq) / m if m > 0 else np.nan,
                        "volume_ml": float(r.volume_ml),
                        "mass_ratio": mass_ratio(key[1], float(r.volume_ml), phantom)})  # fmt: skip
    rec = pd.DataFrame(records)
    if rec.empty:
        return None, rec
    rows = []
    for (region, nuclide), g in rec.groupby(["region", "nuclide"], sort=False):
        ratio = g["ratio"].dropna()
        rng = f"{ratio.median():.2f} ({ratio.min():.2f}–{ratio.max():.2f})" if len(ratio) else "–"
        rows.append([region.replace("_", " "), nuclide, str(len(g)), fmt(g["voxel"].mean(), 3),
                     fmt(g["mird"].mean(), 3), rng, fmt(float(g["mass_ratio"].median()), 2)])  # fmt: skip
    order = np.argsort([-float(r[4]) if r[4] != "–" else 0.0 for r in rows], kind="stable")
    rows = [rows[i] for i in order]
    cols = ["organ", "nuclide", "n subjects", "voxel mean (mGy/MBq)", "MIRD (mGy/MBq)",
            "voxel / MIRD, median (range)", "phantom / patient mass, median"]  # fmt: skip
    caption = ("Organ absorbed doses per administered MBq, mean across subjects: the mean of "
               "the organ's voxel doses beside the MIRD organ dose (S values of the ICRP 89 "
               f"{phantom} phantom, every segmented organ a source). Phantom/patient mass: the "
               "ICRP 89 organ mass over the segmented volume × 1.04 g/cm³ (the kernel's soft "
               "tissue, ICRU Report 44).")  # fmt: skip
    return Table(cols, rows, caption), rec


def _figure_subject(lesions: pd.DataFrame, out_dir: Path) -> tuple[str, str] | None:
    """(subject, lesion) of the hottest positive lesion (else any) that has maps on disk."""
    if lesions.empty:
        return None
    cand = lesions[lesions["nuclide"] == lesions["nuclide"].iloc[0]].copy()
    cand["positive"] = cand["group"].str.lower().isin(["positive", "pos", "+", "true"])
    cand = cand.sort_values(["positive", "voxel"], ascending=False)
    for r in cand.itertuples(index=False):
        if (out_dir / "voxel" / str(r.subject) / "voxel.json").is_file():
            return str(r.subject), str(r.region)
    return None


def _dose_map(out_dir: Path, subject: str, lesion: str) -> list[Figure]:
    from ..io import read_nifti
    from .voxel_figures import dose_map_figure

    folder = out_dir / "voxel" / subject
    info = json.loads((folder / "voxel.json").read_text())
    mbq = float(info.get("administered_mbq") or np.nan)
    maps = {}
    for nuclide, files in info.get("files", {}).items():
        vol = read_nifti(folder / files["dose_nifti"])
        maps[nuclide] = vol.with_array(np.asarray(vol.array, np.float32) * 1000.0 / mbq)
    if not maps or not np.isfinite(mbq):
        return []
    names = {v: int(k) for k, v in (info.get("lesion_names") or {}).items()}
    seg = folder / f"{subject}_lesions_dseg.nii.gz"
    mask = None
    first = next(iter(maps.values()))
    j = int(np.unravel_index(np.nanargmax(np.asarray(first.array)), first.shape)[1])
    if lesion in names and seg.is_file():
        mask = np.asarray(read_nifti(seg).array) == names[lesion]
        if mask.any():
            masked = np.where(mask, np.asarray(first.array), -np.inf)
            j = int(np.unravel_index(np.argmax(masked), first.shape)[1])
    png = dose_map_figure(maps, mask, j, title=f"{subject}, coronal slice through {lesion}")
    caption = (f"Voxel absorbed dose of {subject} per administered MBq (mGy/MBq = Gy/GBq), "
               f"coronal slice through the hottest voxel of {lesion} (cyan outline), for "
               f"{' and '.join(maps)}; one colour scale, physical aspect ratio. "
               f"The files: OUT/voxel/{subject}/ (NIfTI and DICOM RT Dose).")  # fmt: skip
    figures = [Figure(png, caption)]
    rel = {n: read_nifti(folder / f["dose_rel_sd"]) for n, f in info.get("files", {}).items()
           if "dose_rel_sd" in f}  # fmt: skip
    if rel:
        rel = {n: v.with_array(100.0 * np.asarray(v.array, np.float32)) for n, v in rel.items()}
        png = dose_map_figure(rel, mask, j, title=f"{subject}, relative dose SD",
                              label="u(D)/D (%), uncorrelated voxels", vmax=100.0,
                              cmap="viridis")  # fmt: skip
        figures.append(Figure(png, (
            "Relative SD of the voxel dose, same slice: the mono-exponential fit's TIA SD "
            "propagated with uncorrelated voxels (K² ⊛ u², an assumption; the fully "
            f"correlated bound is in OUT/voxel/{subject}/); scale capped at 100 %.")))  # fmt: skip
    return figures


def _dvh(out_dir: Path, dvh: pd.DataFrame, lesions: pd.DataFrame, subject: str | None):  # type: ignore[no-untyped-def]
    from .voxel_figures import dvh_figure

    curves = dvh.assign(dose_mgy_per_mbq=dvh["dose_gy"] * 1000.0 / dvh["administered_mbq"])
    positive = lesions[lesions["group"].str.lower().isin(["positive", "pos", "+", "true"])]
    chosen = positive if not positive.empty else lesions
    keys = set(zip(chosen["subject"], chosen["region"], strict=True))
    is_lesion = curves["region_kind"] == "lesion"
    pick = np.array([(s, r) in keys for s, r in zip(curves["subject"], curves["region"],
                                                    strict=True)])  # fmt: skip
    organs = [o for o in DVH_ORGANS if o in set(curves["region"])]
    organ_rows = (~is_lesion) & (curves["subject"] == subject) & curves["region"].isin(organs)
    shown = curves[(is_lesion & pick) | organ_rows]
    nuclides = list(dict.fromkeys(curves["nuclide"]))
    png = dvh_figure(shown, nuclides, organs=organs)
    which = "HER2+" if not positive.empty else "all"
    caption = (f"Cumulative dose–volume histograms per administered MBq: {which} lesions "
               f"({len(keys)}, colours; the legend names the first 12) and {', '.join(organs)} "
               f"of {subject} (grey), for {' and '.join(nuclides)}.")  # fmt: skip
    return Figure(png, caption)


def _statistics_table(wide: pd.DataFrame) -> Table:
    cols = ["subject", "region", "kind", "nuclide", "mean", "max", "D2", "D50", "D98", "mL"]
    has_sd = "dose_rel_sd_median" in wide
    if has_sd:
        cols += ["median u(D)/D", "bound"]
    rows = []
    for r in wide[wide["voxels"] > 0].itertuples(index=False):
        row = [str(r.subject), str(r.region), str(r.region_kind), str(r.nuclide)]
        row += [fmt(float(getattr(r, m.replace("_gy", "_mgy_per_mbq"))), 3) for m in _STAT_METRICS]
        row.append(fmt(float(r.volume_ml), 1))
        if has_sd:
            row += [fmt(float(r.dose_rel_sd_median), 3), fmt(float(r.dose_rel_sd_bound_median), 3)]
        rows.append(row)
    caption = "Voxel dose statistics of every region (mGy/MBq; D_x as ICRU Report 83)"
    if has_sd:
        caption += ("; median relative SD over the region's voxels, with uncorrelated voxels "
                    "and its fully correlated bound")  # fmt: skip
    return Table(cols, rows, caption)


def voxel_section(
    out_dir: Path,
    frames: Mapping[str, pd.DataFrame],
    group_key: str | None = None,
    lesions_wide: pd.DataFrame | None = None,
) -> Section | None:
    """The section, or None when the run has no voxel dosimetry (no ``voxel_doses`` table)."""
    table = frames.get("voxel_doses")
    if table is None or table.empty:
        return None
    wide = _per_mbq(table)
    status = _lesion_status(lesions_wide, frames.get("subjects"), group_key)
    sec = Section("voxel-dosimetry", TITLE)
    lesion_tab, lesions = _lesion_table(wide, frames.get("doses"), status, group_key or "group")
    organ_tab, organs = _organ_table(wide, frames.get("doses"))
    pick = _figure_subject(lesions, Path(out_dir))
    if pick is not None:
        sec.figures += _dose_map(Path(out_dir), *pick)
    dvh = frames.get("voxel_dvh")
    if dvh is not None and not dvh.empty and not lesions.empty:
        sec.figures.append(_dvh(Path(out_dir), dvh, lesions, pick[0] if pick else None))
    sec.paragraphs += discussion_paragraphs(table, lesions, organs, frames.get("tias"))
    if not lesions.empty:
        sec.tables.append(lesion_tab)
    if organ_tab is not None:
        sec.tables.append(organ_tab)
    sec.tables.append(_statistics_table(wide))
    return sec
