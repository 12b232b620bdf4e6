"""Sphere model for tumour (lesion) self-dose.

S(sphere ← sphere) for activity uniformly distributed in a homogeneous sphere (MIRD
schema, MIRD Pamphlet 21 eq. 3: S = Σ_i Δ_i φ_i / m):

* non-penetrating radiations (β±, IC and Auger electrons, alpha; ICRP-107 via
  :func:`~immunopet.dosimetry.emission.emission_spectrum`) are absorbed in the sphere
  (φ = 1). This holds when the sphere is much larger than the electron ranges: the CSDA
  range of a 0.2 MeV electron in water is ≈ 0.045 cm and of a 1 MeV one ≈ 0.44 cm
  (ICRU Report 37 / NIST ESTAR), so for spheres of ≳ 5 g (radius ≳ 1 cm) the electron
  escape is a few per cent at most, but for sub-gram spheres of high-energy β emitters
  (I-124 β⁺ E_max ≈ 2.1 MeV) φ_e = 1 overestimates the dose (Stabin & Konijnenberg,
  J Nucl Med 2000;41:149–160, give electron AFs for small spheres; not applied here).
* photons: absorbed fractions φ(E, m) from this package's Monte Carlo
  (:mod:`.transport` physics, analytic sphere geometry), precomputed for unit-density
  ICRU-44 soft tissue by ``scripts/make_sphere_af.py`` into ``data/sphere_af.npz`` and
  interpolated bilinearly in (ln E, ln m) of ln φ. Other densities use the exact scaling of a
  homogeneous medium: all lengths scale as 1/ρ, so φ(E, m, ρ) = φ(E, m·ρ², ρ = 1).
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- inside numba-jitted code the random stream is numba's legacy
# np.random API (np.random.seed / np.random.random), seeded per call.
import functools
from importlib import resources

import numba
import numpy as np

from ..core.errors import InputError
from ..core.nuclides import Nuclide
from .emission import emission_spectrum
from .transport import _cross_sections, _interact, _isotropic, photon_tables
from .xsections import MATERIAL_CODES

__all__ = [
    "MEV_TO_J",
    "simulate_sphere_absorbed_fraction",
    "sphere_absorbed_fraction",
    "sphere_dose_gy",
    "sphere_self_dose_gy_per_bq_s",
]

#: 1 MeV in joules (CODATA 2018: e = 1.602176634e-19 C).
MEV_TO_J = 1.602176634e-13


@numba.njit(cache=True)
def _sphere_kernel(
    radius_cm,
    density,
    mat,
    energy_mev,
    n_hist,
    seed,
    n_batches,
    max_interactions,
    xs,
    log_e0,
    dlog_e,
):
    """Photons from a uniform source in a homogeneous sphere; deposited energy per batch."""
    np.random.seed(seed)
    n_mat = xs.shape[0]
    partial = np.zeros((n_mat, 3))
    dep_batch = np.zeros(n_batches)
    r2max = radius_cm * radius_cm
    st = np.zeros((32, 7))
    for h in range(n_hist):
        b = (h * n_batches) // n_hist
        rr = radius_cm * np.random.random() ** (1.0 / 3.0)
        ux, uy, uz = _isotropic()
        x, y, z = rr * ux, rr * uy, rr * uz
        u, v, w = _isotropic()
        e = energy_mev
        n_st = 0
        while True:
            n_int = 0
            while True:
                _cross_sections(xs, log_e0, dlog_e, e, partial)
                mu = (partial[mat, 0] + partial[mat, 1] + partial[mat, 2]) * density
                s = -np.log(1.0 - np.random.random()) / mu
                x += s * u
                y += s * v
                z += s * w
                if x * x + y * y + z * z > r2max:
                    break
                dep, e_new, u, v, w, n_pair = _interact(e, partial, mat, u, v, w)
                n_int += 1
                if e_new > 0.0 and e_new < 1e-3:
                    dep += e_new
                    e_new = 0.0
                dep_batch[b] += dep
                if n_pair > 0 and n_int < max_interactions:
                    st[n_st, 0] = x
                    st[n_st, 1] = y
                    st[n_st, 2] = z
                    st[n_st, 3] = -u
                    st[n_st, 4] = -v
                    st[n_st, 5] = -w
                    st[n_st, 6] = e_new
                    n_st += 1
                if e_new <= 0.0 or n_int >= max_interactions:
                    break
                e = e_new
            if n_st == 0:
                break
            n_st -= 1
            x, y, z, u, v, w, e = (
                st[n_st, 0],
                st[n_st, 1],
                st[n_st, 2],
                st[n_st, 3],
                st[n_st, 4],
                st[n_st, 5],
                st[n_st, 6],
            )
    return dep_batch


def simulate_sphere_absorbed_fraction(
    energy_mev: float,
    mass_g: float,
    *,
    density_g_cm3: float = 1.0,
    material: str = "soft_tissue",
    n_histories: int = 100_000,
    seed: int = 0,
    n_batches: int = 10,
    max_interactions: int = 1_000_000,
) -> tuple[float, float]:
    """Monte Carlo absorbed fraction of monoenergetic photons uniform in a sphere.

    Same physics as :func:`~immunopet.dosimetry.transport.transport_photons`, with the
    exact (not voxelised) sphere surface.

    Parameters
    ----------
    energy_mev
        Photon energy (1 keV–10 MeV).
    mass_g, density_g_cm3
        Sphere mass and density; radius = (3 m / 4πρ)^(1/3).
    material
        Material name (:data:`~immunopet.dosimetry.xsections.MATERIAL_CODES`).
    n_histories, seed, n_batches
        Monte Carlo settings; the SD is from ``n_batches`` batches.
    max_interactions
        Stop each photon after this many real interactions (its remaining energy counts as
        escaped); 1 gives the first-collision absorbed fraction.

    Returns
    -------
    (absorbed_fraction, sd)
    """
    if not 1e-3 <= energy_mev <= 10.0:
        raise InputError(
            "photon energy must lie in 1 keV–10 MeV", field="energy_mev", value=energy_mev
        )
    if mass_g <= 0 or density_g_cm3 <= 0:
        raise InputError("sphere mass and density must be positive", field="mass_g", value=mass_g)
    xs, log_e0, dlog_e = photon_tables()
    radius_cm = (3.0 * mass_g / (4.0 * np.pi * density_g_cm3)) ** (1.0 / 3.0)
    dep = _sphere_kernel(
        radius_cm,
        float(density_g_cm3),
        MATERIAL_CODES[material],
        float(energy_mev),
        int(n_histories),
        int(seed),
        int(n_batches),
        int(max_interactions),
        xs,
        log_e0,
        dlog_e,
    )
    af = dep.sum() / (n_histories * energy_mev)
    sd = np.sqrt(n_batches) * dep.std(ddof=1) / (n_histories * energy_mev)
    return float(af), float(sd)


@functools.lru_cache(maxsize=1)
def _af_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref = resources.files("immunopet.dosimetry") / "data" / "sphere_af.npz"
    with resources.as_file(ref) as path, np.load(path) as z:
        return z["energy_mev"].copy(), z["mass_g"].copy(), z["absorbed_fraction"].copy()


def sphere_absorbed_fraction(
    energy_mev: float | np.ndarray, mass_g: float, density_g_cm3: float = 1.0
) -> np.ndarray:
    """Photon self-absorbed fraction φ(E, m) of a soft-tissue sphere (shipped MC table).

    Bilinear interpolation of ln φ in (ln E, ln m·ρ²) of ``data/sphere_af.npz``; energies and
    masses beyond the table are clamped to its edges (φ → its edge values).

    Parameters
    ----------
    energy_mev
        Photon energies (MeV).
    mass_g, density_g_cm3
        Sphere mass and density.

    Returns
    -------
    numpy.ndarray
        φ, same shape as ``energy_mev``.
    """
    if mass_g <= 0 or density_g_cm3 <= 0:
        raise InputError(
            f"sphere mass and density must be positive, got {mass_g} g at {density_g_cm3} g/cm³",
            field="mass_g",
            value=mass_g,
        )
    e_grid, m_grid, af = _af_table()
    le = np.log(np.clip(np.asarray(energy_mev, dtype=float), e_grid[0], e_grid[-1]))
    lm = np.log(np.clip(mass_g * density_g_cm3**2, m_grid[0], m_grid[-1]))
    lm_grid = np.log(m_grid)
    j = int(np.clip(np.searchsorted(lm_grid, lm) - 1, 0, len(m_grid) - 2))
    fm = (lm - lm_grid[j]) / (lm_grid[j + 1] - lm_grid[j])
    log_af = np.log(np.maximum(af, 1e-12))
    col = (1 - fm) * log_af[:, j] + fm * log_af[:, j + 1]
    return np.exp(np.interp(le, np.log(e_grid), col))


def sphere_self_dose_gy_per_bq_s(
    nuclide: str | Nuclide, mass_g: float, density_g_cm3: float = 1.0
) -> float:
    """S(sphere ← sphere) in Gy/(Bq·s) for a nuclide uniformly distributed in a sphere.

    S = [Δ_np + Σ_i y_i E_i φ(E_i, m)] · (1.602e-13 J/MeV) / (m / 1000 kg), with Δ_np the
    non-penetrating energy per decay (absorbed fully) and φ the photon absorbed fraction
    (:func:`sphere_absorbed_fraction`).

    Parameters
    ----------
    nuclide
        Any accepted spelling (``"I-124"``).
    mass_g, density_g_cm3
        Sphere mass and density (the sphere model's default is unit density).

    Returns
    -------
    float
        Gy per (Bq·s) of time-integrated activity.

    Raises
    ------
    InputError
        Non-positive mass or density.
    UnknownNuclideError
        Unknown nuclide.
    """
    spec = emission_spectrum(nuclide)
    if spec.photon_energy_mev.size:
        phi = sphere_absorbed_fraction(spec.photon_energy_mev, mass_g, density_g_cm3)
        photon_mev = float(np.sum(spec.photon_yield * spec.photon_energy_mev * phi))
    else:
        sphere_absorbed_fraction(1.0, mass_g, density_g_cm3)  # validates the inputs
        photon_mev = 0.0
    return (spec.electron_energy_per_decay_mev + photon_mev) * MEV_TO_J / (mass_g * 1e-3)


def sphere_dose_gy(
    nuclide: str | Nuclide, mass_g: float, tia_bq_h: float, density_g_cm3: float = 1.0
) -> float:
    """Absorbed dose (Gy) to a sphere from its own time-integrated activity (Bq·h).

    Raises
    ------
    InputError
        Negative time-integrated activity, non-positive mass or density.
    """
    if not np.isfinite(tia_bq_h) or tia_bq_h < 0:
        raise InputError(
            "time-integrated activity must be finite and ≥ 0 Bq·h", field="tia_bq_h", value=tia_bq_h
        )
    return sphere_self_dose_gy_per_bq_s(nuclide, mass_g, density_g_cm3) * tia_bq_h * 3600.0
