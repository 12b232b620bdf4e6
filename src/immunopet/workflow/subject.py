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
from .dose_sets import blood_per_ml, dose_frame
from .tables import DoseTable, MeasurementTable, TiaTable

__all__ = ["check_tia_nuclide", "integrate", "organ_doses", "phantom_sources"]


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
    kinds: tuple[RegionKind, ...] = RegionKind.organ_curve_kinds(),
    remainder: bool = False,
    curves: list[Any] | None = None,
    warn: bool = False,
) -> TiaTable:
    """Time-integrated activity of every organ, blood and whole-body curve.

    With ``options.urinary_fraction`` the imaged bladder is replaced by the dynamic
    bladder model (MIRD Pamphlet 14 rev.) fed by the measured whole-body clearance.
    The remainder of body is not a row by default: the dosimetry derives it from
    ``whole_body``. ``remainder=True`` adds the OLINDA/EXM-style ``remainder`` row
    (whole body − organ sources; the no-excretion whole body when none was imaged)
    for export to other tools; :func:`organ_doses` then ignores it. ``curves``, when
    given, are the curves of ``measurements`` already built (e.g. to check or plot them).
    ``warn`` emits each fit's caveats as warnings (they are in the ``warnings`` column too).
    """
    from ..kinetics import KINETICS_COLUMNS, fit_tac

    if curves is None:
        curves = measurements.curves(
            tracer=tracer, kinds=kinds, injected_activity_bq=injected_activity_bq,
            relative_sd=relative_sd,
        )  # fmt: skip
    results = [
        fit_tac(
            c, options.model, head=head, tail=options.tail, uncertainty=uncertainty, seed=seed,
            warn=warn,
        )
        for c in curves
    ]  # fmt: skip
    kind_of = {(c.subject, c.region): c.region_kind for c in curves}
    if options.urinary_fraction is not None:
        results = _with_dynamic_bladder(results, options, kind_of)
    if remainder:
        results = results + _remainders(curves, results)
    rows = [r.to_row() for r in results]
    if options.therapy_nuclide is not None:
        rows += _therapy_rows(curves, options, kind_of, head=head, uncertainty=uncertainty,
                              seed=seed, warn=warn)  # fmt: skip
    _blood_per_ml(rows, curves)
    return TiaTable(pd.DataFrame(rows, columns=None if rows else list(KINETICS_COLUMNS)))


def _blood_per_ml(rows: list[dict[str, Any]], curves: list[Any]) -> None:
    """Add ``volume_ml`` and ``tiac_h_per_ml`` (TIAC / mean VOI volume) to blood and lesion rows.

    The blood method of the red-marrow dose (:mod:`immunopet.dosimetry.marrow`) needs the
    blood's TIAC per mL, the lesion doses (:mod:`immunopet.dosimetry.lesion_dose`) the
    lesions' volumes.
    """
    import numpy as np

    volume = {}
    kinds = (RegionKind.BLOOD.value, RegionKind.LESION.value)
    for c in curves:
        if c.region_kind in kinds and c.concentration_bq_per_ml is not None:
            ok = c.concentration_bq_per_ml > 0
            if ok.any():
                volume[(c.subject, c.region)] = float(
                    np.mean(c.activity_bq[ok] / c.concentration_bq_per_ml[ok])
                )
    for row in rows:
        v = volume.get((row["subject"], row["region"]))
        if v:
            row["volume_ml"] = v  # the lesions' sphere model, the blood's concentration
            row["tiac_h_per_ml"] = row["tiac_h"] / v
            row["tiac_h_per_ml_sd"] = row["tiac_h_sd"] / v


