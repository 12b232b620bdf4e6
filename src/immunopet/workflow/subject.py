"""The per-subject recipe: measurements → time-integrated activities → organ doses.

The same functions serve ``immunopet run`` (:mod:`immunopet.pipeline.dose_steps`)
and the single-step commands ``immunopet tac`` / ``immunopet dose``, with the
study model's options (:class:`~immunopet.study.KineticsOptions`,
:class:`~immunopet.study.DosimetryOptions`) — the one source of defaults.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from ..core.errors import ImmunopetError, ImmunopetWarning, InvalidValueError
from ..core.organs import NON_ORGAN_PREFIXES, canonical_organ
from ..core.schema import RegionKind
from ..study import DosimetryOptions, KineticsOptions
from .tables import DoseTable, MeasurementTable, TiaTable

__all__ = ["integrate", "organ_doses", "phantom_sources"]


def integrate(
    measurements: MeasurementTable,
    options: KineticsOptions,
    *,
    tracer: str | None = None,
    injected_activity_bq: float | None = None,
    relative_sd: float | None = None,
    head: str = "linear",
    uncertainty: str = "delta",
    seed: int = 0,
) -> TiaTable:
    """Time-integrated activity of every organ, blood and whole-body curve.

    With ``options.urinary_fraction`` the imaged bladder is replaced by the dynamic
    bladder model (MIRD Pamphlet 14 rev.) fed by the measured whole-body clearance.
    The remainder of body is not a row: the dosimetry derives it from ``whole_body``.
    """
    from ..kinetics import KINETICS_COLUMNS, fit_tac

    curves = measurements.curves(
        tracer=tracer, injected_activity_bq=injected_activity_bq, relative_sd=relative_sd
    )
    results = [
        fit_tac(
            c, options.model, head=head, tail=options.tail, uncertainty=uncertainty, seed=seed,
            warn=False,
        )
        for c in curves
    ]  # fmt: skip
    if options.urinary_fraction is not None:
        results = _with_dynamic_bladder(results, options)
    rows = [r.to_row() for r in results]
    return TiaTable(pd.DataFrame(rows, columns=None if rows else list(KINETICS_COLUMNS)))


def _with_dynamic_bladder(results: list[Any], options: KineticsOptions) -> list[Any]:
    """Replace each subject's imaged bladder by the dynamic bladder model.

    Falls back to the imaged bladder, with a warning, when there is no whole-body
    curve or it does not clear faster than physical decay.
    """
    from ..kinetics import bladder_tia_from_whole_body

    out: list[Any] = []
    for subject in dict.fromkeys(r.subject for r in results):
        mine = [r for r in results if r.subject == subject]
        whole_body = next((r for r in mine if r.region == RegionKind.WHOLE_BODY.value), None)
        try:
            if whole_body is None:
                raise ImmunopetError("no whole-body curve to take the urinary clearance from")
            bladder = bladder_tia_from_whole_body(
                whole_body,
                float(options.urinary_fraction or 0.0),
                voiding_interval_h=float(options.voiding_interval_h),
            )
        except ImmunopetError as exc:
            warnings.warn(f"{subject}: dynamic bladder model not used, imaged bladder kept: "
                          f"{exc}", ImmunopetWarning, stacklevel=3)  # fmt: skip
            out.extend(mine)
            continue
        # The imaged wall is the spill-out of the urine it holds; in the MIRD schema the
        # contents irradiate the wall, which is not a source of its own.
        drop = {bladder.region, "urinary_bladder_wall"}
        out.extend([r for r in mine if r.region not in drop] + [bladder])
    return out


def phantom_sources(tias: TiaTable) -> tuple[pd.DataFrame, list[str]]:
    """The TIA rows the phantom has a source for, and the regions left to the remainder.

    The blood pool and lesions are not organ sources; regions the phantom does not
    know (e.g. ``arm_bones``) are dropped here, so their activity stays in the
    remainder of body through ``whole_body``.
    """
    df = tias.frame
    keep, unknown = [], []
    for region in df["region"].astype(str):
        key = region.strip().lower()
        if key.startswith(NON_ORGAN_PREFIXES):
            keep.append(False)
            continue
        try:
            canonical_organ(region)
            keep.append(True)
        except InvalidValueError:
            keep.append(False)
            unknown.append(region)
    return df[keep], sorted(set(unknown))


def organ_doses(
    tias: TiaTable,
    options: DosimetryOptions,
    *,
    nuclide: str | None = None,
    **kwargs: object,
) -> DoseTable:
    """Organ absorbed doses and effective dose of every subject of ``tias``.

    The measured field of view (``whole_body``) is the total-body source; organs
    named beside it turn it into the remainder of body (OLINDA-style). Regions the
    phantom does not know are left in the remainder, with one warning naming them.

    Parameters
    ----------
    nuclide
        The nuclide of the S-values; default ``options.nuclide``, else the table's.
        It must be the nuclide whose decay the TIAs were integrated with.

    Raises
    ------
    InvalidValueError
        The TIAs were integrated with another nuclide's decay than the one asked for.
    """
    from ..core.nuclides import parse_nuclide_name
    from ..dosimetry.organ_dose import organ_doses_table

    rows, unknown = phantom_sources(tias)
    if unknown:
        warnings.warn(
            f"regions without a phantom organ, left in the remainder of body: {unknown}",
            ImmunopetWarning,
            stacklevel=2,
        )
    asked = nuclide or options.nuclide
    integrated = tias.nuclides
    if asked is None:
        if not integrated:
            raise InvalidValueError(
                "the TIA table names no nuclide: give --nuclide", file=tias.source, field="nuclide"
            )
        asked = integrated[0]
    asked = parse_nuclide_name(asked)
    other = [n for n in integrated if n != asked]
    if other:
        raise InvalidValueError(
            f"the TIAs were integrated with the decay of {', '.join(other)}, not {asked}: "
            "S-values of one nuclide cannot be applied to another's TIAs; predict the "
            "therapy nuclide's TIAs from the imaging ones instead",
            file=tias.source,
            field="nuclide",
            value=asked,
        )
    return DoseTable(organ_doses_table(rows, asked, options.phantom, **kwargs))
