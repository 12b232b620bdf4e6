"""Whole body and remainder of body, as OLINDA/EXM and MIRDcalc expect them.

OLINDA/EXM (Stabin et al., J Nucl Med 46:1023, 2005) and MIRDcalc (Kesner et
al., J Nucl Med 64:1117, 2023) take the TIAC of each source organ and a
"remainder of body" TIAC = whole body − Σ source organs, so that activity is
neither lost nor counted twice.

When no whole-body measurement exists (partial field of view), the whole-body
TIA is bounded by assuming *no excretion*: the injected activity stays in the
body and only decays physically, Ã_WB = A₀ τ = A₀ T½ / ln 2 (MIRD Pamphlet 21,
eq. 2 with A(t) = A₀ e^(−λt)). That is an upper bound; the assumption is written
in the result's ``model``.
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Iterable

from ..core.errors import ImmunopetWarning, InvalidValueError, PhysicsError
from ..core.nuclides import Nuclide
from .result import TiaResult

__all__ = ["NO_EXCRETION_MODEL", "remainder_tia", "whole_body_tia_no_excretion"]

#: ``model`` text of a whole-body TIA that assumes no excretion.
NO_EXCRETION_MODEL = "physical decay of injected activity (assumption: no excretion; partial FOV)"


def whole_body_tia_no_excretion(
    subject: str, nuclide: Nuclide, injected_activity_bq: float, region: str = "total_body"
) -> TiaResult:
    """Whole-body TIA if nothing is excreted: A₀ T½/ln 2 (TIAC = mean life τ, h).

    Parameters
    ----------
    subject, nuclide, injected_activity_bq
        The administration.
    region
        Name of the row (``"total_body"``).

    Raises
    ------
    InvalidValueError
        Non-positive injected activity.
    """
    if not (math.isfinite(injected_activity_bq) and injected_activity_bq > 0):
        raise InvalidValueError(
            f"subject {subject!r}: injected activity must be positive",
            field="injected_activity_bq",
            value=injected_activity_bq,
        )
    half_life_h = nuclide.half_life("h")
    return TiaResult(
        subject=subject,
        region=region,
        nuclide=nuclide,
        tia_bq_h=injected_activity_bq * half_life_h / math.log(2.0),
        tia_bq_h_sd=0.0,
        injected_activity_bq=injected_activity_bq,
        model=NO_EXCRETION_MODEL,
        effective_half_life_h=half_life_h,
        parameters={"lambda_per_h": math.log(2.0) / half_life_h},
    )


def remainder_tia(
    whole_body: TiaResult,
    organs: Iterable[TiaResult],
    *,
    region: str = "remainder",
    warn: bool = True,
) -> TiaResult:
    """Remainder of body = whole body − Σ source organs (clipped at 0 with a warning).

    Parameters
    ----------
    whole_body
        Whole-body TIA (measured, or :func:`whole_body_tia_no_excretion`).
    organs
        Source-organ TIAs of the same subject and nuclide (lesions, blood and
        background regions should not be passed: they are not source organs).
    region
        Name of the row.
    warn
        Emit the clipping warning as :class:`~immunopet.core.errors.ImmunopetWarning`.

    Returns
    -------
    TiaResult
        SD assumes independent errors: sqrt(SD_WB² + Σ SD_i²) (an upper bound
        when organ and whole-body errors are positively correlated).

    Raises
    ------
    PhysicsError
        Organs of another subject or nuclide.
    """
    organs = list(organs)
    for organ in organs:
        if organ.subject != whole_body.subject or organ.nuclide != whole_body.nuclide:
            raise PhysicsError(
                f"remainder of subject {whole_body.subject!r} ({whole_body.nuclide}) cannot "
                f"subtract {organ.region!r} of subject {organ.subject!r} ({organ.nuclide})",
                field="subject",
            )
    organ_sum = sum(o.tia_bq_h for o in organs)
    value = whole_body.tia_bq_h - organ_sum
    notes: list[str] = []
    if value < 0:
        notes.append(
            f"source organs ({organ_sum:.4g} Bq·h) exceed the whole body "
            f"({whole_body.tia_bq_h:.4g} Bq·h): remainder clipped to 0"
        )
        value = 0.0
    sd = math.sqrt(whole_body.tia_bq_h_sd**2 + sum(o.tia_bq_h_sd**2 for o in organs))
    if warn:
        for note in notes:
            _warnings.warn(f"{whole_body.subject}/{region}: {note}", ImmunopetWarning, stacklevel=2)
    names = ", ".join(sorted(o.region for o in organs)) or "none"
    return TiaResult(
        subject=whole_body.subject,
        region=region,
        nuclide=whole_body.nuclide,
        tia_bq_h=value,
        tia_bq_h_sd=sd,
        injected_activity_bq=whole_body.injected_activity_bq,
        model=f"whole body − source organs ({whole_body.model}; minus {names})",
        effective_half_life_h=whole_body.effective_half_life_h,
        parameters={"whole_body_tia_bq_h": whole_body.tia_bq_h, "organs_tia_bq_h": organ_sum},
        warnings=tuple(notes),
    )
