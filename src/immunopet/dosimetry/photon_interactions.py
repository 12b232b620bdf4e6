"""Photon interaction physics shared by the voxel and sphere Monte Carlo kernels.

numba device functions (inlined into :func:`~immunopet.dosimetry.woodcock.woodcock_kernel`
and the sphere kernel of :mod:`.sphere`) and the cross-section table they read:

* :func:`photon_tables` — NIST XCOM partial mass attenuation coefficients (photoelectric,
  incoherent, pair) for the ICRU-44 materials of :mod:`.xsections`, on its log-uniform grid
  (300 points per decade);
* ``_cross_sections`` — those coefficients at one energy (linear interpolation in ln E);
* ``_interact`` — one real interaction: photoelectric absorption (energy deposited locally,
  kerma approximation), incoherent scattering (free-electron Klein–Nishina, no
  binding/Doppler correction; the Compton electron's energy is deposited locally) or pair
  production (E − 2 m_e c² deposited locally, two back-to-back 0.511 MeV photons);
* ``_kahn_klein_nishina`` — Klein–Nishina sampling by Kahn's rejection method (H. Kahn,
  *Applications of Monte Carlo*, RAND report AECU-3259, 1954; as given in the MCNP5 manual,
  LA-UR-03-1987, Vol. I §2-IV.C, and Lux & Koblinger, *Monte Carlo Particle Transport
  Methods*, 1991);
* ``_isotropic``, ``_rotate`` — direction sampling.

The random stream is numba's legacy ``np.random`` API, seeded by the calling kernel. The
underscored kernels keep their names (re-exported by :mod:`.transport`) because the sphere
kernel and the benchmarks import them from there.
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- inside numba-jitted code the random stream is numba's legacy
# np.random API (np.random.random), seeded by the calling kernel.
import numba
import numpy as np

from .emission import ELECTRON_MASS_MEV
from .xsections import load_xsections

__all__ = ["PHOTON_CUTOFF_MEV", "photon_tables"]

#: Photons below this energy (MeV) are absorbed locally: the first energy of the NIST XCOM
#: table of :mod:`.xsections` (1 keV), where their range in tissue is a few micrometres.
PHOTON_CUTOFF_MEV = 1e-3


def photon_tables() -> tuple[np.ndarray, float, float]:
    """(photoelectric, incoherent, pair) mass coefficients for the kernels.

    Returns
    -------
    (xs[m, e, 3] in cm²/g, log E0, Δ log E) on the log-uniform XCOM grid of
    :mod:`.xsections` (300 points per decade).
    """
    return load_xsections().transport_table()


@numba.njit(cache=True, inline="always")
def _cross_sections(xs, log_e0, dlog_e, energy_mev, out):
    """Fill out[m, 0..2] with (μ/ρ) photo, incoherent, pair (cm²/g) at energy_mev.

    Linear interpolation in ln E on the 300-per-decade grid: on such a fine grid this
    differs from log-log interpolation by < 1e-4 (relative) away from absorption edges,
    and avoids 15 exponentials per energy change.
    """
    n_e = xs.shape[1]
    t = (np.log(energy_mev) - log_e0) / dlog_e
    i = int(t)
    if i < 0:
        i = 0
    if i > n_e - 2:
        i = n_e - 2
    f = t - i
    for m in range(xs.shape[0]):
        for p in range(3):
            a = xs[m, i, p]
            out[m, p] = a + f * (xs[m, i + 1, p] - a)


@numba.njit(cache=True, inline="always")
def _kahn_klein_nishina(energy_mev):
    """Sample E'/E and cos θ for Compton scattering (Kahn 1954 rejection method).

    With α = E/m_ec² and η = E/E' ∈ [1, 1+2α], cos θ = 1 − (η − 1)/α.
    """
    alpha = energy_mev / ELECTRON_MASS_MEV
    while True:
        r1 = np.random.random()
        r2 = np.random.random()
        r3 = np.random.random()
        if r1 <= (1.0 + 2.0 * alpha) / (9.0 + 2.0 * alpha):
            eta = 1.0 + 2.0 * alpha * r2
            if r3 <= 4.0 * (1.0 / eta - 1.0 / (eta * eta)):
                break
        else:
            eta = (1.0 + 2.0 * alpha) / (1.0 + 2.0 * alpha * r2)
            mu = 1.0 - (eta - 1.0) / alpha
            if r3 <= 0.5 * (mu * mu + 1.0 / eta):
                break
    cos_t = 1.0 - (eta - 1.0) / alpha
    if cos_t < -1.0:
        cos_t = -1.0
    if cos_t > 1.0:
        cos_t = 1.0
    return 1.0 / eta, cos_t


@numba.njit(cache=True, inline="always")
def _isotropic():
    w = 2.0 * np.random.random() - 1.0
    phi = 2.0 * np.pi * np.random.random()
    s = np.sqrt(max(0.0, 1.0 - w * w))
    return s * np.cos(phi), s * np.sin(phi), w


@numba.njit(cache=True, inline="always")
def rotate_direction(u, v, w, cos_t, phi):
    """Direction at polar angle θ (``cos_t``) and azimuth ``phi`` about the unit vector (u, v, w)."""
    sin_t = np.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    cp = np.cos(phi)
    sp = np.sin(phi)
    if abs(w) > 0.99999:
        sgn = 1.0 if w > 0 else -1.0
        return sin_t * cp, sin_t * sp, sgn * cos_t
    den = np.sqrt(1.0 - w * w)
    nu = sin_t * (u * w * cp - v * sp) / den + u * cos_t
    nv = sin_t * (v * w * cp + u * sp) / den + v * cos_t
    nw = -sin_t * cp * den + w * cos_t
    norm = np.sqrt(nu * nu + nv * nv + nw * nw)
    return nu / norm, nv / norm, nw / norm


@numba.njit(cache=True, inline="always")
def _rotate(u, v, w, cos_t):
    """New direction at polar angle θ (cos_t) and uniform azimuth about (u, v, w)."""
    phi = 2.0 * np.pi * np.random.random()
    return rotate_direction(u, v, w, cos_t, phi)


@numba.njit(cache=True, inline="always")
def _interact(energy_mev, partial, m, u, v, w):
    """One real interaction in material m. Returns (deposit, E', u', v', w', n_pair_photons).

    partial[m, :] holds (photo, incoherent, pair) mass coefficients at energy_mev. A
    scattered photon below :data:`PHOTON_CUTOFF_MEV` is absorbed where it scattered
    (E' = 0, its energy in the deposit).
    """
    tot = partial[m, 0] + partial[m, 1] + partial[m, 2]
    r = np.random.random() * tot
    if r < partial[m, 0] or energy_mev <= PHOTON_CUTOFF_MEV:
        return energy_mev, 0.0, u, v, w, 0
    if r < partial[m, 0] + partial[m, 1] or energy_mev <= 2.0 * ELECTRON_MASS_MEV:
        ratio, cos_t = _kahn_klein_nishina(energy_mev)
        e_new = energy_mev * ratio
        nu, nv, nw = _rotate(u, v, w, cos_t)
        if e_new < PHOTON_CUTOFF_MEV:
            # (E − E') + E' as the callers summed it: the same deposit to the last bit.
            return (energy_mev - e_new) + e_new, 0.0, nu, nv, nw, 0
        return energy_mev - e_new, e_new, nu, nv, nw, 0
    # pair production: kinetic energy local, two annihilation photons
    nu, nv, nw = _isotropic()
    return energy_mev - 2.0 * ELECTRON_MASS_MEV, ELECTRON_MASS_MEV, nu, nv, nw, 1
