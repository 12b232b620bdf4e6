"""numba kernels of the voxel TIA maps: trapezoid + tail, mono-exponential fit, per voxel.

Each kernel loops over the voxels of a flat mask in parallel (``numba.prange``); the
activity maps come as a tuple of flat float32 arrays (one per time point, no stacking
copy) with one factor per time point (unit conversion, decay correction). Arithmetic is float64 per voxel, results float32. The rules are those of
:mod:`immunopet.kinetics.trapezoid` and :mod:`immunopet.kinetics.exponential` (see
:mod:`.tia_maps`).

Status codes per voxel: 0 ok, 1 non-finite input, 2 no positive activity, 3 the fit gave a
non-finite result, 4 fitted tail fell back to physical decay.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["mono_fit_kernel", "trapezoid_kernel"]

OK, BAD_INPUT, NO_POSITIVE, NOT_CONVERGED, TAIL_FALLBACK = 0, 1, 2, 3, 4
#: LLVM fast-math flags of the fit: contraction and reassociation, but NaN/Inf kept
#: (the kernels test finiteness); division by zero gives IEEE results (error_model numpy).
_FAST = {"contract", "arcp", "reassoc", "nsz"}
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


@numba.njit(cache=True, parallel=True, nogil=True, error_model="numpy", fastmath=_FAST)
def mono_fit_kernel(  # noqa: PLR0913
    maps, factors, t_h, mask, lam_phys, lam_max, max_iter, tia, tia_sd, lam_out, tail_out, status
):  # type: ignore[no-untyped-def]
    """Least-squares A(t) = A₀ e^(−λt), λ_phys ≤ λ ≤ λ_max, A₀ ≥ 0, per voxel; Ã = A₀/λ.

    Variable projection (Golub & Pereyra, SIAM J Numer Anal 1973;10:413): the amplitude is
    solved linearly at each λ, leaving a one-dimensional minimisation of RSS(λ), started
    from the log-linear fit weighted by y² (the linear-space least-squares weights) and
    done by Newton steps on λ, clipped to the bounds and halved until the RSS does not
    increase, to a relative change of λ ≤ 1e-4 (at most ``max_iter`` steps, else the voxel
    is counted as not converged). A derivative ≥ 0 at λ_phys puts the minimum on that bound
    (likewise ≤ 0 at λ_max). SD of Ã by the delta method with the
    covariance (JᵀJ)⁻¹ · RSS/(n − 2).
    """
    nt = t_h.shape[0]
    nvox = mask.shape[0]
    n_blocks = (nvox + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        y = np.empty(nt)
        for v in range(b * _BLOCK, min(nvox, (b + 1) * _BLOCK)):
            if mask[v]:
                _mono_voxel(
                    maps, factors, v, y, t_h, lam_phys, lam_max, max_iter, tia, tia_sd,
                    lam_out, tail_out, status,
                )  # fmt: skip


@numba.njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
def _profile(y, t_h, lam):  # type: ignore[no-untyped-def]
    """Variable projection at λ: amplitude P/Q, RSS and its first two λ-derivatives.

    With e_i = exp(−λ t_i), P = Σ y e, Q = Σ e²: A(λ) = P/Q and RSS(λ) = Σy² − P²/Q
    (Golub & Pereyra, SIAM J Numer Anal 1973;10:413).
    """
    p = 0.0
    q = 0.0
    p1 = 0.0
    q1 = 0.0
    p2 = 0.0
    q2 = 0.0
    syy = 0.0
    for i in range(t_h.shape[0]):
        t = t_h[i]
        e = math.exp(-lam * t)
        ye = y[i] * e
        ee = e * e
        p += ye
        q += ee
        p1 -= t * ye
        q1 -= 2.0 * t * ee
        p2 += t * t * ye
        q2 += 4.0 * t * t * ee
        syy += y[i] * y[i]
    if p <= 0.0:  # amplitude clipped at 0: RSS = Σy², flat in λ
        return 0.0, syy, 0.0, 0.0, q, q1, q2
    r = 1.0 / q  # one division; the rest are products
    a = p * r
    rss = syy - p * a
    g = a * (a * q1 - 2.0 * p1)
    h = -2.0 * (p1 * p1 + p * p2) * r + 4.0 * a * p1 * q1 * r + a * a * (q2 - 2.0 * q1 * q1 * r)
    return a, rss, g, h, q, q1, q2


@numba.njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
def _mono_voxel(  # noqa: PLR0913
    maps,
    factors,
    v,
    y,
    t_h,
    lam_phys,
    lam_max,
    max_iter,
    tia,
    tia_sd,
    lam_out,
    tail_out,
    status,
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
    inv_scale = 1.0 / scale
    for i in range(nt):
        y[i] *= inv_scale
    # log-linear start (weights y², the linear-space least-squares weights; positive points)
    sw = 0.0
    swt = 0.0
    swl = 0.0
    swtt = 0.0
    swtl = 0.0
    for i in range(nt):
        if y[i] > 0.0:
            w = y[i] * y[i]
            lg = math.log(y[i])
            sw += w
            swt += w * t_h[i]
            swl += w * lg
            swtt += w * t_h[i] * t_h[i]
            swtl += w * t_h[i] * lg
    den = sw * swtt - swt * swt
    lam = -(sw * swtl - swt * swl) / den if den > 0.0 else lam_phys
    lam = min(max(lam, lam_phys), lam_max)
    a, rss, g, h, q, q1, q2 = _profile(y, t_h, lam)
    converged = False
    for _ in range(max_iter):
        if (lam <= lam_phys and g >= 0.0) or (lam >= lam_max and g <= 0.0):
            converged = True  # the minimum is on a bound
            break
        if h > 0.0:
            step = -g / h
        else:  # not locally convex: a downhill step of a tenth of λ
            step = -0.1 * lam if g > 0.0 else 0.1 * lam
        accepted = False
        for _half in range(12):  # halve until the RSS does not increase
            l_new = min(max(lam + step, lam_phys), lam_max)
            a_new, rss_new, g_new, h_new, q_new, q1_new, q2_new = _profile(y, t_h, l_new)
            if rss_new <= rss:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            converged = True  # no descent left at this precision: a minimum
            break
        change = abs(l_new - lam)
        lam, a, rss, g, h = l_new, a_new, rss_new, g_new, h_new
        q, q1, q2 = q_new, q1_new, q2_new
        # Converged when the last step or the next Newton step is ≤ 1e-4 λ (quadratic
        # convergence: the error left in λ is then of the order of that step squared).
        if change <= 1e-4 * lam or (h > 0.0 and abs(g) <= 1e-4 * lam * h):
            converged = True
            break
    if not converged:
        status[v] = NOT_CONVERGED
        tia_sd[v] = np.nan
        return
    if not (a >= 0.0 and math.isfinite(a) and math.isfinite(lam) and lam > 0.0):
        status[v] = NOT_CONVERGED
        tia_sd[v] = np.nan
        return
    tia[v] = a * scale / lam
    lam_out[v] = lam
    tail_out[v] = a * scale * math.exp(-lam * t_h[nt - 1]) / lam  # Ã after the last scan
    status[v] = OK
    dof = nt - 2
    # JᵀJ of the residuals in (A₀, λ) from the profile's sums: Σe², −A Σ t e², A² Σ t² e².
    j11 = q
    j12 = 0.5 * a * q1
    j22 = 0.25 * a * a * q2
    det = j11 * j22 - j12 * j12
    if dof > 0 and det > 1e-300:
        s2 = max(rss, 0.0) / dof
        c11 = j22 / det * s2
        c12 = -j12 / det * s2
        c22 = j11 / det * s2
        ga = 1.0 / lam
        gl = -a / (lam * lam)
        var = ga * ga * c11 + 2.0 * ga * gl * c12 + gl * gl * c22
        tia_sd[v] = math.sqrt(max(var, 0.0)) * scale
    else:
        tia_sd[v] = np.nan
