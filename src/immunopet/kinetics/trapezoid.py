"""Trapezoidal integration of a time-activity curve with a head and a tail.

Ã = head + Σ trapezoids + tail (MIRD Pamphlet 21, §"hybrid" integration; the
usual choice with 2–3 time points, as in OLINDA/EXM's kinetics module):

* head (0 → t₁): ``"linear"`` from A(0) = 0 (area t₁A₁/2: uptake from zero), or
  ``"constant"`` (area t₁A₁: activity already in place at injection, e.g. blood);
* tail (t_n → ∞): ``"physical"`` decay only, A_n/λ_phys (λ from the ICRP-107
  half-life) — an upper bound for a clearing organ; or ``"fit"``, A_n/λ_tail with
  λ_tail from a log-linear (mono-exponential) fit to the last 2–3 points,
  never slower than physical decay (λ_tail ≥ λ_phys); or ``"none"`` (stop at
  the last point: a lower bound, for comparison only).

Ã is linear in the activities with a physical tail, so its SD from measurement
SDs is exact; with a fitted tail it is propagated by a numerical gradient
(delta method) or by Monte Carlo resampling of the activities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import FitError
from .curves import TimeActivityCurve

__all__ = ["HEADS", "TAILS", "TrapezoidIntegral", "integrate_trapezoid"]

HEADS = ("linear", "constant")
TAILS = ("physical", "fit", "none")


@dataclass(frozen=True)
class TrapezoidIntegral:
    """Result of :func:`integrate_trapezoid`.

    Attributes
    ----------
    tia_bq_h, tia_bq_h_sd
        Integral (Bq·h) and its SD (NaN without measurement SDs).
    head_bq_h, body_bq_h, tail_bq_h
        The three parts of the integral.
    tail_decay_constant_per_h
        λ of the tail (h⁻¹).
    tail
        ``"physical"`` or ``"fit"`` (what was actually used).
    warnings
        e.g. a fitted tail that had to fall back to physical decay.
    """

    tia_bq_h: float
    tia_bq_h_sd: float
    head_bq_h: float
    body_bq_h: float
    tail_bq_h: float
    tail_decay_constant_per_h: float
    tail: str
    warnings: tuple[str, ...]


def _tail_lambda(t: np.ndarray, a: np.ndarray, lam_phys: float) -> np.ndarray:
    """λ of a log-linear least-squares fit to the last points (rows of ``a``), ≥ λ_phys."""
    log_a = np.log(np.maximum(a, 1e-300))
    tc = t - t.mean()
    slope = (log_a - log_a.mean(axis=-1, keepdims=True)) @ tc / (tc @ tc)
    return np.maximum(-slope, lam_phys)


def _integral(
    t: np.ndarray, a: np.ndarray, lam_phys: float, head: str, tail: str, n_tail: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised over rows of ``a`` (replicates × times): head, body, tail, λ_tail."""
    head_area = t[0] * a[..., 0] * (0.5 if head == "linear" else 1.0)
    body = np.sum(np.diff(t) * 0.5 * (a[..., 1:] + a[..., :-1]), axis=-1)
    if tail == "fit":
        lam = _tail_lambda(t[-n_tail:], a[..., -n_tail:], lam_phys)
    elif tail == "none":
        return head_area, body, np.zeros(a.shape[:-1]), np.full(a.shape[:-1], np.inf)
    else:
        lam = np.full(a.shape[:-1], lam_phys)
    return head_area, body, a[..., -1] / lam, lam


def integrate_trapezoid(
    curve: TimeActivityCurve,
    *,
    head: str = "linear",
    tail: str = "physical",
    n_tail_points: int = 3,
    uncertainty: str = "delta",
    n_samples: int = 4000,
    seed: int = 0,
) -> TrapezoidIntegral:
    """Integrate ``curve`` from 0 to ∞ with trapezoids, a head and a tail.

    Parameters
    ----------
    curve
        The time-activity curve (≥ 1 point; a fitted tail needs ≥ 2).
    head
        ``"linear"`` (from zero at t = 0) or ``"constant"`` (A₁ back to t = 0).
    tail
        ``"physical"``, ``"fit"`` (mono-exponential on the last
        ``n_tail_points`` points, 2 or 3, but only those from the curve's maximum on
        when fewer, at least 2; λ ≥ λ_phys) or ``"none"``.
    uncertainty
        ``"delta"`` or ``"monte_carlo"`` (activities resampled from N(A, SD), seeded).

    Returns
    -------
    TrapezoidIntegral

    Raises
    ------
    FitError
        Unknown head/tail/uncertainty.
    """
    if head not in HEADS:
        raise FitError(f"unknown head {head!r}; use one of {HEADS}", field="head", value=head)
    if tail not in TAILS:
        raise FitError(f"unknown tail {tail!r}; use one of {TAILS}", field="tail", value=tail)
    if uncertainty not in ("delta", "monte_carlo"):
        raise FitError(
            f"unknown uncertainty {uncertainty!r}; use 'delta' or 'monte_carlo'",
            field="uncertainty",
        )
    if n_tail_points not in (2, 3):
        raise FitError("n_tail_points must be 2 or 3", field="n_tail_points", value=n_tail_points)
    t, a = curve.time_h, curve.activity_bq
    lam_phys = curve.decay_constant_per_h
    warnings: list[str] = []
    n_tail = min(n_tail_points, curve.n_points)
    if tail == "fit" and curve.n_points >= 2:
        # Fit only the clearing part: the points from the curve's maximum on (at least
        # 2), so that uptake still rising at the first scan does not flatten the tail.
        n_tail = max(2, min(n_tail, curve.n_points - int(np.argmax(a))))
    used_tail = tail
    if tail == "fit":
        if n_tail < 2:
            warnings.append("fitted tail needs ≥ 2 points: physical-decay tail used")
            used_tail = "physical"
        elif np.any(a[-n_tail:] <= 0):
            warnings.append("fitted tail needs positive activities: physical-decay tail used")
            used_tail = "physical"
    head_a, body, tail_a, lam = _integral(t, a, lam_phys, head, used_tail, n_tail)
    tia = float(head_a + body + tail_a)
    if used_tail == "fit" and float(lam) <= lam_phys * (1 + 1e-9):
        warnings.append(
            "fitted tail is not clearing faster than physical decay: physical-decay tail used"
        )

    sd = curve.activity_sd_bq
    if sd is None:
        tia_sd = math.nan
    elif uncertainty == "delta":
        # Numerical gradient dÃ/dA_i (exact for the linear physical-tail case).
        step = 1e-6 * np.maximum(a, 1e-6 * max(float(a.max()), 1.0))
        perturbed = a[None, :] + np.diag(step)
        total = sum(_integral(t, perturbed, lam_phys, head, used_tail, n_tail)[:3])
        grad = (total - tia) / step
        tia_sd = float(np.sqrt(np.sum((grad * sd) ** 2)))
    else:
        rng = np.random.default_rng(seed)
        draws = np.maximum(a + sd * rng.standard_normal((n_samples, a.size)), 1e-300)
        total = sum(_integral(t, draws, lam_phys, head, used_tail, n_tail)[:3])
        tia_sd = float(np.std(total, ddof=1))
    return TrapezoidIntegral(
        tia_bq_h=tia,
        tia_bq_h_sd=tia_sd,
        head_bq_h=float(head_a),
        body_bq_h=float(body),
        tail_bq_h=float(tail_a),
        tail_decay_constant_per_h=float(lam),
        tail=used_tail,
        warnings=tuple(warnings),
    )
