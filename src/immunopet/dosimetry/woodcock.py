"""The numba Woodcock-tracking kernel behind :func:`~immunopet.dosimetry.transport_photons`.

Woodcock (delta-scattering) tracking (E. Woodcock et al., ANL-7050, 1965, p. 557; Lux &
Koblinger, *Monte Carlo Particle Transport Methods*, 1991, §7.3): flight distances are
sampled with the majorant μ_max(E) = max_material (μ/ρ)_m(E) · max ρ_m over the grid; at
each tentative collision a real interaction happens with probability μ(x)/μ_max, otherwise
the photon continues unchanged. Interactions are those of :mod:`.photon_interactions`.

The kernel works on flattened [z, y, x] voxel arrays (lengths in cm) and returns raw tallies;
input checks, unit conversion and the :class:`~immunopet.dosimetry.transport.TransportResult`
are the job of :func:`~immunopet.dosimetry.transport.transport_photons`. Scores: the summed
deposit per voxel, the sum of squared per-history deposits per voxel (histories' deposits in
a voxel merged before squaring, for the variance) and per-batch sums per label (for the
batch-method SD).
"""

from __future__ import annotations

# ruff: noqa: NPY002 -- inside numba-jitted code the random stream is numba's legacy
# np.random API (np.random.seed / np.random.random), seeded per call.
import numba
import numpy as np

from .photon_interactions import _cross_sections, _interact, _isotropic

__all__ = ["woodcock_kernel"]

_HIST_LIST = 64  # voxels remembered per history for the per-history variance
_STACK = 32  # secondary photons (annihilation) pending per history


@numba.njit(cache=True, inline="always")
def _majorant(xs, log_e0, dlog_e, energy_mev, partial, rho_max):
    """Woodcock majorant μ_max (cm⁻¹) at ``energy_mev``: max over materials of (μ/ρ)·ρ_max.

    Fills ``partial`` with the partial mass attenuation coefficients as a side effect
    (they are used for the interaction that follows).
    """
    _cross_sections(xs, log_e0, dlog_e, energy_mev, partial)
    mu_max = 0.0
    for m in range(partial.shape[0]):
        mm = (partial[m, 0] + partial[m, 1] + partial[m, 2]) * rho_max[m]
        if mm > mu_max:
            mu_max = mm
    return mu_max


@numba.njit(cache=True)
def woodcock_kernel(
    density,
    material,
    nz,
    ny,
    nx,
    dx_cm,
    dy_cm,
    dz_cm,
    src_voxels,
    src_cdf,
    line_e,
    line_cdf,
    n_hist,
    seed,
    labels,
    n_labels,
    n_batches,
    xs,
    log_e0,
    dlog_e,
    rho_max,
):
    np.random.seed(seed)
    nvox = nz * ny * nx
    n_mat = xs.shape[0]
    edep = np.zeros(nvox)
    edep_sq = np.zeros(nvox)
    by_label = np.zeros((n_batches, n_labels))
    escaped = 0.0
    emitted = 0.0
    partial = np.zeros((n_mat, 3))
    hist_vox = np.zeros(_HIST_LIST, dtype=np.int64)
    hist_e = np.zeros(_HIST_LIST)
    st_x = np.zeros(_STACK)
    st_y = np.zeros(_STACK)
    st_z = np.zeros(_STACK)
    st_u = np.zeros(_STACK)
    st_v = np.zeros(_STACK)
    st_w = np.zeros(_STACK)
    st_e = np.zeros(_STACK)
    lx = nx * dx_cm
    inv_dx = 1.0 / dx_cm
    inv_dy = 1.0 / dy_cm
    inv_dz = 1.0 / dz_cm
    ly = ny * dy_cm
    lz = nz * dz_cm
    use_labels = n_labels > 0
    for h in range(n_hist):
        batch = (h * n_batches) // n_hist
        n_dep = 0
        # source voxel and position
        k = np.searchsorted(src_cdf, np.random.random() * src_cdf[-1], side="right")
        if k >= src_voxels.shape[0]:
            k = src_voxels.shape[0] - 1
        vox = src_voxels[k]
        iz = vox // (ny * nx)
        iy = (vox // nx) % ny
        ix = vox % nx
        x = (ix + np.random.random()) * dx_cm
        y = (iy + np.random.random()) * dy_cm
        z = (iz + np.random.random()) * dz_cm
        j = np.searchsorted(line_cdf, np.random.random() * line_cdf[-1], side="right")
        if j >= line_e.shape[0]:
            j = line_e.shape[0] - 1
        e = line_e[j]
        emitted += e
        if e < 1e-3:  # sub-keV x-rays: absorbed where emitted (range ≪ voxel)
            edep[vox] += e
            edep_sq[vox] += e * e
            if use_labels:
                by_label[batch, labels[vox]] += e
            continue
        u, v, w = _isotropic()
        n_stack = 0
        while True:
            # transport one photon until absorbed or escaped
            alive = True
            mu_max = _majorant(xs, log_e0, dlog_e, e, partial, rho_max)
            while alive:
                s = -np.log(1.0 - np.random.random()) / mu_max
                x += s * u
                y += s * v
                z += s * w
                if x < 0.0 or y < 0.0 or z < 0.0 or x >= lx or y >= ly or z >= lz:
                    escaped += e
                    break
                ix = int(x * inv_dx)
                iy = int(y * inv_dy)
                iz = int(z * inv_dz)
                if ix >= nx:
                    ix = nx - 1
                if iy >= ny:
                    iy = ny - 1
                if iz >= nz:
                    iz = nz - 1
                vox = (iz * ny + iy) * nx + ix
                m = material[vox]
                mu = (partial[m, 0] + partial[m, 1] + partial[m, 2]) * density[vox]
                if np.random.random() * mu_max >= mu:
                    continue  # virtual collision
                dep, e_new, u, v, w, n_pair = _interact(e, partial, m, u, v, w)
                if dep > 0.0:
                    edep[vox] += dep
                    if use_labels:
                        by_label[batch, labels[vox]] += dep
                    found = False
                    for q in range(n_dep):
                        if hist_vox[q] == vox:
                            hist_e[q] += dep
                            found = True
                            break
                    if not found:
                        if n_dep < _HIST_LIST:
                            hist_vox[n_dep] = vox
                            hist_e[n_dep] = dep
                            n_dep += 1
                        else:
                            edep_sq[vox] += dep * dep
                if n_pair > 0 and n_stack < _STACK:
                    st_x[n_stack] = x
                    st_y[n_stack] = y
                    st_z[n_stack] = z
                    st_u[n_stack] = -u
                    st_v[n_stack] = -v
                    st_w[n_stack] = -w
                    st_e[n_stack] = e_new
                    n_stack += 1
                elif n_pair > 0:  # stack full (never in practice): deposit locally
                    edep[vox] += e_new
                    if use_labels:
                        by_label[batch, labels[vox]] += e_new
                if e_new <= 0.0:
                    break
                if e_new != e:
                    e = e_new
                    mu_max = _majorant(xs, log_e0, dlog_e, e, partial, rho_max)
            if n_stack == 0:
                break
            n_stack -= 1
            x = st_x[n_stack]
            y = st_y[n_stack]
            z = st_z[n_stack]
            u = st_u[n_stack]
            v = st_v[n_stack]
            w = st_w[n_stack]
            e = st_e[n_stack]
        for q in range(n_dep):
            edep_sq[hist_vox[q]] += hist_e[q] * hist_e[q]
    return edep, edep_sq, escaped, emitted, by_label
