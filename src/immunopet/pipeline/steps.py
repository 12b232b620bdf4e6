"""The steps of a study, as engine task functions ``step(options, upstream)``.

Each function is a thin adapter from JSON-able options (built from the study
file by :mod:`immunopet.pipeline.plan`) to the science modules' public API:

=====================  ==============================================================
step                   calls
=====================  ==============================================================
``lesions``            :func:`immunopet.io.load_scan`, :func:`immunopet.quant.suv_volume`,
                       :func:`immunopet.regions.segment_lesions` on the lesion-reference scan
``measure``            load → SUV → organ labels (:func:`~immunopet.regions.load_label_map`,
                       :func:`~immunopet.regions.labels_on_pet_grid`, blood pool) →
                       reference lesions carried onto the scan
                       (:func:`~immunopet.regions.carry_lesions`, rigid CT registration
                       when frames differ) → :func:`immunopet.measure.measure`
``tacs``, ``tias``,    in :mod:`.dose_steps`: the subject's activity rows → time-integrated
``doses``              activities (optionally the dynamic bladder) → organ doses
``statistics``         :func:`immunopet.stats.study_statistics`
``preclinical``        the animal arm's tidy %ID/g table (T/M and tests: the report)
=====================  ==============================================================

Science modules are imported inside the functions so that the engine (and
its tests) never depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from .dose_steps import subject_doses, subject_tacs, subject_tias
from .store import Bundle, table_of

__all__ = [
    "cohort_statistics",
    "detect_lesions",
    "measure_scan",
    "preclinical_uptake",
    "subject_doses",
    "subject_tacs",
    "subject_tias",
    "subjects_table",
]


def load_study_scan(o: Mapping[str, Any]):  # type: ignore[no-untyped-def]
    """Read one scan of the study with the study file's overrides (``immunopet.io``)."""
    from ..io import load_scan

    overrides: dict[str, Any] = {}
    if o.get("injection_datetime"):
        overrides["injection_datetime"] = datetime.fromisoformat(o["injection_datetime"])
    for key in ("injected_activity_bq", "patient_weight_kg", "patient_height_m"):
        if o.get(key) is not None:
            overrides[key] = o[key]
    scan = load_scan(o["path"], series_uid=o.get("series_uid"), **overrides)
    acq = scan.acquisition.replace(tracer=o["tracer"])
    if acq.patient_sex is None and o.get("sex"):
        acq = acq.replace(patient_sex=o["sex"])
    scan = scan.replace(acquisition=acq, subject_id=o["subject"], scan_id=o["scan_id"])
    if o.get("ct") and scan.ct is None:
        from ..io import load_volume

        scan = scan.replace(ct=load_volume(o["ct"]))
    return scan


def _organ_labels(o: Mapping[str, Any], pet):  # type: ignore[no-untyped-def]
    """The scan's organ label map on its PET grid, or None when the study gives none."""
    if not o.get("labels"):
        return None
    from ..regions import labels_on_pet_grid, load_label_map, to_immunopet_organs
    from ..regions.totalsegmentator import label_names_from

    spec = o.get("labels_from")
    names = label_names_from(spec) if spec else None
    lm = load_label_map(o["labels"], names)
    if spec and str(spec).lower() == "totalsegmentator":
        lm = to_immunopet_organs(lm)
    return labels_on_pet_grid(lm, pet)


def _geometry(vol) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "spacing_mm": list(vol.spacing_mm),
        "origin_mm": list(vol.origin_mm),
        "direction": list(vol.direction),
        "frame_of_reference_uid": vol.frame_of_reference_uid,
    }


