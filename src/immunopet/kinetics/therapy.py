"""Therapy prediction from imaging: the TIA a therapy nuclide would give on the imaged carrier.

The imaging nuclide's curve A_I(t) (activity at scan time) is, with the same
carrier and the same biology,

    A_bio(t) = A_I(t) · e^(+λ_I t)          (decay-corrected to injection: the biological curve)
    A_T(t)   = A_bio(t) · e^(−λ_T t)        (the therapy nuclide's decay re-applied)

per unit injected activity (MIRD Pamphlet 21, Bolch et al. 2009, eq. 2 and its
"effective" decay constant λ_eff = λ_bio + λ_phys). A_T is then integrated to
infinity (:func:`immunopet.kinetics.fit_tac`, the curve's nuclide being the
therapy one, so the physical-decay floor of a fitted tail is the therapy's).
The part beyond the last image is an *assumption*, stated in the output:

* ``"fit"`` — the fitted biological clearance goes on after the last image;
* ``"physical"`` — no biological clearance after the last image, only the therapy
  nuclide's decay: A_T(t_last)/λ_T, the conservative (upper) bound.

Its share of the TIA is the ``tail_fraction`` column. A therapy nuclide that
lives longer than the imaging one (¹³¹I 8.0 d vs ¹²⁴I 4.2 d; ¹⁷⁷Lu 6.6 d vs
⁸⁹Zr 3.3 d) sees the biology at times the images never saw, so this fraction is
what a physicist must read first.

Labelling caveat (the ``labelling_caveat`` column): the prediction assumes the
therapy label follows the imaging label. For radio-iodine the label is *not
residualising*: after internalisation and catabolism the iodotyrosine/iodide
leaves the cell (dehalogenation) while radiometals (Zr, Lu, Y, Cu, In) stay
trapped in the lysosome (Shih et al., J Nucl Med 1994;35:899–908, nine labels
compared). ¹²⁴I→¹³¹I and ⁶⁴Cu→⁶⁷Cu are the same element and chemistry; ⁸⁹Zr
(DFO) → ¹⁷⁷Lu/⁹⁰Y (DOTA/DTPA) are different metals and chelators, both
residualising, whose released metal goes to bone (⁸⁹Zr-Zevalin vs
⁹⁰Y-Zevalin: Perk et al., Eur J Nucl Med Mol Imaging 2006;33:1337–1345).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np

from ..core.errors import ImmunopetWarning, InvalidValueError
from ..core.nuclides import Nuclide
from .curves import TimeActivityCurve
from .fit import fit_tac
from .result import TiaResult

__all__ = [
    "THERAPY_PAIRS",
    "THERAPY_TAILS",
    "labelling_caveat",
    "predict_therapy_tia",
    "therapy_curve",
]

#: The tail assumptions beyond the last image.
THERAPY_TAILS = ("fit", "physical")

_IODINE = (
    "radio-iodine label (not residualising): after internalisation the antibody is catabolised "
    "and iodotyrosine/iodide leaves the cell (dehalogenation; Shih et al., J Nucl Med "
    "1994;35:899); same element as the imaging label, so imaging sees the same loss"
)
_METAL = (
    "radiometal label (residualising: trapped in the lysosome after catabolism; Shih et al., "
    "J Nucl Med 1994;35:899), but another metal and chelator than the imaging one: released "
    "metal goes to bone differently (89Zr-Zevalin vs 90Y-Zevalin, Perk et al., Eur J Nucl Med "
    "Mol Imaging 2006;33:1337)"
)
_COPPER = (
    "radio-copper label (residualising), same element and chelator as the imaging one; copper "
    "released by transchelation goes to the liver (Boswell et al., J Med Chem 2004;47:1465)"
)

#: Imaging → therapy pairs of the same carrier and their labelling caveat.
THERAPY_PAIRS: dict[tuple[str, str], str] = {
    ("I-124", "I-131"): _IODINE,
    ("Zr-89", "Lu-177"): _METAL,
    ("Zr-89", "Y-90"): _METAL,
    ("Cu-64", "Cu-67"): _COPPER,
}


def labelling_caveat(imaging: Nuclide | str, therapy: Nuclide | str, *, warn: bool = False) -> str:
    """The labelling assumption of predicting ``therapy`` from ``imaging`` (see module).

    A pair outside :data:`THERAPY_PAIRS` is allowed, with a warning (``warn``) that the
    chemistry of the two labels differs.
    """
    i = imaging.name if isinstance(imaging, Nuclide) else Nuclide.from_name(imaging).name
    t = therapy.name if isinstance(therapy, Nuclide) else Nuclide.from_name(therapy).name
    if i == t:
        raise InvalidValueError(
            f"the therapy nuclide is the imaging nuclide ({i}): nothing to predict",
            field="therapy_nuclide",
            value=t,
        )
    known = THERAPY_PAIRS.get((i, t))
    if known is not None:
        return known
    text = (
        f"{i} → {t} is not a validated imaging/therapy pair (known: "
        + ", ".join(f"{a}→{b}" for a, b in THERAPY_PAIRS)
        + "): the two labels' chemistry differs, the therapy biodistribution may not follow "
        "the imaging one"
    )
    if warn:
        warnings.warn(text, ImmunopetWarning, stacklevel=2)
    return text


def therapy_curve(curve: TimeActivityCurve, therapy: Nuclide) -> TimeActivityCurve:
    """``curve`` with the imaging decay removed and ``therapy``'s applied (same biology)."""
    factor = np.exp((curve.decay_constant_per_h - _lambda_per_h(therapy)) * curve.time_h)
    sd = None if curve.activity_sd_bq is None else curve.activity_sd_bq * factor
    conc = None if curve.concentration_bq_per_ml is None else curve.concentration_bq_per_ml * factor
    return replace(
        curve,
        nuclide=therapy,
        activity_bq=curve.activity_bq * factor,
        activity_sd_bq=sd,
        concentration_bq_per_ml=conc,
    )


