"""Mono- and bi-exponential fits of a time-activity curve, with analytic integrals.

Models (activity at scan time, t in h post-injection, λ in h⁻¹):

* ``mono``: A(t) = A₀ exp(−λ t), λ ≥ λ_phys; Ã = A₀ / λ.
* ``bi`` (uptake and clearance): A(t) = A₀ [exp(−λ₁ t) − exp(−λ₂ t)],
  λ₂ > λ₁ ≥ λ_phys; Ã = A₀ (1/λ₁ − 1/λ₂).
* ``bi_sum`` (two clearance phases, e.g. blood): A(t) = A₁ exp(−λ₁ t) + A₂ exp(−λ₂ t),
  A₁, A₂ ≥ 0, λ₂ > λ₁ ≥ λ_phys; Ã = A₁/λ₁ + A₂/λ₂.

λ ≥ λ_phys is a bound of the fit: no biological process slows physical decay,
so the effective half-life never exceeds the physical one (MIRD Pamphlet 21).
Fits use :func:`scipy.optimize.least_squares` (trust-region reflective, bounds),
started from the best point of a grid over the decay constants on which the
amplitude is solved linearly (variable projection). The parameter covariance is
(JᵀJ)⁻¹ of the weighted residuals — scaled by the residual variance
RSS/(n − p) when no measurement SDs are given (the usual nonlinear
least-squares estimate, e.g. Seber & Wild 2003, §5.1). The TIA SD follows by
the delta method or by Monte Carlo sampling of the parameters.

AICc (Burnham & Anderson 2002, eq. 2.14; Glatting et al., Med Phys 34:4285,
2007, as used for fit-function selection in dosimetry):
``AICc = n ln(RSS/n) + 2K + 2K(K+1)/(n − K − 1)`` with K = p + 1 (the variance is
estimated) when no SDs are given, and ``AICc = χ² + 2p + 2p(p+1)/(n − p − 1)``
when the SDs are known.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..core.errors import FitError
from .curves import TimeActivityCurve

__all__ = ["EXPONENTIAL_MODELS", "ExponentialFit", "aicc", "fit_exponential", "min_points_for_aicc"]

#: Upper bound of any decay constant (h⁻¹): a 6-minute half-life, far faster than
#: any clearance resolvable with scans hours apart.
_LAMBDA_MAX_PER_H = math.log(2.0) / 0.1


@dataclass(frozen=True)
class _Model:
    name: str
    param_names: tuple[str, ...]
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tia: Callable[[np.ndarray], np.ndarray]
    tia_gradient: Callable[[np.ndarray], np.ndarray]
    clearance: Callable[[np.ndarray], np.ndarray]
    #: Indices of the amplitude parameters (scaled with the activity).
    amplitudes: tuple[int, ...] = (0,)

    @property
    def n_params(self) -> int:
        return len(self.param_names)


def _mono_value(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return p[0] * np.exp(-p[1] * t)


def _mono_jac(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    e = np.exp(-p[1] * t)
    return np.stack([e, -p[0] * t * e], axis=-1)


def _bi_value(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    # p = (A0, λ1, δ) with λ2 = λ1 + δ, δ > 0 keeps λ2 > λ1 with simple bounds.
    return p[0] * (np.exp(-p[1] * t) - np.exp(-(p[1] + p[2]) * t))


def _bi_jac(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    e1 = np.exp(-p[1] * t)
    e2 = np.exp(-(p[1] + p[2]) * t)
    return np.stack([e1 - e2, p[0] * t * (e2 - e1), p[0] * t * e2], axis=-1)


def _bi_tia(p: np.ndarray) -> np.ndarray:
    return p[0] * (1.0 / p[1] - 1.0 / (p[1] + p[2]))


def _bi_tia_grad(p: np.ndarray) -> np.ndarray:
    l2 = p[1] + p[2]
    return np.stack(
        [1.0 / p[1] - 1.0 / l2, p[0] * (-1.0 / p[1] ** 2 + 1.0 / l2**2), p[0] / l2**2], axis=0
    )


def _sum_value(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    # p = (A1, λ1, δ, A2) with λ2 = λ1 + δ.
    return p[0] * np.exp(-p[1] * t) + p[3] * np.exp(-(p[1] + p[2]) * t)


def _sum_jac(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    e1 = np.exp(-p[1] * t)
    e2 = np.exp(-(p[1] + p[2]) * t)
    return np.stack([e1, -t * (p[0] * e1 + p[3] * e2), -t * p[3] * e2, e2], axis=-1)


def _sum_tia(p: np.ndarray) -> np.ndarray:
    return p[0] / p[1] + p[3] / (p[1] + p[2])


def _sum_tia_grad(p: np.ndarray) -> np.ndarray:
    l2 = p[1] + p[2]
    return np.stack([1.0 / p[1], -p[0] / p[1] ** 2 - p[3] / l2**2, -p[3] / l2**2, 1.0 / l2], axis=0)


EXPONENTIAL_MODELS: dict[str, _Model] = {
    "mono": _Model(
        name="mono",
        param_names=("a0_bq", "lambda_per_h"),
        value=_mono_value,
        jacobian=_mono_jac,
        tia=lambda p: p[0] / p[1],
        tia_gradient=lambda p: np.stack([1.0 / p[1], -p[0] / p[1] ** 2], axis=0),
        clearance=lambda p: p[1],
    ),
    "bi": _Model(
        name="bi",
        param_names=("a0_bq", "lambda1_per_h", "delta_lambda_per_h"),
        value=_bi_value,
        jacobian=_bi_jac,
        tia=_bi_tia,
        tia_gradient=_bi_tia_grad,
        clearance=lambda p: p[1],
    ),
    "bi_sum": _Model(
        name="bi_sum",
        param_names=("a1_bq", "lambda1_per_h", "delta_lambda_per_h", "a2_bq"),
        value=_sum_value,
        jacobian=_sum_jac,
        tia=_sum_tia,
        tia_gradient=_sum_tia_grad,
        clearance=lambda p: p[1],
        amplitudes=(0, 3),
    ),
}


def min_points_for_aicc(model: str, *, sd_known: bool) -> int:
    """Smallest n for which AICc is defined (n − K − 1 ≥ 1)."""
    p = EXPONENTIAL_MODELS[model].n_params
    k = p if sd_known else p + 1
    return k + 2


def aicc(weighted_rss: float, n: int, n_params: int, *, sd_known: bool) -> float:
    """Corrected Akaike information criterion (Burnham & Anderson 2002, eq. 2.14).

    Parameters
    ----------
    weighted_rss
        Σ r² of the residuals (divided by the SDs when ``sd_known``: then it is χ²).
    n, n_params
        Number of points and of model parameters.
    sd_known
        Whether the residuals are weighted by known SDs (likelihood from χ²) or
        the variance is estimated (K = p + 1, Glatting et al. 2007).

    Returns
    -------
    float
        AICc, or NaN when n − K − 1 < 1.
    """
    k = n_params if sd_known else n_params + 1
    if n - k - 1 < 1:
        return math.nan
    if sd_known:
        base = weighted_rss
    else:
        base = n * math.log(max(weighted_rss, 1e-300) / n)
    return base + 2 * k + 2 * k * (k + 1) / (n - k - 1)


@dataclass(frozen=True)
class ExponentialFit:
    """One least-squares exponential fit (parameters in physical units).

    Attributes
    ----------
    model
        ``"mono"`` or ``"bi"``.
    parameters
        Name → value (``a0_bq``, ``lambda…_per_h``).
    covariance
        Parameter covariance in the same order (NaN-filled when not estimable).
    tia_bq_h, tia_bq_h_sd
        Analytic integral 0→∞ and its SD.
    clearance_per_h
        Decay constant of the clearance phase (h⁻¹).
    residuals_bq
        Model − measured at the times (Bq).
    aicc
        See :func:`aicc`.
    warnings
        Instability warnings (parameters at bounds, huge relative SE, no dof).
    """

    model: str
    parameters: dict[str, float]
    covariance: np.ndarray
    tia_bq_h: float
    tia_bq_h_sd: float
    clearance_per_h: float
    residuals_bq: np.ndarray
    aicc: float
    warnings: tuple[str, ...]


def _grid_start(
    model: _Model, t: np.ndarray, y: np.ndarray, w: np.ndarray, lam_phys: float
) -> np.ndarray:
    """Best start on a log grid of decay constants, amplitude solved linearly."""
    lam = np.geomspace(lam_phys, _LAMBDA_MAX_PER_H, 40)
    if model.name == "mono":
        basis = np.exp(-lam[:, None] * t[None, :])  # (g, n)
        params = [lam]
    elif model.name == "bi_sum":
        return _grid_start_sum(t, y, w, lam)
    else:
        l1, l2 = np.meshgrid(lam, lam, indexing="ij")
        keep = l2 > l1 * 1.05
        l1, l2 = l1[keep], l2[keep]
        basis = np.exp(-l1[:, None] * t[None, :]) - np.exp(-l2[:, None] * t[None, :])
        params = [l1, l2 - l1]
    wb = basis * w
    denom = np.einsum("gn,gn->g", wb, wb)
    amp = np.where(denom > 0, np.einsum("gn,n->g", wb, y * w) / np.where(denom > 0, denom, 1), 0)
    amp = np.maximum(amp, 0.0)
    rss = np.sum((amp[:, None] * wb - y * w) ** 2, axis=1)
    best = int(np.argmin(rss))
    return np.array([amp[best]] + [p[best] for p in params], dtype=float)


def _grid_start_sum(t: np.ndarray, y: np.ndarray, w: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Grid start of ``bi_sum``: both amplitudes solved (2 × 2 normal equations, clipped ≥ 0)."""
    l1, l2 = np.meshgrid(lam, lam, indexing="ij")
    keep = l2 > l1 * 1.05
    l1, l2 = l1[keep], l2[keep]
    b1 = np.exp(-l1[:, None] * t[None, :]) * w
    b2 = np.exp(-l2[:, None] * t[None, :]) * w
    yw = y * w
    s11, s22, s12 = (b1 * b1).sum(1), (b2 * b2).sum(1), (b1 * b2).sum(1)
    r1, r2 = b1 @ yw, b2 @ yw
    det = s11 * s22 - s12**2
    ok = det > 1e-12 * s11 * s22
    safe = np.where(ok, det, 1.0)
    a1 = np.where(ok, (s22 * r1 - s12 * r2) / safe, r1 / s11)
    a2 = np.where(ok, (s11 * r2 - s12 * r1) / safe, 0.0)
    a1, a2 = np.maximum(a1, 0.0), np.maximum(a2, 0.0)
    rss = np.sum((a1[:, None] * b1 + a2[:, None] * b2 - yw) ** 2, axis=1)
    best = int(np.argmin(rss))
    return np.array([a1[best], l1[best], l2[best] - l1[best], a2[best]], dtype=float)