def _match_truth(
    table: pd.DataFrame, truth: list[Mapping[str, Any]], max_mm: float
) -> pd.DataFrame:
    """Pair detected lesions with the study's lesion truth by centroid (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    out = table.copy()
    for col in ("truth_id", "site", "her2"):
        out[col] = pd.Series([None] * len(out), dtype=object)
    out["analysed"] = True
    located = [t for t in truth if t.get("center_mm") is not None]
    if not located or out.empty:
        return out
    det = out[["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]].to_numpy(float)
    ref = np.array([t["center_mm"] for t in located], float)
    dist = np.linalg.norm(det[:, None, :] - ref[None, :, :], axis=2)
    cost = np.where(dist <= max_mm, dist, 1e9)
    rows, cols = linear_sum_assignment(cost)
    for r, c in zip(rows, cols, strict=True):
        if dist[r, c] <= max_mm:
            t = located[c]
            out.loc[out.index[r], ["truth_id", "site", "her2"]] = [
                t["id"],
                t["site"],
                t.get("her2"),
            ]
            out.loc[out.index[r], "analysed"] = bool(t.get("analysed", True))
    return out


def detect_lesions(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """Segment lesions on the subject's lesion-reference scan (e.g. FDG)."""
    from ..quant import suv_volume
    from ..regions import lesions_from_labels, segment_lesions

    o = options
    scan = load_study_scan(o)
    suv = suv_volume(scan, o["suv_kind"])
    search = None
    min_suv_max = -np.inf
    organs = _organ_labels(o, scan.pet)
    if organs is not None:
        from scipy import ndimage

        excluded = [n for n, name in organs.names.items() if name in set(o["exclude_regions"])]
        out = np.isin(organs.array, excluded)
        margin = int(o.get("exclude_margin_voxels", 0))
        if margin and out.any():
            # Organ uptake blurred by the scanner spills past the label: widen it.
            out = ndimage.binary_dilation(out, ndimage.generate_binary_structure(3, 1), margin)
        search = ~out
        ratio = o.get("organ_background_ratio")
        if ratio:
            # A lesion's isocontour must stand above the organ around it (else a relative
            # threshold floods a warm organ, e.g. liver): SUV >= ratio x organ median SUV.
            arr = np.asarray(suv.array)
            lab = np.asarray(organs.array).astype(np.intp)
            numbers = np.unique(lab[lab > 0])
            median = np.zeros(int(lab.max(initial=0)) + 1)
            if numbers.size:
                median[numbers] = ndimage.median(arr, lab, numbers)
            search &= arr >= float(ratio) * median[lab]
        liver = [n for n, name in organs.names.items() if name == "liver"]
        in_liver = np.isin(organs.array, liver)
        if o.get("min_liver_ratio") and in_liver.any():
            liver_suv = float(np.median(np.asarray(suv.array)[in_liver]))
            min_suv_max = float(o["min_liver_ratio"]) * liver_suv
    lesions = segment_lesions(
        suv,
        o["method"],
        search_mask=search,
        min_diameter_mm=o["min_diameter_mm"],
        seed_suv=o["seed_suv"],
    )
    weak = lesions.table["suv_max"] < min_suv_max
    if weak.any():
        # PERCIST-like floor (Wahl et al. 2009): foci no hotter than the liver are not lesions.
        # Lesions are separate 26-connected components, so a binary mask renumbers them.
        kept = np.isin(lesions.labels.array, lesions.table["lesion_id"][~weak].to_numpy())
        lesions = lesions_from_labels(
            suv.with_array(kept.astype(np.uint8), "label"), suv, binary=True
        )
    table = lesions.table.assign(subject=o["subject"], scan_id=o["scan_id"], tracer=o["tracer"])
    table = _match_truth(table, list(o.get("truth", [])), o["match_max_distance_mm"])
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


