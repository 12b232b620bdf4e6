"""Photon transport speed and sphere absorbed fractions.

1. Photons per CPU second (``time.process_time``, so that other load on the machine does not
   count) of the Woodcock tracker (:func:`immunopet.dosimetry.transport_photons`)
   against a baseline with the same physics but conventional voxel-by-voxel ray marching
   (Siddon 1985 / Amanatides & Woo 1987 traversal, optical depth accumulated per voxel), both
   compiled with numba and run on one core, in a 4 mm voxel trunk phantom (water ellipsoid,
   lungs at 0.26 g/cm³, a bone column, air around). Both must deposit the same energy.
2. The photon absorbed-fraction table of unit-density soft-tissue spheres (15 keV–2 MeV,
   10 g–1 kg): shipped table, a fresh Monte Carlo, and the first-collision and small-sphere
   analytic limits used by the tests.

Run: ``.venv/bin/python benchmarks/bench_transport.py [--histories 300000]``
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- inside numba-jitted code the random stream is numba's legacy
# np.random API (np.random.seed / np.random.random), seeded per call.
import argparse
import time

import numba
import numpy as np

from immunopet.dosimetry import transport_photons
from immunopet.dosimetry.sphere import simulate_sphere_absorbed_fraction, sphere_absorbed_fraction
from immunopet.dosimetry.transport import _cross_sections, _interact, _isotropic, photon_tables
from immunopet.dosimetry.xsections import MATERIAL_CODES, mass_attenuation_cm2_per_g


def trunk_phantom(spacing_mm: float = 4.0):
    """Elliptical trunk 36 × 22 × 40 cm with lungs and a spine, in air."""
    nx, ny, nz = int(400 / spacing_mm), int(260 / spacing_mm), int(440 / spacing_mm)
    z, y, x = np.mgrid[:nz, :ny, :nx].astype(float) * spacing_mm
    cx, cy, cz = 200.0, 130.0, 220.0
    body = ((x - cx) / 180) ** 2 + ((y - cy) / 110) ** 2 <= 1.0
    body &= np.abs(z - cz) <= 200
    lungs = (((np.abs(x - cx) - 70) / 50) ** 2 + ((y - cy) / 70) ** 2 <= 1.0) & (z > cz)
    spine = ((x - cx) / 20) ** 2 + ((y - cy - 70) / 20) ** 2 <= 1.0
    mat = np.zeros(x.shape, dtype=np.uint8)
    dens = np.full(x.shape, 0.0012)
    mat[body] = MATERIAL_CODES["soft_tissue"]
    dens[body] = 1.06
    mat[body & lungs] = MATERIAL_CODES["lung"]
    dens[body & lungs] = 0.26
    mat[body & spine] = MATERIAL_CODES["cortical_bone"]
    dens[body & spine] = 1.92
    liver = (((x - cx + 60) / 80) ** 2 + ((y - cy) / 60) ** 2 + ((z - cz + 60) / 60) ** 2) <= 1
    return dens, mat, (spacing_mm,) * 3, (liver & body).astype(float)


@numba.njit(cache=True)
def _raymarch_kernel(
    density, material, nz, ny, nx, d, src_vox, src_cdf, energy, n_hist, seed, xs, log_e0, dlog_e
):
    """Baseline: sample τ = −ln u, march voxel by voxel accumulating μ·ℓ until τ is used up."""
    np.random.seed(seed)
    partial = np.zeros((xs.shape[0], 3))
    deposited = 0.0
    size = np.array([nx * d, ny * d, nz * d])
    for _h in range(n_hist):
        k = np.searchsorted(src_cdf, np.random.random() * src_cdf[-1], side="right")
        vox = src_vox[min(k, src_vox.shape[0] - 1)]
        p = np.array(
            [
                (vox % nx + np.random.random()) * d,
                ((vox // nx) % ny + np.random.random()) * d,
                (vox // (nx * ny) + np.random.random()) * d,
            ]
        )
        u, v, w = _isotropic()
        e = energy
        stack_n = 0
        stack = np.zeros((8, 7))
        while True:
            while True:
                _cross_sections(xs, log_e0, dlog_e, e, partial)
                tau = -np.log(1.0 - np.random.random())
                dirv = np.array([u, v, w])
                idx = np.minimum((p / d).astype(np.int64), np.array([nx - 1, ny - 1, nz - 1]))
                escaped = False
                while True:
                    # distance to the next voxel boundary along each axis
                    t_next = 1e30
                    for a in range(3):
                        if dirv[a] > 0:
                            t = ((idx[a] + 1) * d - p[a]) / dirv[a]
                        elif dirv[a] < 0:
                            t = (idx[a] * d - p[a]) / dirv[a]
                        else:
                            t = 1e30
                        if t < t_next:
                            t_next = t
                            ax = a
                    flat = (idx[2] * ny + idx[1]) * nx + idx[0]
                    m = material[flat]
                    mu = (partial[m, 0] + partial[m, 1] + partial[m, 2]) * density[flat]
                    if mu * t_next >= tau:
                        p += dirv * (tau / mu)
                        break
                    tau -= mu * t_next
                    p += dirv * t_next
                    idx[ax] += 1 if dirv[ax] > 0 else -1
                    if idx[ax] < 0 or p[ax] >= size[ax] or idx[ax] >= (nx, ny, nz)[ax]:
                        escaped = True
                        break
                if escaped:
                    break
                dep, e_new, u, v, w, n_pair = _interact(e, partial, m, u, v, w)
                deposited += dep
                if n_pair > 0:
                    stack[stack_n, :3] = p
                    stack[stack_n, 3:6] = (-u, -v, -w)
                    stack[stack_n, 6] = e_new
                    stack_n += 1
                if e_new < 1e-3:
                    deposited += e_new
                    break
                e = e_new
            if stack_n == 0:
                break
            stack_n -= 1
            p = stack[stack_n, :3].copy()
            u, v, w, e = stack[stack_n, 3], stack[stack_n, 4], stack[stack_n, 5], stack[stack_n, 6]
    return deposited


def bench_speed(n_hist: int) -> None:
    dens, mat, spacing, src = trunk_phantom()
    print(f"trunk phantom {dens.shape} [z,y,x] at {spacing[0]} mm, source = liver ellipsoid")
    xs, log_e0, dlog_e = photon_tables()
    flat_src = src.ravel()
    src_vox = np.flatnonzero(flat_src > 0)
    src_cdf = np.cumsum(flat_src[src_vox])
    d_cm = spacing[0] / 10
    nz, ny, nx = dens.shape
    args = (dens.ravel(), mat.ravel().astype(np.int64), nz, ny, nx, d_cm, src_vox, src_cdf)
    print(
        f"{'E (MeV)':>8s} {'Woodcock ph/s':>14s} {'ray-march ph/s':>15s} {'speed-up':>9s} "
        f"{'AF woodcock':>12s} {'AF ray-march':>13s}"
    )
    for energy in (0.14, 0.511, 1.5):
        transport_photons(dens, mat, spacing, src, np.array([energy]), np.array([1.0]), 1000)
        _raymarch_kernel(*args, energy, 1000, 0, xs, log_e0, dlog_e)
        t0 = time.process_time()
        res = transport_photons(
            dens, mat, spacing, src, np.array([energy]), np.array([1.0]), n_hist, seed=1
        )
        t_wood = time.process_time() - t0
        t0 = time.process_time()
        dep = _raymarch_kernel(*args, energy, n_hist, 2, xs, log_e0, dlog_e)
        t_ray = time.process_time() - t0
        print(
            f"{energy:8.3f} {n_hist / t_wood:14.3e} {n_hist / t_ray:15.3e} {t_ray / t_wood:9.2f} "
            f"{res.deposited_mev / res.emitted_mev:12.4f} {dep / (n_hist * energy):13.4f}"
        )


def _first_collision_analytic(energy_mev: float, mass_g: float) -> float:
    """φ₁ = (μ_tr/μ)(1 − P₀(μR)) for soft tissue at unit density (see tests/test_dosimetry_sphere.py)."""
    m_e = 0.51099895
    photo, incoh, pair = (
        float(mass_attenuation_cm2_per_g("soft_tissue", energy_mev, process=p))
        for p in ("photoelectric", "incoherent", "pair")
    )
    alpha = energy_mev / m_e
    mu = np.linspace(-1.0, 1.0, 200_001)
    ratio = 1.0 / (1.0 + alpha * (1.0 - mu))
    pdf = ratio**2 * (ratio + 1.0 / ratio - (1.0 - mu**2))
    transfer = 1.0 - np.trapezoid(pdf * ratio, mu) / np.trapezoid(pdf, mu)
    mu_rho = photo + incoh + pair
    mu_tr = photo + incoh * transfer + pair * (energy_mev - 2 * m_e) / energy_mev
    tau = mu_rho * (3 * mass_g / (4 * np.pi)) ** (1 / 3)
    p0 = 3 / (8 * tau**3) * (2 * tau**2 - 1 + (1 + 2 * tau) * np.exp(-2 * tau))
    return mu_tr / mu_rho * (1 - p0)


def bench_spheres(n_hist: int) -> None:
    print("\nphoton absorbed fractions, unit-density ICRU-44 soft-tissue spheres")
    print("  table: shipped data/sphere_af.npz (interpolated); MC: fresh run; first-collision")
    print("  φ₁: MC with one interaction per photon vs the analytic (μ_tr/μ)(1 − P₀(μR))")
    print(
        f"{'E (MeV)':>8s} {'mass (g)':>9s} {'table':>8s} {'MC':>8s} {'MC sd':>8s} {'diff %':>7s}"
        f" {'φ₁ MC':>8s} {'φ₁ exact':>9s} {'diff %':>7s}"
    )
    for mass in (10.0, 100.0, 1000.0):
        for energy in (0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0):
            af, sd = simulate_sphere_absorbed_fraction(energy, mass, n_histories=n_hist, seed=77)
            tab = float(sphere_absorbed_fraction(energy, mass))
            af1, _ = simulate_sphere_absorbed_fraction(
                energy, mass, n_histories=n_hist, seed=78, max_interactions=1
            )
            exact1 = _first_collision_analytic(energy, mass)
            print(
                f"{energy:8.3f} {mass:9.0f} {tab:8.4f} {af:8.4f} {sd:8.4f} "
                f"{100 * (tab - af) / af:7.2f} {af1:8.4f} {exact1:9.4f} "
                f"{100 * (af1 - exact1) / exact1:7.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=300_000)
    args = parser.parse_args()
    bench_speed(args.histories)
    bench_spheres(args.histories)


if __name__ == "__main__":
    main()
