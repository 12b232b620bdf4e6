"""Tests of immunopet.dosimetry.sphere: photon absorbed fractions and sphere S-values.

Published sphere absorbed-fraction tables (Stabin & Konijnenberg, J Nucl Med 2000;41:149;
Brownell, Ellett & Reddy, MIRD Pamphlet 3, 1968) could not be consulted from this
environment, so the Monte Carlo is validated against limits that follow exactly from
published physics instead:

* first-collision absorbed fraction of a uniform sphere source,
  φ₁ = (μ_tr/μ) · (1 − P₀(μR)), with the first-flight escape probability
  P₀(τ) = 3/(8τ³) · [2τ² − 1 + (1 + 2τ) e^(−2τ)] (Case, de Hoffmann & Placzek,
  *Introduction to the Theory of Neutron Diffusion*, LANL 1953, §7; Bell & Glasstone,
  *Nuclear Reactor Theory*, 1970, eq. 2.79) and μ_tr from XCOM partial cross sections with
  the Klein–Nishina mean energy transfer (Attix, *Introduction to Radiological Physics and
  Radiation Dosimetry*, 1986, ch. 7);
* the small-sphere limit φ → (μ_en/ρ) ρ · 3R/4 (mean escape distance 3R/4 of a uniform
  isotropic source), with μ_en/ρ of water from NIST (Hubbell & Seltzer, NISTIR 5632,
  Table 4: 0.5 MeV 0.03299, 1 MeV 0.03103, 2 MeV 0.02608 cm²/g);
* φ(E, m, ρ) = φ(E, m ρ², 1) (length scaling of a homogeneous medium).
"""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.errors import InputError
from immunopet.dosimetry.emission import emission_spectrum
from immunopet.dosimetry.kernels.point_kernel import radial_energy_deposition
from immunopet.dosimetry.kernels.spheres import nuclide_electron_absorbed_mev
from immunopet.dosimetry.sphere import (
    MEV_TO_J,
    simulate_sphere_absorbed_fraction,
    sphere_absorbed_fraction,
    sphere_dose_gy,
    sphere_self_dose_gy_per_bq_s,
)
from immunopet.dosimetry.xsections import mass_attenuation_cm2_per_g

M_E_MEV = 0.51099895


def _kn_mean_transfer_fraction(energy_mev: float) -> float:
    """⟨T⟩/E for Klein–Nishina scattering (numerical integral of the KN cross section)."""
    alpha = energy_mev / M_E_MEV
    mu = np.linspace(-1.0, 1.0, 200_001)
    p = 1.0 / (1.0 + alpha * (1.0 - mu))
    pdf = p**2 * (p + 1.0 / p - (1.0 - mu**2))
    return 1.0 - np.trapezoid(pdf * p, mu) / np.trapezoid(pdf, mu)


def _first_flight_escape(tau: float) -> float:
    return 3.0 / (8.0 * tau**3) * (2 * tau**2 - 1 + (1 + 2 * tau) * np.exp(-2 * tau))