def _lambda_per_h(nuclide: Nuclide) -> float:
    return math.log(2.0) / nuclide.half_life("h")


def _after_last_bq_h(
    result: TiaResult, t_last: float, a_last_bq: float, lam_t: float
) -> tuple[float, float]:
    """(∫ beyond t_last as fitted, the same under the physical-decay-only assumption)."""
    p = result.parameters
    if "tail_bq_h" in p:  # trapezoid: its tail starts at the last measured point
        return p["tail_bq_h"], a_last_bq / lam_t
    if "a1_bq" in p:  # bi_sum
        e1, e2 = math.exp(-p["lambda1_per_h"] * t_last), math.exp(-p["lambda2_per_h"] * t_last)
        fitted = p["a1_bq"] * e1 / p["lambda1_per_h"] + p["a2_bq"] * e2 / p["lambda2_per_h"]
        return fitted, (p["a1_bq"] * e1 + p["a2_bq"] * e2) / lam_t
    if "lambda2_per_h" in p:  # bi (uptake and clearance)
        e1, e2 = math.exp(-p["lambda1_per_h"] * t_last), math.exp(-p["lambda2_per_h"] * t_last)
        fitted = p["a0_bq"] * (e1 / p["lambda1_per_h"] - e2 / p["lambda2_per_h"])
        return fitted, p["a0_bq"] * (e1 - e2) / lam_t
    e = math.exp(-p["lambda_per_h"] * t_last)  # mono
    return p["a0_bq"] * e / p["lambda_per_h"], p["a0_bq"] * e / lam_t


def predict_therapy_tia(
    curve: TimeActivityCurve,
    therapy: Nuclide | str,
    model: str = "auto",
    *,
    tail: str = "fit",
    trapezoid_tail: str = "fit",
    head: str = "linear",
    uncertainty: str = "delta",
    seed: int = 0,
    warn: bool = False,
) -> tuple[TiaResult, float]:
    """The therapy nuclide's TIA from an imaging curve, and the share of it after the last image.

    Parameters
    ----------
    curve
        The imaging curve (activity at scan time, imaging nuclide).
    therapy
        The therapy nuclide (same carrier).
    model
        The fit model (:func:`immunopet.kinetics.fit_tac`) of the therapy curve.
    tail
        ``"fit"`` (the fitted biological clearance continues) or ``"physical"``
        (only the therapy nuclide's decay after the last image: the upper bound).
    trapezoid_tail
        The trapezoid's own tail when the model is (or falls back to) the trapezoid
        and ``tail="fit"``.

    Returns
    -------
    (TiaResult, float)
        The TIA (``nuclide`` = therapy; ``model`` names the tail assumption) and the
        fraction of it beyond the last image (0–1).
    """
    nuc = therapy if isinstance(therapy, Nuclide) else Nuclide.from_name(str(therapy))
    if tail not in THERAPY_TAILS:
        raise InvalidValueError(
            f"unknown therapy tail {tail!r} (use {', '.join(THERAPY_TAILS)})",
            field="therapy_tail",
            value=tail,
        )
    ct = therapy_curve(curve, nuc)
    lam_t = _lambda_per_h(nuc)
    trap_tail = "physical" if tail == "physical" else trapezoid_tail
    result = fit_tac(
        ct, model, head=head, tail=trap_tail, uncertainty=uncertainty, seed=seed, warn=warn
    )
    t_last = float(ct.time_h[-1])
    fitted, physical = _after_last_bq_h(result, t_last, float(ct.activity_bq[-1]), lam_t)
    after = physical if tail == "physical" else fitted
    total = result.tia_bq_h - fitted + after
    scale = total / result.tia_bq_h if result.tia_bq_h > 0 else 1.0
    label = f"{result.model}; after {t_last:g} h: " + (
        "therapy decay only (upper bound)" if tail == "physical" else "fitted clearance"
    )
    out = replace(
        result,
        tia_bq_h=total,
        tia_bq_h_sd=result.tia_bq_h_sd * scale,
        model=f"predicted from {curve.nuclide.name}: {label}",
    )
    return out, (after / total if total > 0 else math.nan)
