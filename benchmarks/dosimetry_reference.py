"""Organ doses against published values: ICRP 106/128 18F-FDG (asserted in the tests) and,
informatively, the reference study's 124I-trastuzumab Table 2 (OLINDA/EXM).

Usage::

    python benchmarks/dosimetry_reference.py [KINETICS.csv]

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

import pandas as pd

from immunopet.dosimetry.organ_dose import organ_doses, organ_doses_table, table2_summary
from immunopet.dosimetry.reference_models import (
    FDG_ICRP128_DOSES_MGY_PER_MBQ,
    FDG_ICRP128_E_MSV_PER_MBQ,
    FDG_ICRP128_TIAC_H,
    REFERENCE_STUDY_TABLE2,
)
from immunopet.dosimetry.weights import REFERENCE_MASSES_KG, colon_dose


def fdg_comparison() -> pd.DataFrame:
    """Our FDG organ doses (ICRP 106 model) beside ICRP 106/128's; E with ICRP 60 and 103."""
    df = organ_doses(FDG_ICRP128_TIAC_H, "F-18", "adult", weighting="icrp60")
    e103 = organ_doses(FDG_ICRP128_TIAC_H, "F-18", "adult")
    male = dict(df.loc[df.quantity == "absorbed_dose_male", ["target", "value"]].values)
    female = dict(df.loc[df.quantity == "absorbed_dose_female", ["target", "value"]].values)
    male["colon"] = colon_dose(male, REFERENCE_MASSES_KG["male"])
    rows = []
    for organ, published in FDG_ICRP128_DOSES_MGY_PER_MBQ.items():
        ours = female[organ] if organ in ("ovaries", "uterus", "breasts") else male[organ]
        rows.append(
            dict(organ=organ, ours=ours, published=published, diff_pct=100 * (ours / published - 1))
        )
    e60 = df.loc[df.quantity == "effective_dose", "value"].item()
    rows.append(
        dict(
            organ="E (ICRP 60, sex-averaged)",
            ours=e60,
            published=FDG_ICRP128_E_MSV_PER_MBQ,
            diff_pct=100 * (e60 / FDG_ICRP128_E_MSV_PER_MBQ - 1),
        )
    )
    e = e103.loc[e103.quantity == "effective_dose", "value"].item()
    rows.append(
        dict(
            organ="E (ICRP 103, sex-averaged)",
            ours=e,
            published=float("nan"),
            diff_pct=float("nan"),
        )
    )
    return pd.DataFrame(rows)


def illustrative_i124_tiacs() -> dict[str, float]:
    """TIAC (h) per source from the paper's mid-range SUV curves (see module docstring)."""
    import numpy as np

    from immunopet.nuclides import Nuclide
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
    print(fdg_comparison().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
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
