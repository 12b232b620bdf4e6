"""Organ doses against published values: ICRP 106/128 18F-FDG (asserted in the tests) and,
informatively, the reference study's 124I-trastuzumab Table 2 (OLINDA/EXM).

The FDG part prints our male, female and sex-averaged doses beside ICRP's, the share of
each source in our dose to every organ outside 10 %, and the cause of each difference
(``support.reference_models.FDG_ICRP128_DIFFERENCES``).

Usage::

    python benchmarks/dosimetry_reference.py [--geometry] [KINETICS.csv]

With a kinetics table (``subject, region, tiac_h`` for 124I-trastuzumab, e.g. from
``immunopet run`` on the demo study) the second part prints our Table 2 beside the
paper's. Without one it builds illustrative TIACs from the paper's published mid-range
organ SUVs at 1 / 24 / 48 h (``immunopet.simulate.biodistribution``; blood for the heart
contents), ICRP 89 male organ masses (fraction of IA = SUV × M_organ / M_body) and
log-linear curves extrapolated with the last biological slope — the paper publishes no
TIACs, so this comparison is informative only, never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from immunopet.dosimetry.organ_dose import organ_doses_table, table2_summary

from immunopet.dosimetry.weights import REFERENCE_MASSES_KG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test-only reference models
from support.reference_models import (
    FDG_ICRP128_COMPARATOR,
    FDG_ICRP128_DIFFERENCES,
    FDG_ICRP128_DOSES_MGY_PER_MBQ,
    FDG_ICRP128_E_MSV_PER_MBQ,
    FDG_ICRP128_TIAC_H,
    REFERENCE_STUDY_TABLE2,
    dose_by_source,
    fdg_icrp128_comparison,
)


def fdg_comparison() -> pd.DataFrame:
    """Our FDG organ doses (ICRP 106 model) beside ICRP 106/128's; E with ICRP 60 and 103."""
    table, e60 = fdg_icrp128_comparison("icrp60")
    _, e103 = fdg_icrp128_comparison("icrp103")
    table = table.assign(diff_pct=100 * table["diff"]).drop(columns=["diff", "cause"])
    extra = pd.DataFrame(
        [
            dict(
                organ="E (ICRP 60, sex-averaged)",
                ours=e60,
                published=FDG_ICRP128_E_MSV_PER_MBQ,
                diff_pct=100 * (e60 / FDG_ICRP128_E_MSV_PER_MBQ - 1),
                bound=0.05,
            ),
            dict(organ="E (ICRP 103, sex-averaged)", ours=e103),
        ]
    )
    return pd.concat([table, extra], ignore_index=True)


def fdg_breakdown() -> pd.DataFrame:
    """Share of each FDG source in our dose to the organs outside 10 % (comparator phantom)."""
    rows = []
    for organ in FDG_ICRP128_DIFFERENCES:
        sex = FDG_ICRP128_COMPARATOR[organ]
        row = dose_by_source(FDG_ICRP128_TIAC_H, "F-18", f"adult-{sex}").loc[organ]
        rows.append({"organ": f"{organ} ({sex})", **(100 * row / row.sum()).round(1)})
    return pd.DataFrame(rows)


def geometry_sensitivity(n_histories: int = 2_000_000) -> pd.DataFrame:
    """What the v2 phantom geometry fix changed, by direct photon MC of the FDG sources.

    Direct photon MC (``direct_svalue_table``, F-18 spectrum) in the 4-mm reference
    phantom as built (v2: oesophagus behind the heart, uterus off the bladder) and in the
    v1 geometry the shipped tables were made with before (oesophagus an elliptical
    cylinder at x = 0, y = 1.6 cm that ran through the heart; uterus at the MIRD centre
    (0, −2, 14) cm, painted over the bladder wall). Same photons for both; about 20 s per
    phantom for 2e6 photons per source.
    """
    from unittest import mock

    from immunopet.dosimetry import phantom_organs, stylised
    from immunopet.dosimetry.organ_dose import organ_doses_from_svalues
    from immunopet.dosimetry.svalues import direct_svalue_table

    def v1_shapes():
        out = []
        for s in phantom_organs.organ_shapes():
            if s.name == "oesophagus":
                s = phantom_organs.OrganShape(
                    "oesophagus",
                    phantom_organs._ell_cyl(0.0, 1.6, 1.0, 0.7, 40.0, 70.0),
                    ((-1.0, 1.0), (0.9, 2.3), (40.0, 70.0)),
                    1.04,
                    (0.0, 1.6, 55.0),
                )
            elif s.name == "uterus":
                c, a = (0.0, -2.0, 14.0), (2.5, 1.5, 4.0)
                bbox = tuple((ci - ai, ci + ai) for ci, ai in zip(c, a, strict=True))
                s = phantom_organs.OrganShape("uterus", phantom_organs._ellipsoid(c, a), bbox)
            out.append(s)
        return out

    def clear():
        stylised._unscaled_volumes.cache_clear()
        stylised._fitted_build.cache_clear()

    sources = (*[k for k in FDG_ICRP128_TIAC_H if k != "remainder"], "total_body")
    rows = []
    for sex, organ in (("male", "oesophagus"), ("female", "uterus")):
        for geometry in ("v2 (as built)", "v1 (before the fix)"):
            build = stylised.reference_phantom.__wrapped__
            if geometry.startswith("v2"):
                ph = build(sex, 4.0)
            else:
                with mock.patch.object(stylised, "organ_shapes", v1_shapes):
                    clear()
                    ph = build(sex, 4.0)
                clear()
            st = direct_svalue_table("F-18", ph, sources=sources, n_histories=n_histories)
            dose, sd = organ_doses_from_svalues(FDG_ICRP128_TIAC_H, st)
            rows.append(
                dict(
                    phantom=f"adult-{sex}",
                    geometry=geometry,
                    organ=organ,
                    mass_kg=ph.region_masses_kg[organ],
                    dose=dose[organ],
                    sd=sd[organ],
                    published=FDG_ICRP128_DOSES_MGY_PER_MBQ[organ],
                )
            )
    return pd.DataFrame(rows)


