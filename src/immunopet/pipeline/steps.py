"""The steps of a study as engine task functions ``step(options, upstream)``: thin adapters.

Each step rebuilds the typed inputs from its JSON-able options (hashed into the
task's key by :mod:`immunopet.pipeline.engine`) and calls one function of the
recipe, :mod:`immunopet.workflow`:

=====================  ==============================================================
step                   calls
=====================  ==============================================================
``lesions``            :func:`immunopet.workflow.find_lesions` (+ truth matching)
``measure``            :func:`immunopet.workflow.measure_scan`
``tacs``, ``tias``,    in :mod:`.dose_steps`: :meth:`~immunopet.workflow.MeasurementTable.curve_rows`,
``doses``              :func:`~immunopet.workflow.integrate`, :func:`~immunopet.workflow.organ_doses`
``statistics``         :func:`immunopet.workflow.cohort_statistics`
``preclinical``        the animal arm's tidy %ID/g table (T/M and tests: the report)
=====================  ==============================================================

Compute steps store arrays (labels, the MIP projections); :mod:`immunopet.report`
renders the figures. The science and workflow modules are imported inside the
functions, so that the engine (and its tests) never depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .dose_steps import subject_doses, subject_tacs, subject_tias
from .store import Bundle, covers, table_of

__all__ = [
    "WORKFLOW_MODULES",
    "cohort_statistics",
    "detect_lesions",
    "measure_scan",
    "preclinical_uptake",
    "subject_doses",
    "subject_tacs",
    "subject_tias",
    "subjects_table",
]

#: Recipe modules whose source is fingerprinted into every step's key (engine).
WORKFLOW_MODULES = (
    "immunopet.workflow.scan",
    "immunopet.workflow.subject",
    "immunopet.workflow.cohort",
    "immunopet.workflow.tables",
    "immunopet.regions.lesion_policy",
)


def _geometry(vol) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "spacing_mm": list(vol.spacing_mm),
        "origin_mm": list(vol.origin_mm),
        "direction": list(vol.direction),
        "frame_of_reference_uid": vol.frame_of_reference_uid,
    }


@covers(*WORKFLOW_MODULES)
def detect_lesions(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """Segment lesions on the subject's lesion-reference scan (e.g. FDG) and match the truth."""
    from ..regions.lesion_policy import LesionPolicy
    from ..workflow import ScanInput, find_lesions, match_truth

    o = options
    policy = LesionPolicy(
        **{**o["policy"], "exclude_regions": tuple(o["policy"]["exclude_regions"])}
    )
    lesions, suv = find_lesions(ScanInput.model_validate(o["scan"]), policy, suv_kind=o["suv_kind"])
    table = match_truth(lesions.table, list(o.get("truth", [])), o["match_max_distance_mm"])
    meta = {"names": {str(k): v for k, v in lesions.labels.names.items()}, **_geometry(suv)}
    return Bundle(arrays={"labels": np.asarray(lesions.labels.array)}, table=table, meta=meta)


def _lesion_set(bundle: Bundle):  # type: ignore[no-untyped-def]
    from ..core.volume import Volume
    from ..regions import LabelMap, LesionSet

    m = bundle.meta
    vol = Volume(
        np.asarray(bundle.arrays["labels"]),
        tuple(m["spacing_mm"]),
        tuple(m["origin_mm"]),
        tuple(m["direction"]),
        "label",
        m.get("frame_of_reference_uid"),
    )
    names = {int(k): v for k, v in m["names"].items()}
    return LesionSet(LabelMap(vol, names, "lesion", "reference lesions"), bundle.table)


