"""Dynamic urinary bladder model: TIA of the bladder contents with periodic voiding.

Model (Cloutier et al., J Nucl Med 14:53, 1973; MIRD Pamphlet No. 14 revised,
Thomas et al., J Nucl Med 40:102S, 1999; the voiding model of ICRP Publications
53 and 128): a fraction fᵢ of the administered activity A₀ leaves the body
through the kidneys with biological half-life T_b,i, so activity enters the
bladder at the rate

    I(t) = A₀ Σᵢ fᵢ λ_b,i exp(−(λ_b,i + λ_p) t),

decays there with λ_p, and the bladder is emptied completely at t₁ (first
void) and every Δ hours after. Between voids starting empty at t₀ the contents
are q(t) = A₀ f e^(−λ_p t) (e^(−λ_b t₀) − e^(−λ_b t)), whose integral over
[t₀, t₀ + L] is A₀ f e^(−λ_e t₀) g(L) with λ_e = λ_b + λ_p and

    g(L) = (1 − e^(−λ_p L))/λ_p − (1 − e^(−λ_e L))/λ_e.

Summing the geometric series over the regular intervals gives the closed form

    Ã_bladder = A₀ Σᵢ fᵢ [ g(t₁) + e^(−λ_e t₁) g(Δ) / (1 − e^(−λ_e Δ)) ]

(MIRD Pamphlet 14 rev., eq. 5 for t₁ = Δ). Without voiding (Δ → ∞) it tends to
A₀ f (1/λ_p − 1/λ_e). The default voiding interval of 3.5 h is the adult value
of ICRP Publications 53 and 128.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.errors import InvalidValueError, PhysicsError
from ..core.nuclides import Nuclide
from .result import TiaResult

__all__ = ["ICRP_VOIDING_INTERVAL_H", "bladder_tia_bq_h", "bladder_tia_from_whole_body"]

#: Adult bladder voiding interval of the ICRP dynamic bladder model (ICRP 53, ICRP 128), h.
ICRP_VOIDING_INTERVAL_H = 3.5


def _g(length_h: float, lam_p: float, lam_e: float) -> float:
    return -math.expm1(-lam_p * length_h) / lam_p + math.expm1(-lam_e * length_h) / lam_e


def bladder_tia_bq_h(
    injected_activity_bq: float,
    nuclide: Nuclide,
    urinary_fractions: float | Sequence[float],
    biological_half_lives_h: float | Sequence[float],
    *,
    voiding_interval_h: float = ICRP_VOIDING_INTERVAL_H,
    first_void_h: float | None = None,
) -> float:
    """Time-integrated activity of the bladder contents (Bq·h), dynamic bladder model.

    Parameters
    ----------
    injected_activity_bq
        Administered activity A₀ (Bq).
    nuclide
        Radionuclide (ICRP-107 half-life).
    urinary_fractions
        Fraction(s) fᵢ of A₀ excreted in urine (0 < Σ fᵢ ≤ 1).
    biological_half_lives_h
        Biological half-life of each urinary component (h, > 0).
    voiding_interval_h
        Δ, time between voids (h); ``math.inf`` for no voiding.
    first_void_h
        Time of the first void after injection (h); default Δ.

    Returns
    -------
    float
        Ã of the bladder contents (Bq·h).

    Raises
    ------
    InvalidValueError
        Fractions outside (0, 1], non-positive half-lives or intervals, mismatched lengths.
    """
    fractions = (
        [urinary_fractions]
        if isinstance(urinary_fractions, int | float)
        else list(urinary_fractions)
    )
    half_lives = (
        [biological_half_lives_h]
        if isinstance(biological_half_lives_h, int | float)
        else list(biological_half_lives_h)
    )
    if len(fractions) != len(half_lives) or not fractions:
        raise InvalidValueError(
            "give one biological half-life per urinary fraction",
            field="biological_half_lives_h",
            value=(fractions, half_lives),
        )
    if any(not (0 < f <= 1) for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise InvalidValueError(
            "urinary fractions must be in (0, 1] and sum to at most 1",
            field="urinary_fraction",
            value=fractions,
        )
    if any(not (math.isfinite(h) and h > 0) for h in half_lives):
        raise InvalidValueError(
            "biological half-lives must be positive and finite (h)",
            field="biological_half_life_h",
            value=half_lives,
        )
    if not (voiding_interval_h > 0):
        raise InvalidValueError(
            "voiding interval must be positive (h)",
            field="voiding_interval_h",
            value=voiding_interval_h,
        )
    first = voiding_interval_h if first_void_h is None else first_void_h
    if not (first > 0):
        raise InvalidValueError(
            "first void must be after injection", field="first_void_h", value=first
        )
    if not (math.isfinite(injected_activity_bq) and injected_activity_bq > 0):
        raise InvalidValueError(
            "injected activity must be positive",
            field="injected_activity_bq",
            value=injected_activity_bq,
        )
    lam_p = math.log(2.0) / nuclide.half_life("h")
    total = 0.0
    for f, t_b in zip(fractions, half_lives, strict=True):
        lam_e = lam_p + math.log(2.0) / t_b
        if math.isinf(first):
            per_fraction = 1.0 / lam_p - 1.0 / lam_e
        else:
            later = 0.0
            if math.isfinite(voiding_interval_h):
                later = (
                    math.exp(-lam_e * first)
                    * _g(voiding_interval_h, lam_p, lam_e)
                    / -math.expm1(-lam_e * voiding_interval_h)
                )
            else:
                later = math.exp(-lam_e * first) * (1.0 / lam_p - 1.0 / lam_e)
            per_fraction = _g(first, lam_p, lam_e) + later
        total += f * per_fraction
    return injected_activity_bq * total


def bladder_tia_from_whole_body(
    whole_body: TiaResult,
    urinary_fraction: float,
    *,
    voiding_interval_h: float = ICRP_VOIDING_INTERVAL_H,
    first_void_h: float | None = None,
    region: str = "urinary_bladder_contents",
) -> TiaResult:
    """Bladder-contents TIA with the urinary clearance taken from a whole-body fit.

    The biological half-life of urinary excretion is that of the fitted
    whole-body clearance: λ_b = λ_eff,WB − λ_p.

    Parameters
    ----------
    whole_body
        Whole-body TIA result (its ``effective_half_life_h`` and injected activity are used).
    urinary_fraction
        Fraction of the administered activity excreted in urine (0 < f ≤ 1).
    voiding_interval_h, first_void_h
        See :func:`bladder_tia_bq_h`.

    Raises
    ------
    PhysicsError
        The whole body does not clear faster than physical decay, or no injected activity.
    """
    lam_p = math.log(2.0) / whole_body.nuclide.half_life("h")
    lam_eff = math.log(2.0) / whole_body.effective_half_life_h
    lam_b = lam_eff - lam_p
    if not (lam_b > lam_p * 1e-6):
        raise PhysicsError(
            f"subject {whole_body.subject!r}: the whole body does not clear faster than physical "
            f"decay (effective half-life {whole_body.effective_half_life_h:.4g} h), so no urinary "
            "biological half-life can be derived; fit the whole-body curve or give it explicitly",
            field="effective_half_life_h",
            value=whole_body.effective_half_life_h,
        )
    if not whole_body.injected_activity_bq:
        raise PhysicsError(
            f"subject {whole_body.subject!r}: the bladder model needs the injected activity",
            field="injected_activity_bq",
        )
    t_b = math.log(2.0) / lam_b
    tia = bladder_tia_bq_h(
        whole_body.injected_activity_bq,
        whole_body.nuclide,
        urinary_fraction,
        t_b,
        voiding_interval_h=voiding_interval_h,
        first_void_h=first_void_h,
    )
    return TiaResult(
        subject=whole_body.subject,
        region=region,
        nuclide=whole_body.nuclide,
        tia_bq_h=tia,
        tia_bq_h_sd=math.nan,
        injected_activity_bq=whole_body.injected_activity_bq,
        model=(
            f"dynamic bladder (MIRD 14 rev.; f_urine {urinary_fraction:g}, "
            f"T_b {t_b:.3g} h from whole body, voiding every {voiding_interval_h:g} h)"
        ),
        effective_half_life_h=whole_body.effective_half_life_h,
        parameters={
            "urinary_fraction": urinary_fraction,
            "biological_half_life_h": t_b,
            "voiding_interval_h": voiding_interval_h,
        },
    )
