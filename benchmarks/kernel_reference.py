"""Dose voxel kernels and sphere S-values beside published Monte Carlo (validation, not a test).

Prints, for every soft-tissue file of the Lanconelli et al. voxel S-value database found
(Phys Med Biol 2012;57:517, DOSXYZnrc/EGSnrc; I-131, Lu-177, Y-90 at 13 voxel sizes),
our/their ratio for the centre, face, edge, corner and (0,0,2) voxels and for the sum over
their 11³ grid (energy budget); then the PyTheranostics Lu-177 kernel at 4.7952 mm
(qurit/PyTheranostics 0.1 wheel, engine not stated) beside ours and Lanconelli's 4.8 mm
one; then Lu-177 and Tb-152 sphere S-values beside the published tables used in the tests.

Which Monte Carlo we follow: neither table is used to make the kernels — they come from
immunopet's own class II condensed-history electron MC (ESTAR) and photon MC (XCOM) with
ICRP-107 spectra. Where the source term is the same (Y-90: no IC electrons) our centre
voxels agree with Lanconelli's within ~1 % and the neighbours within a few per cent, and
their I-131 photon tail within ~2 %: our transport follows EGSnrc's. Lanconelli's Lu-177
centre is 7–9 % below ours at every voxel size while the neighbours agree; their 11³ grid
holds 7 % less energy than ICRP-107's Lu-177 emits, and our kernel with the β spectrum
alone (no IC/Auger lines, printed below) falls 3–4 % *below* theirs: their Lu-177 source
carries only part of ICRP-107's 0.0146 MeV of IC + Auger electrons. We keep ICRP-107
(complete emissions). The PyTheranostics kernel holds ICRP-107's energy but is more compact
than both (centre +7 %, face −8 %, second neighbour −17 % vs ours), which points to its
electron transport, not its source; we follow the EGSnrc one.

Usage (reads ../shared/reference/external when present; override with ``--reference DIR``)::

    NUMBA_NUM_THREADS=1 python benchmarks/kernel_reference.py
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

from immunopet.dosimetry.kernels import dose_voxel_kernel
from immunopet.dosimetry.kernels.media import get_medium
from immunopet.dosimetry.kernels.point_kernel import electron_shell_energy, electron_sources
from immunopet.dosimetry.kernels.voxel import MEV_TO_J, _rotations, _shell_edges_cm, _splat
from immunopet.dosimetry.sphere import sphere_s_value

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "external"
NAMES = {"131I": "I-131", "177Lu": "Lu-177", "90Y": "Y-90"}
OFFSETS = {"centre": (0, 0, 0), "face": (0, 0, 1), "edge": (0, 1, 1), "corner": (1, 1, 1),
           "(0,0,2)": (0, 0, 2)}  # fmt: skip

# Lu-177 spheres, PyTheranostics spheres.json "100%/0%" (commit 4addf86), Gy/(Bq·s), 1.03 g/cm³
LU177_SPHERES = [
    (4.31e-03, 4.54e-09), (1.46e-02, 1.44e-09), (3.45e-02, 6.29e-10), (1.16e-01, 1.93e-10),
    (2.76e-01, 8.26e-11), (5.39e-01, 4.27e-11), (9.32e-01, 2.49e-11), (2.21e00, 1.06e-11),
    (4.31e00, 5.46e-12), (1.46e01, 1.63e-12), (3.45e01, 6.93e-13), (1.16e02, 2.07e-13),
    (2.76e02, 8.81e-14), (5.39e02, 4.54e-14), (9.32e02, 2.65e-14),
]  # fmt: skip
# Tb-152 OLINDA/EXM 2 unit-density spheres, PMC6560118 Table 3, mGy/(MBq·h)
TB152_OLINDA2 = [(0.1, 678.0), (0.5, 184.0), (1.0, 111.0), (2.0, 60.9), (4.0, 33.0),
                 (6.0, 23.0), (8.0, 17.8), (10.0, 14.6)]  # fmt: skip


def _lanconelli(path: Path) -> dict[tuple[int, int, int], float]:
    rows = np.loadtxt(path, skiprows=2, encoding="latin-1")
    return {(int(i), int(j), int(k)): float(s) for i, j, k, s in rows}


def _ours(kernel, ijk):
    a = kernel.array_mgy_per_mbq_s
    c = np.array(a.shape) // 2
    return float(a[c[0] + ijk[2], c[1] + ijk[1], c[2] + ijk[0]])


def line_electron_kernel(nuclide: str, voxel_mm: float, half_width: int) -> np.ndarray:
    """Voxel kernel (mGy/(MBq·s)) of the IC + Auger electrons alone, soft tissue."""
    med = get_medium("soft_tissue")
    a_cm = np.full(3, voxel_mm / 10.0)
    hw = np.full(3, half_width, dtype=np.int64)
    edges = _shell_edges_cm(a_cm, hw)
    e, y, _ = electron_sources(nuclide, kinds=("IE", "auger"))
    shells, _, _ = electron_shell_energy(e, y, med.name, edges)
    r_mid = 0.5 * (edges[1:] + edges[:-1])
    k, _ = _splat(r_mid, shells, np.full(r_mid.size, 2048), _rotations(r_mid.size, 1), a_cm, hw)
    return k * MEV_TO_J / (med.density_g_cm3 * float(np.prod(a_cm)) * 1e-3) * 1e9


def lanconelli_table(folder: Path) -> list[dict[str, float]]:
    out = []
    for path in sorted(folder.glob("*soft.txt")):
        m = re.match(r"(\d+[A-Za-z]+?)([\d.]+)mmsoft\.txt", path.name)
        if not m or m.group(1) not in NAMES:
            continue
        nuclide, size = NAMES[m.group(1)], float(m.group(2))
        ref = _lanconelli(path)
        k = dose_voxel_kernel(nuclide, size, "soft_tissue", half_width=6)
        row: dict[str, float] = {"nuclide": nuclide, "voxel_mm": size}
        for name, ijk in OFFSETS.items():
            row[name] = _ours(k, ijk) / ref[ijk]
        lines = line_electron_kernel(nuclide, size, 6)
        row["β-only centre"] = (_ours(k, (0, 0, 0)) - lines[6, 6, 6]) / ref[(0, 0, 0)]
        mult = {ijk: 2 ** sum(x > 0 for x in ijk) for ijk in ref}
        row["sum 11³"] = sum(mult[ijk] * _ours(k, ijk) for ijk in ref) / sum(
            mult[ijk] * s for ijk, s in ref.items()
        )
        out.append(row)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args()
    ref = args.reference
    t0 = time.perf_counter()
    lan = ref / "lanconelli2012-voxel-s"
    if lan.is_dir():
        print("ours / Lanconelli et al. 2012 (soft tissue, 1.04 g/cm³)")
        cols = ["centre", "face", "edge", "corner", "(0,0,2)", "sum 11³", "β-only centre"]
        print(f"{'nuclide':8s}{'mm':>6s} " + " ".join(f"{c:>8s}" for c in cols))
        print("  (β-only: our kernel without the IC and Auger lines, a diagnostic of the source)")
        rows = sorted(lanconelli_table(lan), key=lambda r: (r["nuclide"], r["voxel_mm"]))
        for r in rows:
            print(
                f"{r['nuclide']:8s}{r['voxel_mm']:6.2f} " + " ".join(f"{r[c]:8.3f}" for c in cols)
            )
        for n in NAMES.values():
            c = [r["centre"] for r in rows if r["nuclide"] == n]
            f = [r["face"] for r in rows if r["nuclide"] == n]
            if c:
                print(
                    f"  {n}: centre {min(c) - 1:+.1%} … {max(c) - 1:+.1%}, "
                    f"face {min(f) - 1:+.1%} … {max(f) - 1:+.1%}"
                )
    dvk = ref / "pytheranostics-lu177-dvk" / "DK_softtissueICRP_mGyperMBqs.img"
    if dvk.is_file():
        pyt = np.fromfile(dvk, "<f4").reshape(51, 51, 51)
        print(
            "\nLu-177 kernel at 4.7952 mm, mGy/(MBq·s): PyTheranostics vs ours (vs Lanconelli 4.8)"
        )
        lan48 = _lanconelli(lan / "177Lu4.8mmsoft.txt") if lan.is_dir() else {}
        for medium in ("soft_tissue", "water"):
            k = dose_voxel_kernel("Lu-177", 4.7952, medium, half_width=25)
            a = k.array_mgy_per_mbq_s
            for name, ijk in (("centre", (0, 0, 0)), ("face", (0, 0, 1)), ("(0,0,2)", (0, 0, 2))):
                p = float(pyt[25 + ijk[2], 25 + ijk[1], 25 + ijk[0]])
                o = _ours(k, ijk)
                lv = lan48.get(ijk, float("nan"))
                print(
                    f"  ours ({medium:11s}) {name:8s} {o:.4e}  PyTheranostics {p:.4e} "
                    f"({p / o - 1:+.1%})  Lanconelli {lv:.4e} ({lv / o - 1:+.1%})"
                )
            print(
                f"  ours ({medium:11s}) sum 51³ {a.astype(float).sum():.4f}  "
                f"PyTheranostics {pyt.astype(float).sum():.4f}"
            )
    print("\nLu-177 spheres (1.03 g/cm³): ours / PyTheranostics spheres.json '100%/0%'")
    for m, s in LU177_SPHERES:
        v = sphere_s_value("Lu-177", m, 1.03)
        print(
            f"  {m:9.4g} g  S {v.s_mgy_per_mbq_s * 1e-9:.3e} Gy/(Bq·s)  ref {s:.3e}  "
            f"ratio {v.s_mgy_per_mbq_s * 1e-9 / s:.3f}  φ_e {v.electron_absorbed_fraction:.3f}"
        )
    print("\nTb-152 unit-density spheres: ours / OLINDA/EXM 2 (PMC6560118 Table 3), mGy/(MBq·h)")
    for m, s in TB152_OLINDA2:
        v = sphere_s_value("Tb-152", m, 1.0)
        ours = v.s_mgy_per_mbq_s * 3600.0
        print(
            f"  {m:5.1f} g  ours {ours:8.2f} (e {v.electron_mgy_per_mbq_s * 3600:7.2f}, "
            f"γ {v.photon_mgy_per_mbq_s * 3600:6.2f})  OLINDA {s:7.2f}  ratio {ours / s:.3f}"
        )
    print(f"\n(run time {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
