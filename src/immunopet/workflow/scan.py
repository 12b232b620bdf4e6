"""The per-scan recipe: read a study's scan, find its lesions, measure it.

``immunopet run`` (through :mod:`immunopet.pipeline.steps`) and the single-step
commands ``immunopet lesions|measure --study`` call these same functions, so a
scan gives the same lesions and numbers whichever way it is analysed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ..core.errors import InputError, StudyError
from ..core.scan import Scan
from ..core.volume import Volume
from ..regions.lesion_policy import LesionPolicy
from ..study import LesionOptions, ScanEntry, Study, Subject
from .tables import MeasurementTable

if TYPE_CHECKING:  # imported where used: the engine's parent builds tasks without SciPy/ITK
    from ..regions.labels import LabelMap
    from ..regions.lesions import LesionSet

__all__ = [
    "ScanInput",
    "find_lesions",
    "lesion_policy",
    "load_study_scan",
    "match_truth",
    "measure_scan",
    "organ_labels",
    "scan_input",
    "select_scan",
    "tac_tracer",
]


class ScanInput(BaseModel):
    """Everything needed to read one scan of a study, paths resolved (JSON-able, hashable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    scan_id: str
    path: str
    tracer: str
    nuclide: str
    time_h: float
    series_uid: str | None = None
    ct: str | None = None
    injection_datetime: datetime | None = None
    injected_activity_bq: float | None = None
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    sex: str | None = None
    labels: str | None = None
    labels_from: str | None = None
    lesion_mask: str | None = None

    def files(self) -> tuple[str, ...]:
        """The files this scan reads (fingerprinted into a task's key)."""
        files = [f for f in (self.path, self.ct, self.labels, self.lesion_mask) if f]
        if self.labels_from and self.labels_from.lower() != "totalsegmentator":
            files.append(self.labels_from)
        return tuple(files)


def scan_input(study: Study, subject: Subject, scan: ScanEntry) -> ScanInput:
    """The :class:`ScanInput` of ``scan`` (paths resolved against the study file)."""
    mbq = scan.injected_activity_mbq
    labels_from = scan.labels_from
    if labels_from is not None and labels_from.lower() != "totalsegmentator":
        labels_from = str(study.resolve(labels_from))
    return ScanInput(
        subject=subject.id,
        scan_id=scan.id,
        path=str(study.resolve(scan.path)),
        series_uid=scan.series_uid,
        ct=None if scan.ct is None else str(study.resolve(scan.ct)),
        tracer=scan.tracer,
        nuclide=scan.nuclide,
        time_h=scan.time_h,
        injection_datetime=scan.injection_datetime,
        injected_activity_bq=None if mbq is None else mbq * 1e6,
        patient_weight_kg=subject.weight_kg,
        patient_height_m=subject.height_m,
        sex=subject.sex,
        labels=None if scan.labels is None else str(study.resolve(scan.labels)),
        labels_from=labels_from,
        lesion_mask=None if scan.lesion_mask is None else str(study.resolve(scan.lesion_mask)),
    )


def select_scan(
    study: Study, subject_id: str | None, scan_id: str | None
) -> tuple[Subject, ScanEntry]:
    """The study's subject and scan named on the command line (``--subject``, ``--scan``)."""
    subjects = {s.id: s for s in study.subjects}
    if subject_id is None:
        if len(subjects) != 1:
            raise StudyError(
                f"the study has {len(subjects)} subjects: name one with --subject",
                file=study.source,
                field="--subject",
            )
        subject_id = next(iter(subjects))
    if subject_id not in subjects:
        raise StudyError(
            f"no subject {subject_id!r} in the study (subjects: {', '.join(subjects)})",
            file=study.source,
            field="--subject",
            value=subject_id,
        )
    subject = subjects[subject_id]
    scans = {s.id: s for s in subject.scans}
    if scan_id is None:
        ref = next((s for s in subject.scans if s.lesion_reference), None)
        if ref is None:
            raise StudyError(
                f"subject {subject_id} has no lesion-reference scan: name one with --scan",
                file=study.source,
                field="--scan",
            )
        return subject, ref
    if scan_id not in scans:
        raise StudyError(
            f"subject {subject_id} has no scan {scan_id!r} (scans: {', '.join(scans)})",
            file=study.source,
            field="--scan",
            value=scan_id,
        )
    return subject, scans[scan_id]


def tac_tracer(study: Study, subject: Subject) -> str | None:
    """The tracer whose curves are integrated: ``kinetics.tracer``, else the first non-reference."""
    if study.analysis.kinetics.tracer:
        return study.analysis.kinetics.tracer
    ref = study.analysis.lesions.reference_tracer
    others = [s.tracer for s in subject.scans if not (ref and ref.lower() in s.tracer.lower())]
    return others[0] if others else None


def load_study_scan(si: ScanInput) -> Scan:
    """Read one scan with the study file's overrides (:func:`immunopet.io.load_scan`)."""
    from ..io import load_scan, load_volume

    overrides: dict[str, Any] = {}
    if si.injection_datetime is not None:
        overrides["injection_datetime"] = si.injection_datetime
    for key in ("injected_activity_bq", "patient_weight_kg", "patient_height_m"):
        if getattr(si, key) is not None:
            overrides[key] = getattr(si, key)
    if si.nuclide:
        # The study file names the nuclide: it is the user's choice when header fields
        # disagree (a warning names them), as `--nuclide` is on the command line.
        overrides["nuclide"] = si.nuclide
    scan = load_scan(si.path, series_uid=si.series_uid, **overrides)
    acq = scan.acquisition.replace(tracer=si.tracer)
    if acq.patient_sex is None and si.sex:
        acq = acq.replace(patient_sex=si.sex)
    scan = scan.replace(acquisition=acq, subject_id=si.subject, scan_id=si.scan_id)
    if si.ct and scan.ct is None:
        scan = scan.replace(ct=load_volume(si.ct))
    return scan


def organ_labels(si: ScanInput, pet: Volume) -> LabelMap | None:
    """The scan's organ label map on its PET grid, or None when the study gives none."""
    if not si.labels:
        return None
    from ..regions import labels_on_pet_grid, load_label_map, to_immunopet_organs
    from ..regions.totalsegmentator import label_names_from

    spec = si.labels_from
    names = label_names_from(spec) if spec else None
    lm = load_label_map(si.labels, names)
    if spec and str(spec).lower() == "totalsegmentator":
        lm = to_immunopet_organs(lm)
    return labels_on_pet_grid(lm, pet)


def lesion_policy(options: LesionOptions) -> LesionPolicy:
    """The :class:`~immunopet.regions.lesion_policy.LesionPolicy` of a study's lesion options."""
    return LesionPolicy(
        method=options.method_spec,
        min_diameter_mm=options.min_diameter_mm,
        seed_suv=options.seed_suv,
        exclude_regions=tuple(options.exclude_regions),
        exclude_margin_voxels=options.exclude_margin_voxels,
        organ_background_ratio=options.organ_background_ratio,
        min_liver_ratio=options.min_liver_ratio,
    )


def match_truth(table: pd.DataFrame, truth: list[dict[str, Any]], max_mm: float) -> pd.DataFrame:
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


def find_lesions(
    si: ScanInput, policy: LesionPolicy, *, suv_kind: str = "bw"
) -> tuple[LesionSet, Volume]:
    """Read the scan, compute SUV and find its lesions under ``policy``.

    A scan with a ``lesion_mask`` (lesions drawn by a reader or another tool) takes its
    lesions from it instead: a 0/1 mask is split into connected lesions, a labelled
    map keeps its numbers, and the policy's minimum diameter applies.
    Returns the lesions (table with ``subject, scan_id, tracer`` added) and the SUV volume.
    """
    from ..quant import suv_volume

    scan = load_study_scan(si)
    suv = suv_volume(scan, suv_kind)  # type: ignore[arg-type]
    if si.lesion_mask:
        from ..regions.labels import load_label_map
        from ..regions.lesions import lesions_from_labels

        mask = load_label_map(si.lesion_mask, region_kind="lesion", warn_empty=False)
        binary = set(np.unique(mask.array).tolist()) <= {0, 1}
        lesions = lesions_from_labels(mask.volume, suv, binary=binary,
                                      min_diameter_mm=policy.min_diameter_mm,
                                      file=si.lesion_mask)  # fmt: skip
    else:
        lesions = policy.find(suv, organ_labels(si, scan.pet))
    table = lesions.table.assign(subject=si.subject, scan_id=si.scan_id, tracer=si.tracer)
    from ..regions.lesions import LesionSet

    return LesionSet(lesions.labels, table), suv


def _carried_lesions(
    scan: Scan, suv: Volume, reference: LesionSet, reference_scan: ScanInput | None, path: str
) -> LabelMap:
    """The reference lesions on this scan's grid (rigid CT registration across frames)."""
    from ..regions import carry_lesions, register_rigid

    transform = None
    ref_for = reference.labels.volume.frame_of_reference_uid
    if ref_for and scan.pet.frame_of_reference_uid not in (None, ref_for):
        ref_scan = None if reference_scan is None else load_study_scan(reference_scan)
        if scan.ct is None or ref_scan is None or ref_scan.ct is None:
            raise InputError(
                "the scan and its lesion reference are on different frames of "
                "reference and a CT is missing to register them; give `ct:` for both",
                file=path,
            )
        transform = register_rigid(scan.ct, ref_scan.ct).transform
    return carry_lesions(reference, scan.pet, transform, target_suv=suv).labels


def measure_scan(
    si: ScanInput,
    *,
    suv_kind: str,
    references: tuple[str, ...],
    lesion_core_mm: float,
    reference: LesionSet | None = None,
    reference_scan: ScanInput | None = None,
    is_reference: bool = False,
) -> tuple[MeasurementTable, Volume, LabelMap | None]:
    """Measure organs (lesion voxels excluded), blood pool and the reference lesions on one scan.

    Returns the measurement table, the SUV volume and the lesion labels on its grid.
    The table's ``attrs["patient"]`` holds the weight and height the scan was read with
    (header values, or the study file's overrides).
    """
    from ..measure import measure
    from ..quant import suv_volume
    from ..regions import blood_pool

    scan = load_study_scan(si)
    suv = suv_volume(scan, suv_kind)  # type: ignore[arg-type]
    regions: list[LabelMap] = []
    organs = organ_labels(si, scan.pet)
    if organs is not None:
        regions.append(organs)
        try:
            regions.append(blood_pool(organs))
        except InputError:
            pass  # no heart/aorta label: no blood row (measure warns on TNR)
    lesions = None
    if reference is not None and len(reference.table):
        lesions = (
            reference.labels
            if is_reference
            else _carried_lesions(scan, suv, reference, reference_scan, si.path)
        )
        regions.append(lesions)
        if organs is not None:
            # Organ values are of normal tissue: lesion voxels are taken out of the organs
            # (they remain in whole_body, hence in the remainder of body for dosimetry).
            kept = np.where(np.asarray(lesions.array) > 0, 0, organs.array)
            regions[0] = organs.replace(volume=organs.volume.with_array(kept))
    table = measure(
        scan,
        regions,
        references=references,
        suv=suv,
        suv_kind=suv_kind,
        lesion_core_mm=float(lesion_core_mm),
    )
    table = table.assign(subject=si.subject, scan_id=si.scan_id, tracer=si.tracer)
    table = table.assign(time_point_h=float(si.time_h))
    table.attrs["patient"] = {
        "weight_kg": scan.acquisition.patient_weight_kg,
        "height_m": scan.acquisition.patient_height_m,
    }
    return MeasurementTable(table), suv, lesions
