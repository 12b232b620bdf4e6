"""The simulated trial's study file: ``study.yaml`` content and the reference analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..measure import LESION_CORE_MM
from .cohort import Cohort

__all__ = ["REFERENCE_ANALYSIS", "study_dict"]


#: Analysis options of the simulated study beyond the schema's defaults, as a reader
#: of the reference study worked:
#:
#: * lesion uptake is the SUVmax inside the lesion (``suv_max_core``: the VOI drawn on
#:   FDG without its 6 mm border layer): the paper's HER2− liver metastases of
#:   patient 6 measured SUVmax < 4 inside a liver of SUVmax 9.9, which only an ROI
#:   kept inside the lesion gives (the border voxels show the liver);
#: * the SUVmax 4.0 cutoff for HER2 status (reference-study.md, "Cutoff SUVmax 4.0
#:   at 24 h"), evaluated at each 124I time point;
#: * a lesion is "detected" when it stands out of its surroundings: its SUVmax (core)
#:   ≥ 1.3 × the SUVmean of its 5–15 mm background shell;
#: * the bladder contents from the dynamic bladder model fed by the whole-body
#:   clearance, all of it urinary (the paper's dosimetry used "urinary excretions";
#:   iodide released by catabolism of the antibody leaves through the kidneys while
#:   the thyroid is blocked), rather than from bladder snapshots between voids;
#: * the doses also with the paper's OLINDA/EXM source organs (heart, liver, spleen,
#:   kidneys, bladder; the rest in the remainder of body): ``source_set = reference_study``;
#: * the red marrow image-based (no marrow source, as the paper's OLINDA/EXM run); the
#:   blood-based value (EANM 2010, the default for antibodies) is reported beside it;
#: * voxel dosimetry (issue 14) with the default dose voxel kernel method (``dvk``), each
#:   voxel's curve integrated as the regions' are (trapezoid, tail fitted to the last
#:   points), for 124I and a predicted 131I therapy (same administered activity; the
#:   report compares per MBq).
REFERENCE_ANALYSIS: dict[str, Any] = {
    "lesions": {"core_mm": LESION_CORE_MM},
    "kinetics": {"urinary_fraction": 1.0},
    "dosimetry": {
        "marrow": "image",
        "voxel": {"method": "dvk", "tail": "fit", "therapy_nuclides": ["I-131"]},
        "source_organs": [
            "heart_contents",
            "liver",
            "spleen",
            "kidneys",
            "urinary_bladder_contents",
        ],
    },  # fmt: skip
    "statistics": {
        "metric": "suv_max_core",
        "cutoffs": [
            {
                "metric": "suv_max_core",
                "value": 4.0,
                "time": t,
                "group": "her2",
                "positive": "positive",
            }
            for t in ("1h", "24h", "48h")
        ],  # fmt: skip
        "primary_time": "24h",  # the paper's headline time point
        "detection": {
            "kind": "ratio",
            "metric": "suv_max_core",
            "background_metric": "background_suv_mean",
            "threshold": 1.3,
        },
    },
}


def study_dict(
    cohort: Cohort,
    scans: dict[str, list[dict[str, Any]]],
    out_dir: Path,
    *,
    lesion_record: str = "sites",
    centres: dict[str, dict[str, tuple[float, float, float]]] | None = None,
    preclinical: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``study.yaml`` content (``immunopet.study.Study`` schema), paths relative to ``out_dir``.

    ``lesion_record``: ``"sites"`` lists each lesion's id/site/HER2 (the clinical
    record, without positions); ``"positions"`` adds centre and diameter (the
    FDG reading); ``"none"`` lists no lesions (the pipeline finds them blind).
    Analysis options are the schema's defaults plus :data:`REFERENCE_ANALYSIS`.
    ``preclinical`` is the arm's section (the micro-PET images,
    :func:`~immunopet.simulate.micropet_arm.simulate_micropet_arm`); without it the
    arm points at the uptake table ``preclinical/micropet_uptake.csv``.
    """
    centres = centres or {}
    subjects = []
    for s in cohort.subjects:
        lesions = []
        if lesion_record != "none":
            for les in s.lesions:
                entry: dict[str, Any] = dict(
                    id=les.lesion_id,
                    site=les.site,
                    her2="positive" if les.her2_positive else "negative",
                    analysed=les.analysed,
                )
                if lesion_record == "positions" and les.lesion_id in centres.get(s.subject_id, {}):
                    entry["diameter_mm"] = les.diameter_mm
                    entry["center_mm"] = list(centres[s.subject_id][les.lesion_id])
                lesions.append(entry)
        entries = []
        for sc in scans.get(s.subject_id, []):
            entries.append(
                dict(
                    id=sc["scan_id"],
                    path=str(Path(sc["path"]).relative_to(out_dir)),
                    tracer=sc["tracer"],
                    nuclide=sc["nuclide"],
                    time=sc["nominal"],
                    ct=str((Path(sc["path"]) / "CT").relative_to(out_dir)),
                    lesion_reference=bool(sc["reference"]),
                    labels=f"labels/{s.subject_id}_organs.nii.gz",
                    labels_from="labels/organ_names.json",
                )
            )
        subjects.append(
            dict(
                id=s.subject_id,
                patient_id=s.patient_id,
                sex=s.sex,
                age_y=s.age_y,
                groups=dict(
                    her2="positive" if s.her2_positive else "negative",
                    ihc=s.ihc,
                    fish=s.fish,
                    cold_antibody=f"{s.cold_antibody_mg:g} mg",
                ),
                cold_antibody_mg=s.cold_antibody_mg,
                lesions=lesions,
                scans=entries,
            )
        )
    return dict(
        name="Simulated 124I-trastuzumab PET/CT trial (digital twin of Guo et al.)",
        subjects=subjects,
        analysis=REFERENCE_ANALYSIS,
        preclinical=preclinical
        or dict(
            nuclide="124I",
            injected_activity_mbq=14.8,
            uptake_table="preclinical/micropet_uptake.csv",
            time_points=["2h", "24h", "48h", "72h", "96h"],
        ),
    )
