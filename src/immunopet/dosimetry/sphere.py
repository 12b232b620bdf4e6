"""Sphere model for tumour (lesion) self-dose.

S(sphere ← sphere) for activity uniformly distributed in a homogeneous sphere (MIRD
schema, MIRD Pamphlet 21 eq. 3: S = Σ_i Δ_i φ_i / m):

* electrons (ICRP-107 β± spectra, IC and Auger lines): absorbed fractions φ_e(E, m, ρ)
  from immunopet's electron point kernels and the sphere's geometric reduction factor
  (:mod:`immunopet.dosimetry.kernels.spheres`); they matter for sub-gram spheres and
  high-energy β emitters (φ_e ≈ 0.45 for Tb-152 at 0.1 g, 0.97 for Lu-177 at 1 g).
  Alpha energy is absorbed in full.
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
from dataclasses import dataclass
from importlib import resources

import numba
import numpy as np

from ..core.errors import InputError
from ..core.nuclides import Nuclide
from .emission import MEV_TO_J, emission_spectrum
from .kernels.spheres import nuclide_electron_absorbed_mev
from .transport import _cross_sections, _interact, _isotropic, photon_tables
from .xsections import MATERIAL_CODES

__all__ = [
    "MEV_TO_J",
    "SphereSValue",
    "lesion_sphere_s_value",
    "sphere_s_value",
    "simulate_sphere_absorbed_fraction",
    "sphere_absorbed_fraction",
    "sphere_dose_gy",
    "sphere_self_dose_gy_per_bq_s",
]


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


@dataclass(frozen=True)
class SphereSValue:
    """S(sphere ← sphere) of a nuclide uniform in a homogeneous sphere, by radiation kind.

    Attributes
    ----------
    nuclide, mass_g, density_g_per_ml
        What was computed.
    electron_mgy_per_mbq_s, photon_mgy_per_mbq_s
        Electron (β±, IC, Auger; + alpha) and photon (γ, X, annihilation) parts.
    electron_absorbed_fraction, photon_absorbed_fraction
        Energy-weighted absorbed fractions of each part.
    method
        How the parts were computed (one line).
    """

    nuclide: str
    mass_g: float
    density_g_per_ml: float
    electron_mgy_per_mbq_s: float
    photon_mgy_per_mbq_s: float
    electron_absorbed_fraction: float
    photon_absorbed_fraction: float
    method: str

    @property
    def s_mgy_per_mbq_s(self) -> float:
        """Total S-value (electrons + photons)."""
        return self.electron_mgy_per_mbq_s + self.photon_mgy_per_mbq_s


SPHERE_METHOD = (
    "MIRD sphere model: electron φ_e from immunopet's electron point kernels (condensed-history "
    "MC, ESTAR) × sphere geometric reduction factor; photon φ from immunopet's photon MC "
    "(XCOM, ICRU-44 soft tissue); ICRP-107 emissions"
)


def sphere_s_value(
    nuclide: str | Nuclide, mass_g: float, density_g_cm3: float = 1.0
) -> SphereSValue:
    """Electron and photon parts of S(sphere ← sphere) in mGy/(MBq·s).

    S = [Σ y_e E_e φ_e(E_e, m, ρ) + Σ y_γ E_γ φ_γ(E_γ, m, ρ)] · 1.602e-13 J/MeV / m
    (MIRD Pamphlet 21, eq. 3).

    Raises
    ------
    InputError
        Non-positive or non-finite mass or density.
    UnknownNuclideError
        Unknown nuclide.
    """
    spec = emission_spectrum(nuclide)
    if not (np.isfinite(mass_g) and np.isfinite(density_g_cm3)):
        raise InputError("sphere mass and density must be finite", field="mass_g", value=mass_g)
    phi = sphere_absorbed_fraction(
        spec.photon_energy_mev if spec.photon_energy_mev.size else 1.0, mass_g, density_g_cm3
    )
    photon_mev = float(np.sum(spec.photon_yield * spec.photon_energy_mev * phi))
    electron_mev, emitted_e = nuclide_electron_absorbed_mev(nuclide, mass_g, density_g_cm3)
    to_mgy = MEV_TO_J / (mass_g * 1e-3) * 1e9  # MeV per decay → mGy/(MBq·s)
    emitted_p = spec.photon_energy_per_decay_mev
    return SphereSValue(
        nuclide=spec.nuclide,
        mass_g=float(mass_g),
        density_g_per_ml=float(density_g_cm3),
        electron_mgy_per_mbq_s=electron_mev * to_mgy,
        photon_mgy_per_mbq_s=photon_mev * to_mgy,
        electron_absorbed_fraction=electron_mev / emitted_e if emitted_e > 0 else 1.0,
        photon_absorbed_fraction=photon_mev / emitted_p if emitted_p > 0 else 0.0,
        method=SPHERE_METHOD,
    )


def lesion_sphere_s_value(
    nuclide: str | Nuclide, mass_g: float, density_g_per_ml: float = 1.0
) -> SphereSValue:
    """Self S-value of a lesion modelled as a sphere of its own mass (the pipeline's entry).

    Same as :func:`sphere_s_value`; dose = S · Ã (MBq·s) in mGy.
    """
    return sphere_s_value(nuclide, mass_g, density_g_per_ml)


def sphere_self_dose_gy_per_bq_s(
    nuclide: str | Nuclide, mass_g: float, density_g_cm3: float = 1.0
) -> float:
    """S(sphere ← sphere) in Gy/(Bq·s) for a nuclide uniformly distributed in a sphere.

    The total of :func:`sphere_s_value` (electron φ_e from the electron point kernels,
    photon φ from the shipped Monte Carlo table) in Gy/(Bq·s) (= 1e-9 mGy/(MBq·s)).

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
    return sphere_s_value(nuclide, mass_g, density_g_cm3).s_mgy_per_mbq_s * 1e-9


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