def illustrative_i124_tiacs() -> dict[str, float]:
    """TIAC (h) per source from the paper's mid-range SUV curves (see module docstring)."""
    import numpy as np

    from immunopet.core.nuclides import Nuclide
    from immunopet.simulate.biodistribution import (
        I124_TIMES_H,
        interpolate_suv,
        organ_curve_i124,
    )

    lam_per_h = np.log(2) / Nuclide.from_name("I-124").half_life("h")
    masses = REFERENCE_MASSES_KG["male"]
    t = np.linspace(0.0, 3000.0, 30001)
    organs = {
        "heart_contents": "blood",
        "liver": "liver",
        "kidneys": "kidneys",
        "spleen": "spleen",
        "thyroid": "thyroid",
        "urinary_bladder_contents": "urinary_bladder_contents",
        "stomach_wall": "stomach_wall",
    }
    tiac = {}
    for target, curve_name in organs.items():
        suv = organ_curve_i124(curve_name, quantiles={})
        frac = interpolate_suv(I124_TIMES_H, suv, t) * masses[target] / masses["total_body"]
        tiac[target] = float(np.trapezoid(frac * np.exp(-lam_per_h * t), t))
    rest_kg = masses["total_body"] - sum(masses[k] for k in organs)
    suv = organ_curve_i124("remainder", quantiles={})
    frac = interpolate_suv(I124_TIMES_H, suv, t) * rest_kg / masses["total_body"]
    tiac["remainder"] = float(np.trapezoid(frac * np.exp(-lam_per_h * t), t))
    return tiac


def main() -> None:
    pd.set_option("display.width", 120)
    print("18F-FDG, ICRP 106/128 adult model — ours (stylised ICRP-89 phantoms) vs ICRP")
    print("(ours = male phantom; female for ovaries, uterus, breasts; adult = sex average)")
    print(fdg_comparison().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("\nshare of each source in our dose (%), organs outside 10 %:")
    print(fdg_breakdown().to_string(index=False))
    print("\nwhy:")
    for organ, known in FDG_ICRP128_DIFFERENCES.items():
        print(f"- {organ}: {known.cause}")
    if "--geometry" in sys.argv:
        sys.argv.remove("--geometry")
        print("\nphantom geometry v2 vs v1 (direct MC, FDG, mGy/MBq):")
        print(geometry_sensitivity().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if len(sys.argv) > 1:
        kin = pd.read_csv(sys.argv[1], comment="#")
    else:
        tiac = illustrative_i124_tiacs()
        print(
            "\nillustrative 124I-trastuzumab TIACs (h):", {k: round(v, 2) for k, v in tiac.items()}
        )
        kin = pd.DataFrame(
            {"subject": "illustrative", "region": list(tiac), "tiac_h": list(tiac.values())}
        )
    variants = {"with remainder": kin}
    if len(sys.argv) == 1:
        # The paper's tiny colon doses (about 0.026 mGy/MBq) suggest little or no remainder
        # activity entered OLINDA; show that reading too.
        variants["organs only (no remainder)"] = kin[kin["region"] != "remainder"]
    for label, table in variants.items():
        summary = table2_summary(organ_doses_table(table, "I-124", "adult"))
        summary["paper"] = summary["target"].map(REFERENCE_STUDY_TABLE2)
        summary["diff_pct"] = 100 * (summary["mean"] / summary["paper"] - 1)
        print(f"\n124I-trastuzumab, {label}: ours vs the reference study's Table 2 (OLINDA)")
        cols = ["organ", "mean", "paper", "diff_pct"]
        print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
