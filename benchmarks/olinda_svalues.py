"""Our Lu-177 organ S-values against OLINDA/EXM 2's (ICRP-89 adult male and female).

Prints, per sex:

1. the self-S ratio (ours / OLINDA) of every organ both have (the test
   ``tests/test_dosimetry_olinda_validation.py`` holds the > 10 g ones to 3 %);
2. the photon cross-S ratio table: every target ← source pair with T ≠ S, no total
   body, no wall ← own contents (for Lu-177 the off-diagonal terms are photon only:
   its β range, < 2 mm, is far below organ separations);
3. the worst pairs, each traced to geometry: the distance between the two organs'
   centroids in our voxel phantom, and the distance OLINDA's value implies under
   the inverse-square law (r_OLINDA ≈ r_ours · √(S_ours / S_OLINDA), attenuation and
   organ shape ignored — a first-order reading, not a measurement of their phantom).

Reference: ``Lu177-{Male,Female}-Svalues.csv`` of github.com/qurit/PyTheranostics
(``pytheranostics/dosimetry/phantomdata/``, commit cc3b720b), OLINDA/EXM 2 organ labels,
mGy/(MBq·s); the repository states no citation. Read from ``--olinda-dir`` (default:
the project's shared reference folder), never by the tests.

Run: ``.venv/bin/python benchmarks/olinda_svalues.py [--olinda-dir DIR] [--worst 12]``
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from immunopet.dosimetry.organ_dose import reference_af_table
from immunopet.dosimetry.stylised import reference_phantom
from immunopet.dosimetry.svalue_import import read_svalue_table
from immunopet.dosimetry.svalues import svalue_table

DEFAULT_DIR = (
    Path(__file__).resolve().parents[2] / "shared/reference/external/olinda2-lu177-svalues"
)
WALLED = {"heart_wall": "heart_contents", "stomach_wall": "stomach_contents",
          "gallbladder_wall": "gallbladder_contents",
          "urinary_bladder_wall": "urinary_bladder_contents"}  # fmt: skip
COMPOSITE = ("red_marrow", "bone_surfaces", "total_body")
#: Skeletal regions: marrow β irradiate the bone surfaces (electron cross-fire, not photons).
SKELETAL = ("red_marrow", "bone_surfaces", "cortical_bone", "trabecular_bone")


def centroids_mm(sex: str) -> dict[str, np.ndarray]:
    """Centroid (mm) of every labelled region of our voxel phantom."""
    ph = reference_phantom(sex)
    lab = np.asarray(ph.labels.array)
    spacing = np.asarray(ph.labels.spacing_mm)
    keys = sorted(ph.organ_names)
    cms = ndimage.center_of_mass(np.ones_like(lab, dtype=float), lab, keys)
    return {ph.organ_names[k]: np.asarray(c) * spacing for k, c in zip(keys, cms, strict=True)}


def compare(sex: str, olinda_dir: Path) -> pd.DataFrame:
    """One row per target ← source pair both tables have (S in mGy/(MBq·s))."""
    path = olinda_dir / f"Lu177-{sex.capitalize()}-Svalues.csv"
    ref = read_svalue_table(path, sex=sex)
    ours = svalue_table("Lu-177", reference_af_table(f"adult-{sex}"))
    centre = centroids_mm(sex)
    rows = []
    for t in ref.targets:
        for s in ref.sources:
            if t not in ours.targets or s not in ours.sources:
                continue
            r, o = ref.s(t, s) * 1e9, ours.s(t, s) * 1e9
            if r <= 0:
                continue
            kind = "self" if t == s else "cross"
            if WALLED.get(t) == s or t in ("total_body",) or s == "total_body":
                kind = "contains"  # electrons too: not a photon cross term
            if t in SKELETAL and s in SKELETAL:
                kind = "skeletal"  # marrow/bone electron cross-fire
            d = math.nan
            if t in centre and s in centre and t not in COMPOSITE:
                d = float(np.linalg.norm(centre[t] - centre[s]))
            sd = float(ours.sd_gy_per_bq_s[ours.targets.index(t), ours.sources.index(s)]) * 1e9
            rows.append(dict(sex=sex, target=t, source=s, kind=kind, olinda=r, ours=o,
                             ours_mc_rel_sd=sd / o if o > 0 else math.nan, ratio=o / r,
                             centroid_mm_ours=d))  # fmt: skip
    df = pd.DataFrame(rows)
    df["implied_mm_olinda"] = df["centroid_mm_ours"] * np.sqrt(df["ratio"])
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--olinda-dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--worst", type=int, default=12)
    args = ap.parse_args(argv)
    if not (args.olinda_dir / "Lu177-Male-Svalues.csv").exists():
        print(f"no OLINDA S-value files in {args.olinda_dir}: give --olinda-dir", file=sys.stderr)
        return 2
    pd.set_option("display.width", 160)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pd.concat([compare(sex, args.olinda_dir) for sex in ("male", "female")])
    for sex, df in table.groupby("sex", sort=False):
        self_s = df[df.kind == "self"].set_index("target")["ratio"].round(4)
        print(f"\n== {sex}: self-S ours/OLINDA ==\n{self_s.to_string()}")
        cross = df[df.kind == "cross"]
        q = cross["ratio"].quantile([0.1, 0.5, 0.9])
        within = float(np.mean(np.abs(cross["ratio"] - 1) <= 0.2))
        print(f"\n== {sex}: photon cross-S ours/OLINDA over {len(cross)} pairs: median "
              f"{q[0.5]:.2f}, 10–90 % {q[0.1]:.2f}–{q[0.9]:.2f}, "
              f"{100 * within:.0f} % within ±20 % ==")  # fmt: skip
        wide = cross.pivot(index="target", columns="source", values="ratio")
        print(wide.round(2).to_string(na_rep="·"))
        # Worst pairs among those whose photon S matters (> 1e-8 mGy/(MBq·s) in OLINDA).
        big = cross[cross.olinda > 1e-8].assign(miss=lambda d: np.abs(np.log(d["ratio"])))
        worst = big.sort_values("miss", ascending=False).head(args.worst)
        cols = ["target", "source", "olinda", "ours", "ours_mc_rel_sd", "ratio",
                "centroid_mm_ours", "implied_mm_olinda"]  # fmt: skip
        print(f"\n== {sex}: worst photon cross-S (OLINDA S > 1e-8), traced to geometry ==")
        print(worst[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        named = [("thyroid", "liver"), ("adrenals", "liver"), ("pancreas", "spleen"),
                 ("red_marrow", "kidneys")]  # fmt: skip
        picks = cross.set_index(["target", "source"])
        print(f"\n== {sex}: pairs named in issue 13 ==")
        for t, s in named:
            if (t, s) in picks.index:
                r = picks.loc[(t, s)]
                print(f"{t} ← {s}: ratio {r['ratio']:.2f}, centroids {r['centroid_mm_ours']:.0f} mm "
                      f"ours vs ~{r['implied_mm_olinda']:.0f} mm implied")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