def _therapy_rows(
    curves: list[Any],
    options: KineticsOptions,
    kind_of: dict[tuple[str, str], str],
    **fit: Any,
) -> list[dict[str, Any]]:
    """The therapy nuclide's TIA rows predicted from the imaging curves (kinetics.therapy)."""
    from ..kinetics.therapy import labelling_caveat, predict_therapy_tia

    therapy = str(options.therapy_nuclide)
    caveats = {
        c.nuclide.name: labelling_caveat(c.nuclide, therapy, warn=fit["warn"])
        for c in {c.nuclide.name: c for c in curves}.values()
    }
    results, tails = [], {}
    for c in curves:
        r, share = predict_therapy_tia(
            c, therapy, options.model, tail=options.therapy_tail, trapezoid_tail=options.tail, **fit
        )
        results.append(r)
        tails[(r.subject, r.region)] = (share, c.nuclide.name)
    if options.urinary_fraction is not None:
        results = _with_dynamic_bladder(results, options, kind_of)
    rows = []
    for r in results:
        share, imaging = tails.get((r.subject, r.region), (float("nan"), None))
        imaging = imaging or next(iter(caveats))
        rows.append({**r.to_row(), "imaging_nuclide": imaging, "tail_assumption":
                     options.therapy_tail, "tail_fraction": share,
                     "labelling_caveat": caveats[imaging]})  # fmt: skip
    if fit["warn"] and rows:
        worst = max((x for x in rows if x["tail_fraction"] == x["tail_fraction"]),
                    key=lambda x: x["tail_fraction"], default=None)  # fmt: skip
        if worst is not None:
            warnings.warn(
                f"{therapy} TIAs predicted from {', '.join(caveats)}: up to "
                f"{100 * worst['tail_fraction']:.0f} % of a TIA ({worst['subject']} "
                f"{worst['region']}) lies after the last image, assumed "
                f"{'therapy decay only' if options.therapy_tail == 'physical' else 'to clear as fitted'}"
                f"; labelling: {next(iter(caveats.values()))}",
                ImmunopetWarning,
                stacklevel=3,
            )
    return rows


def _with_dynamic_bladder(
    results: list[Any], options: KineticsOptions, kind_of: dict[tuple[str, str], str]
) -> list[Any]:
    """Replace each subject's imaged bladder by the dynamic bladder model.

    Falls back to the imaged bladder, with a warning, when there is no whole-body
    curve or it does not clear faster than physical decay.
    """
    from ..kinetics import bladder_tia_from_whole_body

    out: list[Any] = []
    for subject in dict.fromkeys(r.subject for r in results):
        mine = [r for r in results if r.subject == subject]
        whole_body = next(
            (r for r in mine if kind_of.get((r.subject, r.region)) == RegionKind.WHOLE_BODY.value),
            None,
        )
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


def _remainders(curves: list[Any], results: list[Any]) -> list[Any]:
    """One OLINDA-style remainder row per subject with a known injected activity."""
    from ..kinetics import remainder_tia, whole_body_tia_no_excretion

    out = []
    kinds = {(c.subject, c.region): c.region_kind for c in curves}
    for subject in dict.fromkeys(r.subject for r in results):
        mine = [r for r in results if r.subject == subject]
        first = next(c for c in curves if c.subject == subject)
        if not first.injected_activity_bq:
            continue
        wb = [r for r in mine if kinds.get((subject, r.region)) == RegionKind.WHOLE_BODY.value]
        if wb:
            whole_body = wb[0]
        else:
            whole_body = whole_body_tia_no_excretion(
                subject, first.nuclide, first.injected_activity_bq
            )
            out.append(whole_body)
        organs = [
            r for r in mine
            if kinds.get((subject, r.region), RegionKind.ORGAN.value) == RegionKind.ORGAN.value
            and r is not whole_body
        ]  # fmt: skip
        out.append(remainder_tia(whole_body, organs))
    return out


def phantom_sources(tias: TiaTable) -> tuple[pd.DataFrame, list[str]]:
    """The TIA rows the phantom has a source for, and the regions left to the remainder.

    The blood pool and lesions are not organ sources; regions the phantom does not
    know (e.g. ``arm_bones``) are dropped here, so their activity stays in the
    remainder of body through ``whole_body``.
    """
    df = tias.frame
    regions = df["region"].astype(str).str.strip().str.lower()
    whole = regions.isin([RegionKind.WHOLE_BODY.value, "total_body"])
    # A remainder row beside a whole-body row is derived from it: the dosimetry derives
    # its own (so that regions it drops below stay in the remainder).
    with_whole = set(df.loc[whole, "subject"])
    df = df[~((regions == "remainder") & df["subject"].isin(with_whole))]
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


