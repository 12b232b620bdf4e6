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


def blood_per_ml(frame: pd.DataFrame) -> dict[str, dict[str, tuple[float, float]]]:
    """``{nuclide: {subject: (blood TIAC per mL (h/mL), its SD)}}`` of a TIA table."""
    if "tiac_h_per_ml" not in frame or "region" not in frame:
        return {}
    blood = frame[frame["region"].astype(str).str.lower().str.startswith("blood")]
    blood = blood[pd.to_numeric(blood["tiac_h_per_ml"], errors="coerce").notna()]
    from ..core.nuclides import parse_nuclide_name

    out: dict[str, dict[str, tuple[float, float]]] = {}
    for r in blood.itertuples(index=False):
        name = getattr(r, "nuclide", None)
        nuclide = parse_nuclide_name(str(name)) if isinstance(name, str) and name else ""
        sd = float(getattr(r, "tiac_h_per_ml_sd", float("nan")))
        out.setdefault(nuclide, {})[str(r.subject)] = (float(r.tiac_h_per_ml), sd)
    return out


def dose_frame(
    rows: pd.DataFrame,
    nuclide: str,
    options: DosimetryOptions,
    *,
    blood: dict[str, tuple[float, float]] | None = None,
    tracer: str | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """The tidy dose rows of ``rows`` (TIA rows of one nuclide) with the S-values of ``options``."""
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
    marrow = dict(blood=blood or {}, tracer=tracer)
    df = subject_doses(rows, nuclide, options, **marrow, **kwargs)
    df["source_set"] = ALL_SEGMENTED
    if options.source_organs:
        name, chosen = source_set(options.source_organs)
        sub = subject_doses(restricted_sources(rows, chosen), nuclide, options, **marrow,
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


def _column(g: pd.DataFrame, name: str) -> pd.Series:
    return (
        pd.to_numeric(g[name], errors="coerce") if name in g else pd.Series(float("nan"), g.index)
    )


def subject_doses(
    rows: pd.DataFrame,
    nuclide: str,
    options: DosimetryOptions,
    *,
    blood: dict[str, tuple[float, float]] | None = None,
    tracer: str | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`immunopet.dosimetry.organ_doses` per subject, with the dose uncertainty.

    TIACs from ``tiac_h`` (or ``tia_bq_h`` / ``injected_activity_bq``), their SDs from
    ``tiac_h_sd`` (or ``tia_bq_h_sd``), mass SDs from ``mass_g_sd`` / ``mass_g`` or
    ``volume_ml_sd`` / ``volume_ml``, where the table has them
    (:func:`immunopet.dosimetry.dose_uncertainty.with_uncertainty`).
    """
    import numpy as np

    from ..dosimetry.dose_uncertainty import with_uncertainty
    from ..dosimetry.organ_dose import organ_doses, organ_doses_table

    if options.phantom == "patient":
        # The patient phantom's S-values come from a transport run per call: its dose SD
        # stays the S-value (Monte Carlo) part, its marrow the image-based one.
        return organ_doses_table(rows, nuclide, options.phantom, **kwargs)
    out = []
    for subject, g in rows.groupby("subject", sort=False):
        a0 = _column(g, "injected_activity_bq")
        tiac = _column(g, "tiac_h") if "tiac_h" in g else _column(g, "tia_bq_h") / a0
        sd = _column(g, "tiac_h_sd")
        sd = sd.fillna(_column(g, "tia_bq_h_sd") / a0)
        first_a0 = a0.dropna()
        injected = float(first_a0.iloc[0]) if len(first_a0) else None
        values: dict[str, float] = {}
        var: dict[str, float] = {}
        mass_rel: dict[str, float] = {}
        for region, v, u, i in zip(g["region"].astype(str), tiac, sd, g.index, strict=True):
            values[region] = values.get(region, 0.0) + float(v)
            var[region] = var.get(region, 0.0) + (float(u) ** 2 if np.isfinite(u) else 0.0)
            for m, m_sd in (("mass_g", "mass_g_sd"), ("volume_ml", "volume_ml_sd")):
                if m in g and m_sd in g:
                    rel = float(g.at[i, m_sd]) / float(g.at[i, m])
                    if np.isfinite(rel) and rel > 0:
                        from ..core.organs import canonical_organ

                        mass_rel[canonical_organ(region)] = rel

        def call(t: Any, subject: Any = subject, injected: Any = injected) -> pd.DataFrame:
            return organ_doses(t, nuclide, options.phantom, subject=str(subject),
                               injected_activity_bq=injected, **kwargs)  # fmt: skip

        sds = {k: float(np.sqrt(v)) for k, v in var.items()}
        method = marrow_method(options, tracer, (blood or {}).get(str(subject)))
        if method is not None:  # the blood-based marrow source (dosimetry.marrow)
            image, other = (values, sds), _with_blood_marrow(values, sds, blood, subject, options)
            try:
                call(other[0])
            except InvalidValueError as exc:  # e.g. more marrow than the whole body leaves
                warnings.warn(
                    f"{subject}: blood-based red marrow not used ({exc}); image-based kept",
                    ImmunopetWarning,
                    stacklevel=2,
                )
                method = None
        if method is not None:
            values, sds = other if method == "blood" else image
            alternative = (image if method == "blood" else other)[0]
        if options.uncertainty == "none":
            d = call(values)
        else:
            d = with_uncertainty(call, values, sds, mass_rel_sd=mass_rel or None,
                                 method=options.uncertainty)  # fmt: skip
        if method is not None:
            d = _beside(d, call(alternative), method, options.rmblr)
        out.append(d)
    return pd.concat(out, ignore_index=True)


def marrow_method(
    options: DosimetryOptions, tracer: str | None, blood: tuple[float, float] | None
) -> str | None:
    """The red-marrow method, ``"blood"`` or ``"image"``, when both can be computed; else None."""
    from ..dosimetry.marrow import is_antibody

    if blood is None or options.phantom == "patient":
        if options.marrow == "blood":
            raise InvalidValueError(
                "dosimetry.marrow: blood needs the blood pool's TIAC per mL (a blood region "
                "with volume_ml measured) and a reference phantom",
                field="dosimetry.marrow",
                value="blood",
            )
        return None
    if options.marrow == "auto":
        return "blood" if tracer is None or is_antibody(tracer) else "image"
    return options.marrow


def _with_blood_marrow(
    values: dict[str, float], sds: dict[str, float], blood: Any, subject: Any,
    options: DosimetryOptions,
) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """TIACs with the red marrow's from the blood (replacing an imaged marrow)."""
    from ..core.organs import canonical_organ
    from ..dosimetry.marrow import marrow_tiac_from_blood
    from ..dosimetry.weights import REFERENCE_MASSES_KG

    per_ml, per_ml_sd = blood[str(subject)]
    sexes = ("male", "female") if options.phantom == "adult" else (options.phantom[6:],)
    # 'adult' averages two phantoms with one TIAC set: their mean marrow mass (stated).
    mass_g = 1e3 * sum(REFERENCE_MASSES_KG[s]["red_marrow"] for s in sexes) / len(sexes)
    keep = {k: v for k, v in values.items() if _organ(k, canonical_organ) != "red_marrow"}
    keep_sd = {k: v for k, v in sds.items() if k in keep}
    keep["red_marrow"] = marrow_tiac_from_blood(per_ml, mass_g, options.rmblr)
    rel = per_ml_sd / per_ml if per_ml > 0 and per_ml_sd == per_ml_sd else 0.0
    keep_sd["red_marrow"] = keep["red_marrow"] * rel
    return keep, keep_sd


def _organ(region: str, canonical: Any) -> str | None:
    try:
        return canonical(region)
    except InvalidValueError:
        return None


def _beside(d: pd.DataFrame, other: pd.DataFrame, method: str, rmblr: float) -> pd.DataFrame:
    """``d`` with ``marrow_method`` on its red-marrow rows and the other method's beside."""
    label = {"blood": f"blood (RMBLR {rmblr:g}, EANM 2010)", "image": "image"}
    alt = "image" if method == "blood" else "blood"
    d = d.copy()
    rm = d["target"] == "red_marrow"
    d["marrow_method"] = None
    d.loc[rm, "marrow_method"] = label[method]
    o = other[(other["target"] == "red_marrow") & other["quantity"].str.startswith("absorbed")]
    o = o.assign(quantity=o["quantity"].str.replace("absorbed_dose", f"absorbed_dose_{alt}_marrow",
                                                    regex=False),
                 marrow_method=label[alt])  # fmt: skip
    for col in ("sd_svalue", "sd_tia", "sd_mass"):
        if col in d and col not in o:
            o[col] = float("nan")
    return pd.concat([d, o[d.columns]], ignore_index=True)