@covers(*WORKFLOW_MODULES)
def measure_scan(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """Measure organs, blood pool and the reference lesions on one scan; keep its MIP arrays."""
    from ..measure import mip_arrays
    from ..workflow import ScanInput
    from ..workflow import measure_scan as measure_one

    o = options
    ref_task = o.get("lesion_task")
    reference = None
    if ref_task and ref_task in upstream and len(upstream[ref_task].table):
        reference = _lesion_set(upstream[ref_task])
    ref_scan = o.get("reference_scan")
    table, suv, lesions = measure_one(
        ScanInput.model_validate(o["scan"]),
        suv_kind=o["suv_kind"],
        references=tuple(o["references"]),
        lesion_core_mm=float(o["lesion_core_mm"]),
        reference=reference,
        reference_scan=None if ref_scan is None else ScanInput.model_validate(ref_scan),
        is_reference=bool(o.get("is_lesion_reference")),
    )
    mip = mip_arrays(suv, None if lesions is None else lesions.volume)
    meta = {"subject": o["scan"]["subject"], "scan": o["scan"]["scan_id"], "mip": mip.meta,
            "patient": dict(table.frame.attrs.get("patient", {}))}  # fmt: skip
    return Bundle(arrays=mip.arrays, table=table.frame, meta=meta)


def subjects_table(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The cohort table: one row per subject with sex, age, groups and scans.

    Weight and height the study file leaves out are filled from the scans' headers
    (the median over the subject's scans).
    """
    table = pd.DataFrame(options["subjects"])
    seen: dict[str, dict[str, list[float]]] = {}
    for value in upstream.values():
        meta = getattr(value, "meta", {}) or {}
        patient, subject = meta.get("patient") or {}, meta.get("subject")
        for key in ("weight_kg", "height_m"):
            if subject is not None and patient.get(key) is not None:
                seen.setdefault(str(subject), {}).setdefault(key, []).append(float(patient[key]))
    for key in ("weight_kg", "height_m"):
        header = (
            table["subject"]
            .astype(str)
            .map(lambda s, k=key: float(np.median(seen[s][k])) if k in seen.get(s, {}) else np.nan)
        )
        table[key] = pd.to_numeric(table.get(key), errors="coerce").fillna(header)
    return table


@covers(*WORKFLOW_MODULES)
def cohort_statistics(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The study's statistics table (:func:`immunopet.workflow.cohort_statistics`)."""
    from ..study import StatisticsOptions
    from ..workflow import MeasurementTable
    from ..workflow import cohort_statistics as statistics

    measures = [
        MeasurementTable(table_of(v))
        for k, v in sorted(upstream.items())
        if k.startswith("measure/")
    ]
    lesions = [v.table for k, v in sorted(upstream.items()) if k.startswith("lesions/")]
    return statistics(
        measures,
        lesions,
        pd.DataFrame(options["subjects"]),
        StatisticsOptions.model_validate(options["statistics"]),
        reference_tracer=options.get("reference_tracer"),
    ).frame


def preclinical_uptake(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The animal arm's tidy %ID/g table (study file values and/or the uptake CSV)."""
    from ..study import parse_time_label_h

    rows = list(options["uptake"])
    if options.get("uptake_table"):
        csv = pd.read_csv(options["uptake_table"])
        group_of = {a["id"]: a["group"] for a in options["animals"]}
        for r in csv.to_dict("records"):
            value = float(r["percent_id_per_g"])
            if not np.isfinite(value):
                continue  # e.g. precomputed tumour/muscle rows: the report derives T/M itself
            time_h = r["time_h"] if "time_h" in r else parse_time_label_h(str(r["time"]))
            group = r.get("group")
            if not isinstance(group, str):
                group = group_of.get(str(r["animal"]))
            rows.append(
                {"animal": str(r["animal"]), "group": group, "time_h": float(time_h),
                 "region": str(r["region"]), "value": value}
            )  # fmt: skip
    df = pd.DataFrame(rows, columns=["animal", "group", "time_h", "region", "value"])
    df["metric"] = "percent_id_per_g"
    df["unit"] = "%ID/g"
    return df.sort_values(["group", "animal", "time_h", "region"], kind="stable").reset_index(
        drop=True
    )