def measure_scan(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """Measure organs (lesion voxels excluded), blood pool and the reference lesions on one scan.

    Returns the tidy measurement table and, when the report module is present,
    the scan's MIP with lesion contours (PNG bytes, array ``mip_png``).
    """
    from ..core.errors import InputError
    from ..measure import LESION_CORE_MM, measure
    from ..quant import suv_volume
    from ..regions import blood_pool, carry_lesions, register_rigid

    o = options
    scan = load_study_scan(o)
    suv = suv_volume(scan, o["suv_kind"])
    regions = []
    organs = _organ_labels(o, scan.pet)
    if organs is not None:
        regions.append(organs)
        try:
            regions.append(blood_pool(organs))
        except InputError:
            pass  # no heart/aorta label: no blood row (measure warns on TNR)
    ref_task = o.get("lesion_task")
    if ref_task and ref_task in upstream and len(upstream[ref_task].table):
        ref = _lesion_set(upstream[ref_task])
        if o.get("is_lesion_reference"):
            lesions = ref.labels
        else:
            transform = None
            ref_for = ref.labels.volume.frame_of_reference_uid
            if ref_for and scan.pet.frame_of_reference_uid not in (None, ref_for):
                ref_scan = load_study_scan(o["reference_scan"])
                if scan.ct is None or ref_scan.ct is None:
                    raise InputError(
                        "the scan and its lesion reference are on different frames of "
                        "reference and a CT is missing to register them; give `ct:` for both",
                        file=o["path"],
                    )
                transform = register_rigid(scan.ct, ref_scan.ct).transform
            lesions = carry_lesions(ref, scan.pet, transform, target_suv=suv).labels
        regions.append(lesions)
        if organs is not None:
            # Organ values are of normal tissue: lesion voxels are taken out of the organs
            # (they remain in whole_body, hence in the remainder of body for dosimetry).
            kept = np.where(np.asarray(lesions.array) > 0, 0, organs.array)
            regions[0] = organs.replace(volume=organs.volume.with_array(kept))
    table = measure(
        scan,
        regions,
        references=o["references"],
        suv=suv,
        suv_kind=o["suv_kind"],
        lesion_core_mm=float(o.get("lesion_core_mm", LESION_CORE_MM)),
    )
    table = table.assign(subject=o["subject"], scan_id=o["scan_id"], tracer=o["tracer"])
    table = table.assign(time_point_h=float(o["time_h"]))
    lesion_maps = [r for r in regions if getattr(r, "region_kind", "") == "lesion"]
    arrays = {}
    png = _mip_png(suv, lesion_maps[0].volume if lesion_maps else None,
                   f"{o['subject']} {o['tracer']} {o['time_h']:g} h")  # fmt: skip
    if png is not None:
        arrays["mip_png"] = np.frombuffer(png, np.uint8)
    return Bundle(arrays=arrays, table=table, meta={"subject": o["subject"], "scan": o["scan_id"]})


def _mip_png(suv, lesions, title: str) -> bytes | None:  # type: ignore[no-untyped-def]
    """The report's maximum-intensity projection with lesion contours, if available."""
    try:
        from ..report import mip_figure
    except ImportError:
        return None
    return mip_figure(suv, lesions, title=title)


def subjects_table(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The cohort table: one row per subject with sex, age, groups and scans."""
    return pd.DataFrame(options["subjects"])


def cohort_statistics(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The study's statistics table (:func:`immunopet.stats.study_statistics`)."""
    from ..stats import study_statistics
    from ..study import StatisticsOptions

    measures = [table_of(v) for k, v in sorted(upstream.items()) if k.startswith("measure/")]
    lesions = [v.table for k, v in sorted(upstream.items()) if k.startswith("lesions/")]
    if not measures:
        raise ValueError("no subject was measured: nothing to compare")
    measurements = pd.concat(measures, ignore_index=True)
    lesion_truth = pd.concat(lesions, ignore_index=True) if lesions else None
    if lesion_truth is not None:
        lesion_truth = lesion_truth.rename(columns={"lesion_id": "lesion"})
        lesion_truth = lesion_truth.drop(columns=["scan_id", "tracer"], errors="ignore")
    subjects = pd.DataFrame(options["subjects"])
    return study_statistics(
        measurements,
        subjects,
        options=StatisticsOptions.model_validate(options["statistics"]),
        lesions=lesion_truth,
        reference_tracer=options.get("reference_tracer") or "FDG",
    )


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
