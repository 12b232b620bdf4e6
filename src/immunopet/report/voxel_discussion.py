"""The voxel-dosimetry section's discussion: why voxel, sphere and MIRD doses differ.

Every sentence is either a property of the methods as implemented (cited where they are
defined) or a number computed here from the run's tables; nothing is asserted that the
numbers do not show. Spearman's rank correlation (:func:`scipy.stats.spearmanr`) is used
for "goes with" statements, with n and p.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["discussion_paragraphs", "mass_ratio"]

#: Density of the kernel's medium, ICRU Report 44 soft tissue (g/cm³), as the voxel doses use.
SOFT_TISSUE_G_CM3 = 1.04


def mass_ratio(organ: str, volume_ml: float, phantom: str = "adult") -> float:
    """ICRP 89 reference mass of ``organ`` / its segmented mass (volume × 1.04 g/cm³).

    ``phantom`` ``"adult"`` averages the male and female reference masses (as the MIRD
    doses of the ``adult`` phantom do); NaN when ICRP 89 lists no mass for the organ.
    """
    from ..dosimetry.weights import REFERENCE_MASSES_KG

    sexes = {"adult-male": ("male",), "adult-female": ("female",)}.get(phantom,
                                                                       ("male", "female"))  # fmt: skip
    masses = [REFERENCE_MASSES_KG[s][organ] for s in sexes if organ in REFERENCE_MASSES_KG[s]]
    patient_kg = volume_ml * SOFT_TISSUE_G_CM3 * 1e-3
    if not masses or not patient_kg > 0:
        return math.nan
    return float(np.mean(masses)) / patient_kg


def _spearman(x: pd.Series, y: pd.Series) -> tuple[float, float, int]:
    from scipy.stats import spearmanr

    ok = np.isfinite(x.to_numpy(float)) & np.isfinite(y.to_numpy(float))
    n = int(ok.sum())
    if n < 5:
        return math.nan, math.nan, n
    res = spearmanr(x[ok], y[ok])
    return float(res.statistic), float(res.pvalue), n


def _first(table: pd.DataFrame, column: str, default: object = None) -> object:
    if column not in table or table[column].dropna().empty:
        return default
    return table[column].dropna().iloc[0]


def _method_paragraph(table: pd.DataFrame, tias: pd.DataFrame | None) -> str:
    from ..dosimetry.emission import emission_spectrum

    method = str(_first(table, "method", "dvk"))
    model, tail = _first(table, "tia_model", "trapezoid"), _first(table, "tail", "physical")
    text = (f"Method: per-voxel time-integrated activity ({model}"
            + (f", {tail} tail" if model == "trapezoid" else "")
            + f") on the first scan's grid, convolved with each nuclide's dose voxel kernel "
            f"(method '{method}'; MIRD Pamphlet 17) ")  # fmt: skip
    text += ("scaled by the CT density." if method == "dvk-density" else
             "computed in homogeneous soft tissue (1.04 g/cm³): lung, bone and air "
             "densities are not modelled (method 'dvk-density' scales by the CT).")  # fmt: skip
    if tias is not None and "model" in tias and not tias.empty:
        region_model = str(tias["model"].mode().iloc[0])
        text += (" The MIRD organ and sphere-model lesion doses beside them integrate each "
                 f"region's mean curve ({region_model}).")  # fmt: skip
    parts = []
    for nuclide, g in table.groupby("nuclide", sort=False):
        spec = emission_spectrum(str(nuclide))
        photons = 1.0 - spec.electron_energy_per_decay_mev / spec.total_energy_per_decay_mev
        half = _first(g, "kernel_half_extent_mm")
        escaped = _first(g, "kernel_escaped_fraction")
        s = f"{nuclide}: photons carry {100 * photons:.0f} % of the energy emitted per decay"
        if half is not None and escaped is not None and np.isfinite(float(escaped)):
            s += (f", and {100 * float(escaped):.0f} % of it leaves the kernel grid "
                  f"(±{float(half):.0f} mm) uncounted")  # fmt: skip
        if "tia_tail_fraction" in g and g["tia_tail_fraction"].notna().any():
            share = g.groupby("subject")["tia_tail_fraction"].first().median()
            s += (f"; {100 * share:.0f} % of the image's voxel TIA lies after the last scan "
                  "(median over subjects: the tail rule's assumption)")  # fmt: skip
        parts.append(s + ".")
    return " ".join([text, *parts])


def _lesion_paragraph(lesions: pd.DataFrame) -> str | None:
    paired = lesions.dropna(subset=["ratio"])
    if paired.empty:
        return None
    out = []
    for nuclide, g in paired.groupby("nuclide", sort=False):
        r = g["ratio"]
        above = int((r > 1).sum())
        rho, p, n = _spearman(g["volume_ml"], r)
        s = (f"Lesions ({nuclide}, n = {len(g)}): voxel mean / sphere-model dose = "
             f"{r.median():.2f} (median; range {r.min():.2f}–{r.max():.2f}), above 1 for "
             f"{above} of {len(g)}.")  # fmt: skip
        if np.isfinite(rho):
            s += f" Spearman ρ of the ratio against lesion volume = {rho:.2f} (p = {p:.2g}, n = {n})."
        out.append(s)
    out.append(
        "The sphere model gives the self-dose of the lesion's own TIA spread uniformly in an "
        "isolated unit-density sphere of the VOI's volume, electrons absorbed locally "
        "(immunopet.dosimetry.sphere); the voxel dose adds the cross-fire that the uptake "
        "around the lesion (liver, bone, blood pool) deposits in it within the kernel's "
        "reach, which raises it above the sphere value, and it takes the activity where the "
        "PET puts it: the scanner's resolution spreads lesion activity beyond the VOI "
        "(partial volume, spill-out; Soret et al., J Nucl Med 2007;48:932), which lowers the "
        "voxel mean most in small lesions; the VOI TIA that the sphere model takes misses "
        "that activity too."
    )
    return " ".join(out)


def _bladder_sentence(per_organ: pd.DataFrame, tias: pd.DataFrame | None) -> str:
    """The bladder contents, when the region TIA is the dynamic bladder model."""
    if tias is None or "model" not in tias or "urinary_bladder_contents" not in per_organ.index:
        return ""
    rows = tias[tias["region"] == "urinary_bladder_contents"]["model"].astype(str)
    if not rows.str.contains("dynamic bladder").any():
        return ""
    ratio = float(per_organ.loc["urinary_bladder_contents", "ratio"])
    return (f" The bladder contents' region TIA is the voiding bladder model "
            f"({rows[rows.str.contains('dynamic bladder')].iloc[0]}), the voxel TIA integrates "
            f"the bladder images without voiding between and after the scans: voxel/MIRD = "
            f"{ratio:.2f} there, a difference of TIA, not of dose calculation.")  # fmt: skip


def _organ_paragraph(organs: pd.DataFrame, tias: pd.DataFrame | None = None) -> str | None:
    if organs.empty:
        return None
    out = []
    for nuclide, g in organs.groupby("nuclide", sort=False):
        per_organ = g.groupby("region").agg(ratio=("ratio", "median"),
                                            mass_ratio=("mass_ratio", "median"))  # fmt: skip
        r = per_organ["ratio"].dropna()
        if r.empty:
            continue
        low = r.nsmallest(3)
        high = r.nlargest(3)
        s = (f"Organs ({nuclide}, {len(r)} organs): voxel mean / MIRD = {r.median():.2f} "
             f"(median over organs; lowest {', '.join(f'{k} {v:.2f}' for k, v in low.items())};"
             f" highest {', '.join(f'{k} {v:.2f}' for k, v in high.items())}).")  # fmt: skip
        rho, p, n = _spearman(per_organ["mass_ratio"], per_organ["ratio"])
        if np.isfinite(rho):
            s += (f" The ratio goes with the phantom/patient mass ratio with Spearman ρ = "
                  f"{rho:.2f} (p = {p:.2g}, n = {n} organs with an ICRP 89 mass).")  # fmt: skip
        out.append(s + _bladder_sentence(per_organ, tias))
    if not out:
        return None
    out.append(
        "Three differences of method are behind the other ratios. The MIRD dose spreads the organ's TIA "
        "over the ICRP 89 phantom's organ mass, the voxel mean over the patient's segmented "
        "organ: the self-dose scales with the inverse mass, so where self-dose dominates the "
        "voxel/MIRD ratio is expected to follow the phantom/patient mass ratio. The MIRD S "
        "values carry "
        "photon cross-dose between every pair of organs at any distance, the kernel only "
        "within its grid (the energy it leaves uncounted is given above): organs that get "
        "most of their dose from distant sources (little own uptake) lose the most in the "
        "voxel calculation. And the voxel TIA follows each voxel's own curve, the MIRD one "
        "the organ's mean curve."
    )
    return " ".join(out)


def _uncertainty_paragraph(table: pd.DataFrame) -> str:
    rel = table[table["metric"] == "dose_rel_sd_median"]
    if rel.empty or rel["value"].dropna().empty:
        model = _first(table, "tia_model", "trapezoid")
        return (f"Uncertainty maps: none — the per-voxel TIA ({model}) gives no standard "
                "error; `dosimetry.voxel.tia_model: mono` with ≥ 3 time points does, and the "
                "dose SD maps then follow by linear propagation.")  # fmt: skip
    bound = table[table["metric"] == "dose_rel_sd_bound_median"]
    parts = []
    kinds = ["nuclide", "region_kind"] if "region_kind" in rel else ["nuclide"]
    for key, g in rel.groupby(kinds, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        b = bound.merge(g[["subject", "region", "nuclide"]], on=["subject", "region", "nuclide"])
        what = f"{key[0]} {key[1]}s" if len(key) > 1 else str(key[0])
        parts.append(f"{what} {100 * g['value'].median():.1f} % "
                     f"(fully correlated bound {100 * b['value'].median():.1f} %)")  # fmt: skip
    return ("Uncertainty: the mono-exponential fit's per-voxel TIA SD propagated linearly to "
            "the dose (JCGM 100:2008): with uncorrelated voxels u²(D) = K² ⊛ u²(Ã) — an "
            "assumption, PET noise is correlated between neighbouring voxels — and with fully "
            "correlated ones u(D) = K ⊛ u(Ã), an upper bound. Median over the regions of each "
            "region's median relative SD: " + "; ".join(parts) + ". Only the fit's statistical error is in it "
            "(not the calibration, segmentation, kernel or model choice).")  # fmt: skip


def discussion_paragraphs(
    table: pd.DataFrame,
    lesions: pd.DataFrame,
    organs: pd.DataFrame,
    tias: pd.DataFrame | None = None,
) -> list[str]:
    """The method line, the lesion and organ comparisons, and the uncertainty line."""
    paragraphs = [_method_paragraph(table, tias)]
    for text in (_lesion_paragraph(lesions), _organ_paragraph(organs, tias)):
        if text:
            paragraphs.append(text)
    paragraphs.append(_uncertainty_paragraph(table))
    return paragraphs