@pytest.mark.parametrize("energy_mev", [0.03, 0.1, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("mass_g", [1.0, 100.0])
def test_first_collision_absorbed_fraction_matches_analytic(energy_mev, mass_g):
    photo, incoh, pair = (
        float(mass_attenuation_cm2_per_g("water", energy_mev, process=p))
        for p in ("photoelectric", "incoherent", "pair")
    )
    mu_rho = photo + incoh + pair  # coherent scattering is not transported
    mu_tr_rho = (
        photo
        + incoh * _kn_mean_transfer_fraction(energy_mev)
        + pair * (energy_mev - 2 * M_E_MEV) / energy_mev
    )
    radius_cm = (3 * mass_g / (4 * np.pi)) ** (1 / 3)
    expected = mu_tr_rho / mu_rho * (1 - _first_flight_escape(mu_rho * radius_cm))
    af, sd = simulate_sphere_absorbed_fraction(
        energy_mev, mass_g, material="water", n_histories=200_000, max_interactions=1, seed=4
    )
    assert af == pytest.approx(expected, rel=max(0.02, 4 * sd / af))


@pytest.mark.parametrize(
    ("energy_mev", "mu_en_rho"), [(0.5, 0.03299), (1.0, 0.03103), (2.0, 0.02608)]
)
def test_small_sphere_limit_matches_nist_mu_en(energy_mev, mu_en_rho):
    mass_g = 0.01
    radius_cm = (3 * mass_g / (4 * np.pi)) ** (1 / 3)
    expected = mu_en_rho * 0.75 * radius_cm
    af, sd = simulate_sphere_absorbed_fraction(
        energy_mev, mass_g, material="water", n_histories=2_000_000, seed=9
    )
    assert sd / af < 0.02
    assert af == pytest.approx(expected, rel=0.05)


def test_density_scaling_of_absorbed_fraction():
    a, sa = simulate_sphere_absorbed_fraction(0.3, 10.0, density_g_cm3=2.0, n_histories=100_000)
    b, sb = simulate_sphere_absorbed_fraction(
        0.3, 40.0, density_g_cm3=1.0, n_histories=100_000, seed=1
    )
    assert a == pytest.approx(b, abs=4 * np.hypot(sa, sb))
    assert sphere_absorbed_fraction(0.3, 10.0, 2.0) == pytest.approx(
        sphere_absorbed_fraction(0.3, 40.0)
    )


def test_absorbed_fraction_limits_and_monotonic_in_mass():
    masses = np.geomspace(0.1, 5000, 12)
    af = np.array([sphere_absorbed_fraction(0.662, m) for m in masses])
    assert np.all(np.diff(af) > 0)
    assert sphere_absorbed_fraction(0.01, 100.0) > 0.9  # 10 keV: mean free path 2 mm
    assert 0 < sphere_absorbed_fraction(2.0, 1.0) < 0.02


@pytest.mark.parametrize(
    ("energy_mev", "mass_g"), [(0.015, 3.0), (0.14, 30.0), (0.364, 300.0), (1.3, 2000.0)]
)
def test_table_interpolation_matches_direct_monte_carlo(energy_mev, mass_g):
    direct, sd = simulate_sphere_absorbed_fraction(energy_mev, mass_g, n_histories=100_000, seed=2)
    assert sphere_absorbed_fraction(energy_mev, mass_g) == pytest.approx(
        direct, rel=max(0.03, 3 * sd / direct)
    )


def test_self_dose_of_f18_in_100_g_sphere():
    spec = emission_spectrum("F-18")
    phi = float(sphere_absorbed_fraction(0.511, 100.0))
    electron_mev, emitted = nuclide_electron_absorbed_mev("F-18", 100.0)
    assert emitted == pytest.approx(spec.electron_energy_per_decay_mev, rel=1e-6)
    # F-18 positrons (mean 0.25 MeV, CSDA range ≈ 0.08 cm) in a 2.9 cm sphere: φ_e ≈ 0.99
    assert 0.98 < electron_mev / emitted < 1.0
    expected = (electron_mev + spec.photon_energy_per_decay_mev * phi) * MEV_TO_J / 0.1
    assert sphere_self_dose_gy_per_bq_s("F-18", 100.0) == pytest.approx(expected, rel=1e-3)


def test_electron_self_dose_tends_to_full_absorption_in_large_spheres():
    # Y-90: a pure β⁻ emitter in ICRP-107 at yields ≥ 1e-6 (mean β energy 0.9327 MeV).
    spec = emission_spectrum("Y-90")
    assert spec.photon_energy_per_decay_mev < 1e-4
    full = spec.electron_energy_per_decay_mev * MEV_TO_J
    absorbed = [sphere_self_dose_gy_per_bq_s("Y-90", m) * m * 1e-3 / full for m in (1, 10, 1000)]
    assert absorbed[0] < absorbed[1] < absorbed[2] <= 1.0
    # R = 6.2 cm > the 1.1 cm maximum β range, so G(r) = 1 − 3r/4R + r³/16R³ holds for every
    # deposit and 1 − φ_e = brems + (3/4)⟨r⟩/R − ⟨r³⟩/(16R³), moments of the point kernel.
    radius = (3 * 1000 / (4 * np.pi)) ** (1 / 3)
    edges = np.linspace(0.0, 2.0, 4001)
    dep = radial_energy_deposition("Y-90", "soft_tissue", edges, density_g_cm3=1.0)
    r = 0.5 * (edges[1:] + edges[:-1])
    w = dep.electron_mev / spec.electron_energy_per_decay_mev
    expected = np.sum(w * (1 - 0.75 * r / radius + r**3 / (16 * radius**3)))
    assert absorbed[2] == pytest.approx(expected, rel=2e-3)
    assert absorbed[0] < 0.8  # R = 0.62 cm, comparable with the β ranges


def test_photon_share_of_i124_self_dose_grows_with_mass():
    ratio_small = sphere_self_dose_gy_per_bq_s("I-124", 1.0) * 1.0
    ratio_big = sphere_self_dose_gy_per_bq_s("I-124", 1000.0) * 1000.0
    assert ratio_big > 1.5 * ratio_small  # m·S = absorbed energy per decay


def test_sphere_dose_is_linear_in_tia_and_rejects_bad_input():
    d1 = sphere_dose_gy("Zr-89", 20.0, 1e9)
    assert sphere_dose_gy("Zr-89", 20.0, 2e9) == pytest.approx(2 * d1)
    assert d1 == pytest.approx(sphere_self_dose_gy_per_bq_s("Zr-89", 20.0) * 3.6e12)
    with pytest.raises(InputError):
        sphere_dose_gy("Zr-89", 20.0, -1.0)
    with pytest.raises(InputError):
        sphere_self_dose_gy_per_bq_s("Zr-89", 0.0)


@pytest.mark.slow
def test_shipped_table_and_first_collision_over_15_kev_to_2_mev():
    """Shipped AF table vs fresh MC, and first-collision MC vs analytic, 10 g–1 kg.

    Catches a stale ``data/sphere_af.npz`` after a physics change (rerun
    ``scripts/make_sphere_af.py``); the full table is printed by benchmarks/bench_transport.py.
    """
    energies = (0.015, 0.03, 0.1, 0.5, 1.0, 2.0)
    for mass_g in (10.0, 100.0, 1000.0):
        for energy in energies:
            af, sd = simulate_sphere_absorbed_fraction(energy, mass_g, n_histories=100_000, seed=5)
            assert sphere_absorbed_fraction(energy, mass_g) == pytest.approx(
                af, rel=max(0.035, 4 * sd / af)
            ), (energy, mass_g)
            photo, incoh, pair = (
                float(mass_attenuation_cm2_per_g("soft_tissue", energy, process=p))
                for p in ("photoelectric", "incoherent", "pair")
            )
            mu_rho = photo + incoh + pair
            mu_tr = photo + incoh * _kn_mean_transfer_fraction(energy)
            mu_tr += pair * (energy - 2 * M_E_MEV) / energy
            tau = mu_rho * (3 * mass_g / (4 * np.pi)) ** (1 / 3)
            exact = mu_tr / mu_rho * (1 - _first_flight_escape(tau))
            af1, sd1 = simulate_sphere_absorbed_fraction(
                energy, mass_g, n_histories=100_000, seed=6, max_interactions=1
            )
            assert af1 == pytest.approx(exact, rel=max(0.02, 4 * sd1 / af1)), (energy, mass_g)