def _with_suggestion(region: str) -> str:
    """``region`` with the close phantom names it may be a typo of."""
    import difflib

    from ..core.organs import ORGAN_NAMES, normalise_name

    close = difflib.get_close_matches(normalise_name(region), ORGAN_NAMES, n=2, cutoff=0.75)
    return f"{region!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else "")


def organ_doses(
    tias: TiaTable,
    options: DosimetryOptions,
    *,
    nuclide: str | None = None,
    tracer: str | None = None,
    **kwargs: object,
) -> DoseTable:
    """Organ absorbed doses and effective dose of every subject of ``tias``.

    The measured field of view (``whole_body``) is the total-body source; organs
    named beside it turn it into the remainder of body (OLINDA-style). Regions the
    phantom does not know are left in the remainder, with one warning naming them.

    Parameters
    ----------
    nuclide
        The nuclide of the S-values; default ``options.nuclide``, else every nuclide of
        the table (the imaging one and any therapy prediction), each with its own S-values.
        It must be a nuclide whose decay the TIAs were integrated with.
    tracer
        The tracer's name: an antibody (``-mab``) takes the blood-based red-marrow
        method with ``options.marrow = "auto"``.

    Raises
    ------
    InvalidValueError
        The TIAs were integrated with another nuclide's decay than the one asked for.
    """
    from ..core.nuclides import parse_nuclide_name

    blood = blood_per_ml(tias.frame)
    rows, unknown = phantom_sources(tias)
    if unknown:
        warnings.warn(
            "regions without a phantom organ, left in the remainder of body: "
            + ", ".join(_with_suggestion(r) for r in unknown),
            ImmunopetWarning,
            stacklevel=2,
        )
    if rows.empty:
        raise InvalidValueError(
            "no region of the TIA table is a source of the phantom: "
            + ", ".join(_with_suggestion(r) for r in unknown or tias.frame["region"].astype(str)),
            file=tias.source,
            field="region",
        )
    asked = nuclide or options.nuclide
    integrated = tias.nuclides
    if asked is None:
        if not integrated:
            raise InvalidValueError(
                "the TIA table names no nuclide: give --nuclide", file=tias.source, field="nuclide"
            )
        wanted = list(integrated)
    else:
        wanted = [parse_nuclide_name(asked)]
        check_tia_nuclide(integrated, wanted[0], source=tias.source)
    frames = []
    for name in wanted:
        mine = rows if "nuclide" not in rows else rows[_nuclide_of(rows) == name]
        if "nuclide" in rows and mine.empty:
            continue
        frames.append(dose_frame(mine, name, options, blood=blood.get(name, blood.get("", {})),
                                 tracer=tracer, **kwargs))  # type: ignore[arg-type]  # fmt: skip
    from ..dosimetry.lesion_dose import lesion_dose_table

    lesions = lesion_dose_table(tias.frame, wanted)
    if not lesions.empty:
        frames.append(lesions)
    return DoseTable(pd.concat(frames, ignore_index=True))


def _nuclide_of(rows: pd.DataFrame) -> pd.Series:
    from ..core.nuclides import parse_nuclide_name

    names = rows["nuclide"].astype(str)
    return names.map({n: parse_nuclide_name(n) for n in names.unique()})


def check_tia_nuclide(
    integrated: tuple[str, ...], asked: str, *, source: str | None = None
) -> None:
    """Refuse S-values of ``asked`` on TIAs integrated with other nuclides' decay only.

    Raises
    ------
    InvalidValueError
        None of the TIAs is of ``asked``; the message points to the therapy prediction.
    """
    if integrated and asked not in integrated:
        raise InvalidValueError(
            f"the TIAs were integrated with the decay of {', '.join(integrated)}, not {asked}: "
            f"S-values of {asked} cannot be applied to another nuclide's TIAs; to predict "
            f"{asked} from the images, integrate with `immunopet tac … --therapy-nuclide "
            f"{asked}` (study file: kinetics.therapy_nuclide: {asked})",
            file=source,
            field="nuclide",
            value=asked,
        )
