"""Compute the photon absorbed-fraction tables of the reference phantoms and S-value tables.

Writes to ``src/immunopet/dosimetry/data/``:

- ``af_adult-male.npz``, ``af_adult-female.npz``: photon absorbed fractions
  φ(region ← source, E) with MC SD on :data:`PHOTON_ENERGY_GRID_MEV`
  (read by :func:`immunopet.dosimetry.organ_dose.reference_af_table`);
- ``svalues_<phantom>_<nuclide>.csv``: derived S-values (mGy/(MBq·s)) with MC SD for
  I-124, Zr-89, Cu-64, F-18, Ga-68, Lu-177, I-131, Tc-99m, each with a ``#`` header
  saying how it was made.

Usage::

    python scripts/make_svalue_tables.py [--voxel-mm 4] [--histories 300000] [--seed 20261124]
        [--sex male female]

Runtime at 4 mm / 3e5 photons per (source, energy), one core: 227 s (male) and 201 s
(female) on 2026-11-24 for the v2 tables; up to ≈ 20 min per phantom on a busy machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

import immunopet
from immunopet.dosimetry.phantom import reference_phantom
from immunopet.dosimetry.svalues import PhotonAFTable, compute_photon_af_table, svalue_table

PHANTOM_VERSION = (
    "immunopet stylised MIRD-5/Cristy-Eckerman adult, ICRP 89 masses, "
    "v2 (oesophagus behind the heart, uterus off the bladder)"
)
NUCLIDES = ("I-124", "Zr-89", "Cu-64", "F-18", "Ga-68", "Lu-177", "I-131", "Tc-99m")
DATA = Path(__file__).resolve().parents[1] / "src" / "immunopet" / "dosimetry" / "data"


def write_svalue_csv(table: PhotonAFTable, nuclide: str, out: Path) -> None:
    """Write the S-values of one nuclide with a provenance header."""
    st = svalue_table(nuclide, table)
    df = st.to_frame()
    meta = dict(table.metadata)
    with out.open("w") as fh:
        fh.write(f"# S-values {st.nuclide} in {table.phantom}, mGy/(MBq s); sd = MC (photon) SD\n")
        for k, v in meta.items():
            fh.write(f"# {k}: {v}\n")
        fh.write("# electrons absorbed locally (MIRD); see immunopet.dosimetry.svalues\n")
        fh.write(
            "# decay data: ICRP Publication 107 (Endo & Eckerman) via the icrp107-database "
            "package; (c) ICRP, for educational, research and not-for-profit use\n"
        )
        df.to_csv(fh, index=False, float_format="%.5e")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voxel-mm", type=float, default=4.0)
    ap.add_argument("--histories", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--sex", nargs="+", default=["male", "female"])
    ap.add_argument("--out-dir", type=Path, default=DATA)
    ap.add_argument(
        "--csv-only", action="store_true", help="rewrite the S-value CSVs from existing af_*.npz"
    )
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for sex in args.sex:
        if args.csv_only:
            table = PhotonAFTable.load(args.out_dir / f"af_adult-{sex}.npz")
            for nuc in NUCLIDES:
                write_svalue_csv(table, nuc, args.out_dir / f"svalues_{table.phantom}_{nuc}.csv")
            continue
        t0 = time.time()
        ph = reference_phantom(sex, args.voxel_mm)
        meta = {
            "phantom_version": PHANTOM_VERSION,
            "histories_per_source_energy": args.histories,
            "immunopet_version": immunopet.__version__,
            "made_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "made_by": "scripts/make_svalue_tables.py",
        }
        table = compute_photon_af_table(
            ph, n_histories=args.histories, seed=args.seed, metadata=meta
        )
        path = args.out_dir / f"af_{ph.name}.npz"
        table.save(path)
        i_self = [table.regions.index(s) if s in table.regions else -1 for s in table.sources]
        rel = [
            float(np.max(table.af_sd[i, r] / np.maximum(table.af[i, r], 1e-30)))
            for i, r in enumerate(i_self)
            if r >= 0
        ]
        print(f"{path.name}: {time.time() - t0:.0f} s; max rel SD of self-AF {max(rel):.3%}")
        for nuc in NUCLIDES:
            write_svalue_csv(table, nuc, args.out_dir / f"svalues_{ph.name}_{nuc}.csv")


if __name__ == "__main__":
    main()
