"""numba kernels of the voxel TIA maps: trapezoid + tail, mono-exponential fit, per voxel.

Each kernel loops over the voxels of a flat mask in parallel (``numba.prange``); the
activity maps come as a tuple of flat float32 arrays (one per time point, no stacking
copy) with one factor per time point (unit conversion, decay correction). Arithmetic is float64 per voxel, results float32. The rules are those of
:mod:`immunopet.kinetics.trapezoid` and :mod:`immunopet.kinetics.exponential` (see
:mod:`.tia_maps`).

Status codes per voxel: 0 ok, 1 non-finite input, 2 no positive activity, 3 the fit did
not converge or gave a non-finite result, 4 fitted tail fell back to physical decay.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["mono_fit_kernel", "trapezoid_kernel"]

OK, BAD_INPUT, NO_POSITIVE, NOT_CONVERGED, TAIL_FALLBACK = 0, 1, 2, 3, 4
#: Voxels per parallel work item (one scratch array each).
_BLOCK = 4096


@numba.njit(cache=True, parallel=True, nogil=True)
def trapezoid_kernel(  # noqa: PLR0913
    maps, factors, t_h, mask, lam_phys, head_constant, tail_mode, n_tail_points, tia, tail, status
):  # type: ignore[no-untyped-def]
    """Ã (Bq·h) per voxel: head + trapezoids + tail; ``tail_mode`` 0 physical, 1 fit, 2 none."""
    nt = t_h.shape[0]
    nvox = mask.shape[0]
    n_blocks = (nvox + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        y = np.empty(nt)
        for v in range(b * _BLOCK, min(nvox, (b + 1) * _BLOCK)):
            if mask[v]:
                _trapezoid_voxel(
                    maps, factors, v, y, t_h, lam_phys, head_constant, tail_mode, n_tail_points,
                    tia, tail, status,
                )  # fmt: skip


@numba.njit(cache=True, inline="always")
def _trapezoid_voxel(  # noqa: PLR0913
    maps, factors, v, y, t_h, lam_phys, head_constant, tail_mode, n_tail_points, tia, tail, status
):  # type: ignore[no-untyped-def]
    nt = t_h.shape[0]
    finite = True
    imax = 0
    for i in range(nt):
        y[i] = maps[i][v] * factors[i]
        if not math.isfinite(y[i]):
            finite = False
        if y[i] > y[imax]:
            imax = i
    if not finite:
        status[v] = BAD_INPUT
        return
    area = t_h[0] * y[0] * (1.0 if head_constant else 0.5)
    for i in range(nt - 1):
        area += 0.5 * (t_h[i + 1] - t_h[i]) * (y[i] + y[i + 1])
    lam = lam_phys
    code = OK
    if tail_mode == 1:
        # Only the clearing part: the points from the maximum on, at least 2.
        n_tail = max(2, min(n_tail_points, nt, nt - imax))
        ok = nt >= 2
        if ok:
            for i in range(nt - n_tail, nt):
                if y[i] <= 0.0:
                    ok = False
        if ok:
            tm = 0.0
            lm = 0.0
            for i in range(nt - n_tail, nt):
                tm += t_h[i]
                lm += math.log(y[i])
            tm /= n_tail
            lm /= n_tail
            num = 0.0
            den = 0.0
            for i in range(nt - n_tail, nt):
                num += (t_h[i] - tm) * (math.log(y[i]) - lm)
                den += (t_h[i] - tm) ** 2
            lam = max(-num / den, lam_phys)
        else:
            code = TAIL_FALLBACK
    tail_area = 0.0 if tail_mode == 2 else y[nt - 1] / lam
    tia[v] = area + tail_area
    tail[v] = tail_area
    status[v] = code


@numba.njit(cache=True, parallel=True, nogil=True)
def mono_fit_kernel(  # noqa: PLR0913
    maps, factors, t_h, mask, lam_phys, lam_max, max_iter, tia, tia_sd, lam_out, a0_out, status
):  # type: ignore[no-untyped-def]
    """Least-squares A(t) = A₀ e^(−λt), λ_phys ≤ λ ≤ λ_max, A₀ ≥ 0, per voxel; Ã = A₀/λ.

    Start: log-linear fit weighted by y² (the linear-space least-squares weights) on the
    positive points; then damped Gauss–Newton steps on (A₀, λ) with the bounds enforced by
    clipping; SD of Ã by the delta method with the covariance (JᵀJ)⁻¹ · RSS/(n − 2).
    """
    nt = t_h.shape[0]
    nvox = mask.shape[0]
    n_blocks = (nvox + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        y = np.empty(nt)
        for v in range(b * _BLOCK, min(nvox, (b + 1) * _BLOCK)):
            if mask[v]:
                _mono_voxel(
                    maps, factors, v, y, t_h, lam_phys, lam_max, max_iter, tia, tia_sd, lam_out, a0_out,
                    status,
                )  # fmt: skip


@numba.njit(cache=True, inline="always")
def _mono_voxel(  # noqa: PLR0913
    maps, factors, v, y, t_h, lam_phys, lam_max, max_iter, tia, tia_sd, lam_out, a0_out, status
):  # type: ignore[no-untyped-def]
    nt = t_h.shape[0]
    finite = True
    scale = 0.0
    for i in range(nt):
        y[i] = maps[i][v] * factors[i]
        if not math.isfinite(y[i]):
            finite = False
        elif y[i] > scale:
            scale = y[i]
    if not finite:
        status[v] = BAD_INPUT
        tia_sd[v] = np.nan
        return
    if scale <= 0.0:
        status[v] = NO_POSITIVE
        tia_sd[v] = np.nan
        return
    for i in range(nt):
        y[i] /= scale
    # log-linear start (weights y², positive points only)
    sw = 0.0
    st = 0.0
    sl = 0.0
    for i in range(nt):
        if y[i] > 0.0:
            w = y[i] * y[i]
            sw += w
            st += w * t_h[i]
            sl += w * math.log(y[i])
    tm = st / sw
    lm = sl / sw
    num = 0.0
    den = 0.0
    for i in range(nt):
        if y[i] > 0.0:
            w = y[i] * y[i]
            num += w * (t_h[i] - tm) * (math.log(y[i]) - lm)
            den += w * (t_h[i] - tm) ** 2
    lam = -num / den if den > 0.0 else lam_phys
    lam = min(max(lam, lam_phys), lam_max)
    # amplitude solved linearly for that λ
    sye = 0.0
    see = 0.0
    for i in range(nt):
        e = math.exp(-lam * t_h[i])
        sye += y[i] * e
        see += e * e
    a = max(sye / see, 1e-12)
    rss = 0.0
    for i in range(nt):
        r = a * math.exp(-lam * t_h[i]) - y[i]
        rss += r * r
    converged = False
    j11 = 0.0
    j12 = 0.0
    j22 = 0.0
    for _ in range(max_iter):
        j11 = 0.0
        j12 = 0.0
        j22 = 0.0
        g1 = 0.0
        g2 = 0.0
        for i in range(nt):
            e = math.exp(-lam * t_h[i])
            r = a * e - y[i]
            d2 = -a * t_h[i] * e
            j11 += e * e
            j12 += e * d2
            j22 += d2 * d2
            g1 += e * r
            g2 += d2 * r
        det = j11 * j22 - j12 * j12
        if not det > 1e-300:
            break
        da = -(j22 * g1 - j12 * g2) / det
        dl = -(j11 * g2 - j12 * g1) / det
        step = 1.0
        improved = False
        for _h in range(8):  # step halving keeps RSS decreasing
            a_new = max(a + step * da, 0.0)
            l_new = min(max(lam + step * dl, lam_phys), lam_max)
            rss_new = 0.0
            for i in range(nt):
                r = a_new * math.exp(-l_new * t_h[i]) - y[i]
                rss_new += r * r
            if rss_new <= rss:
                improved = True
                break
            step *= 0.5
        if not improved:
            converged = True  # no descent left: at the (bounded) minimum
            break
        change = abs(a_new - a) / max(a, 1e-12) + abs(l_new - lam) / lam
        a, lam, rss = a_new, l_new, rss_new
        if change < 1e-7:
            converged = True
            break
    if not converged or not (a >= 0.0 and math.isfinite(a) and math.isfinite(lam)):
        status[v] = NOT_CONVERGED
        tia_sd[v] = np.nan
        return
    tia[v] = a * scale / lam
    lam_out[v] = lam
    a0_out[v] = a * scale
    status[v] = OK
    dof = nt - 2
    j11 = 0.0
    j12 = 0.0
    j22 = 0.0
    for i in range(nt):
        e = math.exp(-lam * t_h[i])
        d2 = -a * t_h[i] * e
        j11 += e * e
        j12 += e * d2
        j22 += d2 * d2
    det = j11 * j22 - j12 * j12
    if dof > 0 and det > 1e-300:
        s2 = rss / dof
        c11 = j22 / det * s2
        c12 = -j12 / det * s2
        c22 = j11 / det * s2
        ga = 1.0 / lam
        gl = -a / (lam * lam)
        var = ga * ga * c11 + 2.0 * ga * gl * c12 + gl * gl * c22
        tia_sd[v] = math.sqrt(max(var, 0.0)) * scale
    else:
        tia_sd[v] = np.nan
