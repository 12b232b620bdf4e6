"""Photon point kernels in an infinite homogeneous medium (this package's photon physics).

Monoenergetic photons start isotropically at the origin of an unbounded medium of unit
density and are tracked with the interaction physics of
:mod:`immunopet.dosimetry.transport` (NIST XCOM cross sections, photoelectric absorption,
Klein–Nishina scattering with Kahn's sampling, pair production with annihilation photons;
Rayleigh scattering omitted; kerma approximation: the energy given to electrons is scored
at the interaction point). The score is the energy deposited in spherical shells of
mass radius ρr (g/cm²) as a fraction of the initial energy — the photon energy-absorption
point kernel, i.e. the buildup-factor form of Berger's point kernel
(Berger, MIRD Pamphlet 2, J Nucl Med 1968;9 Suppl 1:15) obtained by Monte Carlo instead
of from buildup-factor fits. Photons beyond the last shell are tallied as escaped.
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- numba's legacy np.random stream inside jitted code, seeded per call.
import numba
import numpy as np

from ..photon_interactions import _cross_sections, _interact, _isotropic, photon_tables
from ..xsections import MATERIAL_CODES

__all__ = ["PHOTON_SHELL_EDGES_G_CM2", "simulate_photon_point_kernel"]

#: Shell edges (g/cm²): 0.01 to 2, 0.1 to 20, 1 to 100.
PHOTON_SHELL_EDGES_G_CM2 = np.concatenate(
    [np.linspace(0.0, 2.0, 201), np.linspace(2.1, 20.0, 180), np.linspace(21.0, 100.0, 80)]
)


@numba.njit(cache=True)
def _point_histories(energy_mev, n_hist, seed, mat, xs, log_e0, dlog_e, edges):
    np.random.seed(seed)
    n_mat = xs.shape[0]
    partial = np.zeros((n_mat, 3))
    n_bins = edges.size - 1
    tally = np.zeros(n_bins + 1)
    r_max = edges[-1]
    st = np.zeros((64, 7))
    for _ in range(n_hist):
        x = 0.0
        y = 0.0
        z = 0.0
        u, v, w = _isotropic()
        e = energy_mev
        n_st = 0
        while True:
            while True:
                _cross_sections(xs, log_e0, dlog_e, e, partial)
                mu = partial[mat, 0] + partial[mat, 1] + partial[mat, 2]
                s = -np.log(1.0 - np.random.random()) / mu
                x += s * u
                y += s * v
                z += s * w
                r = np.sqrt(x * x + y * y + z * z)
                if r >= r_max:
                    tally[n_bins] += e
                    break
                dep, e_new, u, v, w, n_pair = _interact(e, partial, mat, u, v, w)
                b = np.searchsorted(edges, r) - 1
                tally[max(b, 0)] += dep
                if n_pair > 0 and n_st < 64:
                    st[n_st, 0] = x
                    st[n_st, 1] = y
                    st[n_st, 2] = z
                    st[n_st, 3] = -u
                    st[n_st, 4] = -v
                    st[n_st, 5] = -w
                    st[n_st, 6] = e_new
                    n_st += 1
                if e_new <= 0.0:
                    break
                e = e_new
            if n_st == 0:
                break
            n_st -= 1
            x, y, z = st[n_st, 0], st[n_st, 1], st[n_st, 2]
            u, v, w, e = st[n_st, 3], st[n_st, 4], st[n_st, 5], st[n_st, 6]
    return tally / (n_hist * energy_mev)


def simulate_photon_point_kernel(
    energy_mev: float, material: str, *, n_histories: int = 100_000, seed: int = 0
) -> np.ndarray:
    """Fraction of ``energy_mev`` deposited per shell of :data:`PHOTON_SHELL_EDGES_G_CM2`.

    Returns
    -------
    numpy.ndarray
        ``len(edges)`` elements: one per shell, the last the escaped fraction (beyond
        100 g/cm²); they sum to 1.
    """
    xs, log_e0, dlog_e = photon_tables()
    return _point_histories(
        float(energy_mev),
        int(n_histories),
        int(seed),
        MATERIAL_CODES[material],
        xs,
        log_e0,
        dlog_e,
        PHOTON_SHELL_EDGES_G_CM2,
    )
