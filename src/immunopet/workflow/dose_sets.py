"""One dose table per nuclide of a TIA table: the S-value source, the source sets, the columns.

:func:`dose_frame` is what :func:`immunopet.workflow.organ_doses` runs for each
nuclide: the organ doses of :func:`immunopet.dosimetry.organ_doses_table` (our
S-values) or of an imported S-value table (``dosimetry.svalues``), tagged with
``nuclide``, ``svalue_source`` and ``source_set``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import ImmunopetWarning, InvalidValueError
from ..study import DosimetryOptions

__all__ = [
    "ALL_SEGMENTED",
    "REFERENCE_STUDY_SOURCES",
    "dose_frame",
    "imported_svalues",
    "resolve_svalues",
    "restricted_sources",
    "source_set",
]

#: ``source_set`` of the doses with every segmented organ a source.
ALL_SEGMENTED = "all_segmented"

#: The reference study's OLINDA/EXM source organs (heart, liver, spleen, kidneys, bladder;
#: everything else in the remainder of body; reference-study Table 2 methods).
REFERENCE_STUDY_SOURCES = ("heart_contents", "liver", "spleen", "kidneys",
                           "urinary_bladder_contents")  # fmt: skip


def dose_frame(
    rows: pd.DataFrame, nuclide: str, options: DosimetryOptions, **kwargs: Any
) -> pd.DataFrame:
    """The tidy dose rows of ``rows`` (TIA rows of one nuclide) with the S-values of ``options``."""
    from ..dosimetry.organ_dose import organ_doses_table

    source = f"immunopet photon MC, ICRP 89 stylised phantom ({options.phantom})"
    if options.phantom == "patient":
        source = "immunopet photon MC, patient CT phantom"
    if options.svalues is not None:
        tables = imported_svalues(options, nuclide)
        kwargs = {**kwargs, "svalues": tables}
        source = "imported: " + ", ".join(
            f"{Path(str(p)).name} ({sex})" for sex, p in _svalue_paths(options).items()
            if sex in tables
        )  # fmt: skip
    df = organ_doses_table(rows, nuclide, options.phantom, **kwargs)
    df["source_set"] = ALL_SEGMENTED
    if options.source_organs:
        name, chosen = source_set(options.source_organs)
        sub = organ_doses_table(restricted_sources(rows, chosen), nuclide, options.phantom,
                                **kwargs)  # fmt: skip
        df = pd.concat([df, sub.assign(source_set=name)], ignore_index=True)
    df["nuclide"] = nuclide
    df["svalue_source"] = source
    return df


def source_set(organs: list[str]) -> tuple[str, tuple[str, ...]]:
    """The ``source_set`` label and the canonical organ names of ``organs``."""
    from ..core.organs import canonical_organ

    chosen = tuple(dict.fromkeys(canonical_organ(o) for o in organs))
    name = "reference_study" if set(chosen) == set(REFERENCE_STUDY_SOURCES) else "source_organs"
    return name, chosen


def restricted_sources(rows: pd.DataFrame, chosen: tuple[str, ...]) -> pd.DataFrame:
    """TIA rows with only ``chosen`` organs as sources; the rest stays in the remainder.

    The whole-body row is kept, so that the remainder of body (whole body − sources,
    :func:`immunopet.dosimetry.sources.validate_tiac`) holds every other organ's activity,
    as OLINDA/EXM does with a reduced source list. Without a whole-body row the other
    organs' activity would be lost: refused.
    """
    from ..core.organs import canonical_organ

    names = rows["region"].astype(str).map(canonical_organ)
    whole = names.isin(["total_body", "remainder"])
    keep = names.isin(chosen) | whole
    lost = rows.loc[~keep, ["subject", "region"]]
    without_whole = set(lost["subject"]) - set(rows.loc[whole, "subject"])
    if without_whole:
        raise InvalidValueError(
            f"dosimetry.source_organs needs a whole-body TIA to put the other organs' activity "
            f"in the remainder of body; none for {sorted(without_whole)}",
            field="dosimetry.source_organs",
        )
    return rows[keep]


def _svalue_paths(options: DosimetryOptions) -> dict[str, str]:
    """``{sex: path}`` of ``options.svalues`` for the sexes of ``options.phantom``."""
    given = options.svalues
    sexes = ("male", "female") if options.phantom == "adult" else (options.phantom[6:],)
    if options.phantom == "patient":
        raise InvalidValueError(
            "imported S-values are for reference phantoms, not the patient phantom",
            field="dosimetry.svalues",
        )
    if isinstance(given, str):
        return {sex: given for sex in sexes}
    missing = [sex for sex in sexes if sex not in (given or {})]
    if missing:
        raise InvalidValueError(
            f"phantom {options.phantom} needs imported S-values for {', '.join(missing)}",
            field="dosimetry.svalues",
            value=given,
        )
    return {sex: (given or {})[sex] for sex in sexes}


def imported_svalues(options: DosimetryOptions, nuclide: str) -> dict[str, Any]:
    """The imported S-value tables of ``options`` by sex (checked to be of ``nuclide``)."""
    from ..dosimetry.svalue_import import read_svalue_table

    paths = _svalue_paths(options)
    if isinstance(options.svalues, str) and len(paths) > 1:
        warnings.warn(
            f"one imported S-value table ({options.svalues}) used for both sexes of the "
            "'adult' phantom: give {male: …, female: …} for sex-specific ones",
            ImmunopetWarning,
            stacklevel=3,
        )
    asked = nuclide if options.svalues_nuclide is None else options.svalues_nuclide
    tables = {
        sex: read_svalue_table(p, nuclide=asked, sex=sex) for sex, p in paths.items()
    }  # fmt: skip
    for t in tables.values():
        if t.nuclide != nuclide:
            raise InvalidValueError(
                f"the imported S-values are of {t.nuclide}, the TIAs of {nuclide}",
                field="dosimetry.svalues_nuclide",
                value=t.nuclide,
            )
    return tables


def resolve_svalues(options: DosimetryOptions, base: Path) -> DosimetryOptions:
    """``options`` with its S-value paths made absolute against ``base`` (the study folder)."""
    given = options.svalues
    if given is None:
        return options
    if isinstance(given, str):
        resolved: str | dict[str, str] = str((base / given).resolve())
    else:
        resolved = {k: str((base / v).resolve()) for k, v in given.items()}
    return options.model_copy(update={"svalues": resolved})
