"""Plausibility of an immuno-PET dosimetry run: the demo relabelled with 89Zr vs O'Donoghue 2018.

Not a pass/fail check: a discussion table (``docs/zr89-plausibility.md``).

The demo's 124I-trastuzumab curves (``RESULTS/tables/measurements.parquet`` of
``immunopet demo``) are relabelled with 89Zr: the 124I decay removed, the 89Zr decay
applied (:mod:`immunopet.kinetics.therapy`, fitted clearance after the last image),
the bladder from the dynamic bladder model as in the demo, and dosed with our 89Zr
S-values, every segmented organ a source and with the reference study's sources.
Beside it, the normal-organ doses of 89Zr-trastuzumab measured by PET in patients:
O'Donoghue et al., J Nucl Med 2018;59:161–166, Table 2 (mean, SD, mGy/MBq; effective
dose 0.48 mSv/MBq), from ``--table`` (default: the project's shared literature folder).

What differs by construction: the demo's biology is radio-iodinated antibody (thyroid
and stomach take up released iodide, the label leaves cells after catabolism), 89Zr
is a residualising metal (more liver and bone, no thyroid) — so the relabelled run
sets an order of magnitude, not a prediction of 89Zr-trastuzumab.

Run: ``.venv/bin/python benchmarks/zr89_plausibility.py demo-output/results [--table CSV]``
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from immunopet.study import DosimetryOptions, KineticsOptions
from immunopet.workflow import MeasurementTable, integrate, organ_doses
from immunopet.workflow.dose_sets import REFERENCE_STUDY_SOURCES

DEFAULT_TABLE = (
    Path(__file__).resolve().parents[2]
    / "shared/reference/external/literature/zr89_trastuzumab_odonoghue2018_table2.csv"
)
#: O'Donoghue 2018 Table 2 rows → our targets (ICRP 89 / OLINDA names → ICRP 110 colon).
TARGETS = {
    "Adrenals": "adrenals", "Brain": "brain", "Breasts": "breasts",
    "Gallbladder wall": "gallbladder_wall", "Lower large intestine wall": "left_colon",
    "Small intestine": "small_intestine", "Stomach wall": "stomach_wall",
    "Upper large intestine wall": "right_colon", "Heart wall": "heart_wall",
    "Kidneys": "kidneys", "Liver": "liver", "Lungs": "lungs", "Muscle": "muscle",
    "Ovaries": "ovaries", "Pancreas": "pancreas", "Red marrow": "red_marrow",
    "Osteogenic cells": "bone_surfaces", "Skin": "skin", "Spleen": "spleen",
    "Testes": "testes", "Thymus": "thymus", "Thyroid": "thyroid",
    "Urinary bladder wall": "urinary_bladder_wall", "Total body": "total_body",
    "Effective dose (mSv/MBq)": "whole_body",
}  # fmt: skip


def relabelled_doses(results: Path) -> pd.DataFrame:
    """The demo's curves relabelled with 89Zr, dosed with both source sets."""
    m = MeasurementTable(pd.read_parquet(results / "tables" / "measurements.parquet"))
    kinetics = KineticsOptions(urinary_fraction=1.0, therapy_nuclide="Zr-89")
    tias = integrate(m, kinetics, tracer="124I")
    dosimetry = DosimetryOptions(nuclide="Zr-89", source_organs=list(REFERENCE_STUDY_SOURCES))
    return organ_doses(tias, dosimetry).frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="RESULTS folder of `immunopet demo`")
    ap.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    args = ap.parse_args(argv)
    if not args.table.exists():
        print(f"no O'Donoghue 2018 table at {args.table}: give --table", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doses = relabelled_doses(args.results)
    ref = pd.read_csv(args.table).set_index("target_organ")
    wanted = doses[doses["quantity"].isin(["absorbed_dose", "effective_dose"])]
    stats = wanted.groupby(["source_set", "target"])["value"].agg(["mean", "std"])
    n = wanted["subject"].nunique()
    print(f"| organ | O'Donoghue 2018, 89Zr-trastuzumab (mean ± SD) | demo relabelled 89Zr, "
          f"all segmented (n = {n}) | demo relabelled 89Zr, reference-study sources | ratio "
          "(all segmented / paper) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for label, target in TARGETS.items():
        if label not in ref.index:
            continue
        r = ref.loc[label]
        cells = []
        for source_set in ("all_segmented", "reference_study"):
            key = (source_set, target)
            cells.append(
                f"{stats.loc[key, 'mean']:.2f} ± {stats.loc[key, 'std']:.2f}"
                if key in stats.index else "–"
            )  # fmt: skip
        key = ("all_segmented", target)
        ratio = (
            stats.loc[key, "mean"] / r["mean_mGy_per_MBq"] if key in stats.index else float("nan")
        )
        print(f"| {label} | {r['mean_mGy_per_MBq']:.2f} ± {r['sd']:.2f} | {cells[0]} | "
              f"{cells[1]} | {ratio:.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
