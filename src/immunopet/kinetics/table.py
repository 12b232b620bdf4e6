"""The kinetics output table: one row per subject·region, with whole body, remainder, bladder.

:func:`kinetics_table` fits every curve (:func:`~immunopet.kinetics.fit_tac`) and,
per subject, adds the rows OLINDA/EXM and MIRDcalc expect: ``total_body`` (from
a ``whole_body`` region, or the no-excretion assumption when the field of view
is partial), ``remainder`` (whole body − source organs, i.e. regions of kind
``organ``) and, when a urinary fraction is given, ``urinary_bladder_contents``
from the dynamic bladder model with the whole-body clearance.
"""

from __future__ import annotations

import pandas as pd

from ..core.errors import InvalidValueError, MissingFieldError
from .bladder import ICRP_VOIDING_INTERVAL_H, bladder_tia_from_whole_body
from .body import remainder_tia, whole_body_tia_no_excretion
from .curves import TimeActivityCurve
from .fit import fit_tac
from .result import KINETICS_COLUMNS, TiaResult

__all__ = ["kinetics_table"]

_BLADDER = "urinary_bladder_contents"


def _subject_extras(
    subject_curves: list[TimeActivityCurve],
    results: list[TiaResult],
    *,
    remainder: bool,
    urinary_fraction: float | None,
    voiding_interval_h: float,
) -> list[TiaResult]:
    """Whole body, dynamic bladder and remainder rows of one subject."""
    subject = subject_curves[0].subject
    kinds = {c.region: c.region_kind for c in subject_curves}
    wb = [r for r in results if kinds.get(r.region) == "whole_body"]
    if len(wb) > 1:
        raise InvalidValueError(
            f"subject {subject!r}: several whole-body regions ({[r.region for r in wb]}); keep one",
            field="region_kind",
        )
    extras: list[TiaResult] = []
    whole_body = wb[0] if wb else None
    injected = subject_curves[0].injected_activity_bq
    if urinary_fraction is not None:
        if whole_body is None:
            raise MissingFieldError(
                f"subject {subject!r}: the dynamic bladder model needs a whole-body region "
                "(region_kind 'whole_body') to take the urinary clearance from",
                field="region_kind",
            )
        bladder = bladder_tia_from_whole_body(
            whole_body, urinary_fraction, voiding_interval_h=voiding_interval_h
        )
        results[:] = [r for r in results if r.region != _BLADDER]
        extras.append(bladder)
    if remainder and injected:
        if whole_body is None:
            whole_body = whole_body_tia_no_excretion(subject, subject_curves[0].nuclide, injected)
            extras.append(whole_body)
        organs = [r for r in results if kinds.get(r.region) == "organ"]
        organs += [r for r in extras if r.region == _BLADDER]
        extras.append(remainder_tia(whole_body, organs))
    return extras


def kinetics_table(
    curves: list[TimeActivityCurve],
    *,
    model: str = "auto",
    head: str = "linear",
    tail: str = "physical",
    uncertainty: str = "delta",
    seed: int = 0,
    remainder: bool = True,
    urinary_fraction: float | None = None,
    voiding_interval_h: float = ICRP_VOIDING_INTERVAL_H,
) -> pd.DataFrame:
    """Kinetics output table (one row per subject·region) for ``curves``.

    Parameters
    ----------
    curves
        Time-activity curves (any number of subjects).
    model, head, tail, uncertainty, seed
        Passed to :func:`~immunopet.kinetics.fit_tac`.
    remainder
        Add ``remainder`` (and ``total_body`` when no region has kind ``whole_body``)
        for subjects with a known injected activity.
    urinary_fraction, voiding_interval_h
        If a fraction is given, replace/add ``urinary_bladder_contents`` by the dynamic
        bladder model (needs a fitted ``whole_body`` region).

    Returns
    -------
    pandas.DataFrame
        :data:`~immunopet.kinetics.KINETICS_COLUMNS` first, then ``tia_bq_h_sd``,
        ``n_points``, ``aicc``, ``warnings``.

    Raises
    ------
    InvalidValueError
        Several whole-body regions for one subject.
    MissingFieldError
        Bladder model asked without a whole-body region.
    """
    rows: list[dict[str, object]] = []
    subjects = sorted({c.subject for c in curves})
    for subject in subjects:
        subject_curves = [c for c in curves if c.subject == subject]
        results = [
            fit_tac(c, model, head=head, tail=tail, uncertainty=uncertainty, seed=seed)
            for c in subject_curves
        ]
        extras = _subject_extras(
            subject_curves,
            results,
            remainder=remainder,
            urinary_fraction=urinary_fraction,
            voiding_interval_h=voiding_interval_h,
        )
        rows.extend(r.to_row() for r in results + extras)
    frame = pd.DataFrame(rows)
    extra_cols = [c for c in frame.columns if c not in KINETICS_COLUMNS]
    return frame[list(KINETICS_COLUMNS) + extra_cols]