def fit_exponential(
    curve: TimeActivityCurve,
    model: str,
    *,
    uncertainty: str = "delta",
    n_samples: int = 4000,
    seed: int = 0,
) -> ExponentialFit:
    """Fit ``model`` (``"mono"``, ``"bi"`` or ``"bi_sum"``) to ``curve``; integrate analytically.

    Parameters
    ----------
    curve
        The time-activity curve; its SDs, if any, weight the fit (absolute sigma).
    model
        ``"mono"``, ``"bi"`` or ``"bi_sum"``.
    uncertainty
        ``"delta"`` (first-order propagation of the covariance) or ``"monte_carlo"``
        (``n_samples`` parameter draws from N(p̂, Σ), clipped to the bounds, seeded).
    n_samples, seed
        Monte Carlo settings.

    Returns
    -------
    ExponentialFit

    Raises
    ------
    FitError
        Fewer points than parameters, no positive activity, or no convergence.
    """
    if model not in EXPONENTIAL_MODELS:
        raise FitError(
            f"unknown model {model!r}; use one of {sorted(EXPONENTIAL_MODELS)}",
            field="model",
            value=model,
        )
    if uncertainty not in ("delta", "monte_carlo"):
        raise FitError(
            f"unknown uncertainty method {uncertainty!r}; use 'delta' or 'monte_carlo'",
            field="uncertainty",
            value=uncertainty,
        )
    m = EXPONENTIAL_MODELS[model]
    where = f"subject {curve.subject!r}, region {curve.region!r}"
    n, p_count = curve.n_points, m.n_params
    if n < p_count:
        raise FitError(
            f"{where}: {model} needs ≥ {p_count} points, the curve has {n}", field="time_h", value=n
        )
    scale = float(curve.activity_bq.max())
    if scale <= 0:
        raise FitError(f"{where}: no positive activity to fit", field="activity_bq")
    t = curve.time_h
    y = curve.activity_bq / scale
    sd_known = curve.activity_sd_bq is not None
    w = 1.0 / (curve.activity_sd_bq / scale) if sd_known else np.ones_like(y)
    lam_phys = curve.decay_constant_per_h

    lower = np.array([0.0, lam_phys, lam_phys * 1e-6, 0.0])[:p_count]
    upper = np.array([np.inf, _LAMBDA_MAX_PER_H, _LAMBDA_MAX_PER_H, np.inf])[:p_count]
    x0 = np.clip(_grid_start(m, t, y, w, lam_phys), lower, np.where(np.isinf(upper), 1e30, upper))
    x0[list(m.amplitudes)] = np.maximum(x0[list(m.amplitudes)], 1e-9)

    def resid(p: np.ndarray) -> np.ndarray:
        return (m.value(p, t) - y) * w

    def jac(p: np.ndarray) -> np.ndarray:
        return m.jacobian(p, t) * w[:, None]

    try:
        sol = least_squares(
            resid, x0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
            ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=300,
        )  # fmt: skip
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        raise FitError(f"{where}: {model} fit failed ({exc})", field="activity_bq") from exc
    if sol.status <= 0 or not np.all(np.isfinite(sol.x)):
        raise FitError(
            f"{where}: {model} fit did not converge ({sol.message})", field="activity_bq"
        )
    p_hat = sol.x
    weighted_rss = float(np.sum(sol.fun**2))
    warnings: list[str] = []

    j = jac(p_hat)
    jtj_inv = np.linalg.pinv(j.T @ j, rcond=1e-13)
    dof = n - p_count
    if sd_known:
        cov = jtj_inv
    elif dof > 0:
        cov = jtj_inv * (weighted_rss / dof)
    else:
        cov = np.full((p_count, p_count), np.nan)
        warnings.append(
            f"{model} fit with {n} points and {p_count} parameters has no residual degrees of "
            "freedom: the TIA uncertainty needs measurement SDs"
        )

    tia = float(m.tia(p_hat))
    if uncertainty == "delta" or not np.all(np.isfinite(cov)):
        g = m.tia_gradient(p_hat)
        tia_sd = float(np.sqrt(max(g @ cov @ g, 0.0))) if np.all(np.isfinite(cov)) else math.nan
    else:
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(p_hat, cov, size=n_samples, method="eigh")
        draws = np.clip(draws, lower, upper)
        samples = m.tia(draws.T)
        tia_sd = float(np.std(samples[np.isfinite(samples)], ddof=1))

    names = m.param_names
    at_bound = [names[i] for i in range(p_count) if p_hat[i] >= upper[i] * (1 - 1e-6)]
    at_bound += [names[i] for i in m.amplitudes if p_hat[i] <= 0]
    if p_count > 2 and p_hat[2] <= lower[2] * (1 + 1e-3):
        at_bound.append(names[2])
    if p_hat[1] <= lam_phys * (1 + 1e-6):
        warnings.append(
            f"{model} fit: clearance limited to physical decay (effective half-life = physical)"
        )
    if at_bound:
        warnings.append(f"unstable {model} fit: parameter(s) {', '.join(at_bound)} at a bound")
    if np.all(np.isfinite(cov)):
        rel_se = np.sqrt(np.maximum(np.diag(cov), 0.0)) / np.maximum(np.abs(p_hat), 1e-300)
        big = [f"{names[i]} ({100 * rel_se[i]:.0f} %)" for i in range(p_count) if rel_se[i] > 1.0]
        if big:
            warnings.append(
                f"unstable {model} fit: relative standard error > 100 % for {', '.join(big)}"
            )

    to_phys = np.ones(p_count)
    to_phys[list(m.amplitudes)] = scale
    params = {names[i]: float(p_hat[i] * to_phys[i]) for i in range(p_count)}
    if p_count > 2:
        params["lambda2_per_h"] = params["lambda1_per_h"] + params["delta_lambda_per_h"]
    return ExponentialFit(
        model=model,
        parameters=params,
        covariance=cov * np.outer(to_phys, to_phys),
        tia_bq_h=tia * scale,
        tia_bq_h_sd=tia_sd * scale,
        clearance_per_h=float(m.clearance(p_hat)),
        residuals_bq=(m.value(p_hat, t) - y) * scale,
        aicc=aicc(weighted_rss, n, p_count, sd_known=sd_known),
        warnings=tuple(warnings),
    )
