"""A study as a PET-BIDS dataset, and a PET-BIDS dataset as a study.

:func:`export_study_bids` writes every scan of a study file (DICOM PET + CT) as
PET-BIDS (:mod:`immunopet.io.bids_write`), its organ label maps as a
``derivatives/labels/`` segmentation dataset (``_dseg.nii.gz`` + ``_dseg.tsv``),
the subjects' metadata and groups as ``participants.tsv`` columns, the scans'
ids / nominal times as ``sub-<S>_sessions.tsv`` columns, and what BIDS has no
place for — the analysis options and the clinical lesion record — as
``code/immunopet/study-extras.yaml`` (BIDS keeps ``code/`` for the dataset's own
processing and does not validate it).

:func:`study_from_bids` reads such a dataset, or any PET-BIDS dataset
(:func:`immunopet.io.bids_read.read_bids_dataset`), into a validated
:class:`~immunopet.study.model.Study`, and can write it as a study YAML file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core.errors import InputError
from ..io.bids_read import read_bids_dataset
from ..io.bids_write import (
    bids_label,
    export_pet_series,
    write_dataset_description,
    write_json,
    write_participants,
    write_sessions,
    write_tsv,
)
from ..io.dicom import discover_series
from .loader import study_from_data
from .model import Study

__all__ = ["EXTRAS_FILE", "export_study_bids", "study_from_bids", "write_study_yaml"]

#: Where the study options BIDS has no place for are kept in an exported dataset.
EXTRAS_FILE = Path("code") / "immunopet" / "study-extras.yaml"
_LABELS_DERIVATIVE = "labels"


def _scan_series(study: Study, scan: Any) -> tuple[Any, Any]:
    from ..io import _matching_ct, _pick_pet

    path = study.resolve(scan.path)
    series = discover_series(path)
    pet = _pick_pet(series, scan.series_uid, path)
    ct = study.resolve(scan.ct) if scan.ct is not None else _matching_ct(series, pet)
    return pet, ct


def _cold_antibody(tracer: str, mg: float | None) -> dict[str, Any]:
    """PET-BIDS Pharmaceutical* keys of an unlabelled antibody co-injected with a labelled one.

    Only for tracers named ``<mass number><element>-<molecule>`` (``124I-trastuzumab``):
    the co-injected pharmaceutical is that molecule, unlabelled (study field
    ``cold_antibody_mg``); FDG and other tracers get none.
    """
    m = re.match(r"^\d{1,3}[A-Z][a-z]?-(.+)$", tracer.strip())
    if mg is None or m is None:
        return {}
    return {
        "PharmaceuticalName": m.group(1),
        "PharmaceuticalDoseAmount": mg,
        "PharmaceuticalDoseUnits": "mg",
        "PharmaceuticalDoseRegimen": "single dose, co-injected with the tracer",
        "PharmaceuticalDoseTime": 0.0,
    }


def _export_labels(study: Study, scan: Any, root: Path, sub: str, ses: str) -> None:
    from ..regions import load_label_map
    from ..regions.totalsegmentator import label_names_from

    src = study.resolve(scan.labels)
    spec = scan.labels_from
    if spec is not None and spec.lower() != "totalsegmentator":
        spec = str(study.resolve(spec))
    names = label_names_from(spec) if spec else None
    folder = root / "derivatives" / _LABELS_DERIVATIVE / f"sub-{sub}" / f"ses-{ses}" / "anat"
    stem = f"sub-{sub}_ses-{ses}_desc-organs"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{stem}_dseg.nii.gz"
    if src.name.lower().endswith((".nii.gz", ".nii")):
        import nibabel as nib

        # The label map as it was (same voxels, same stored affine), with the spatial
        # unit set (BIDS NIFTI_UNIT) when the source header left it unset.
        img = nib.load(str(src))
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, str(out))
        if names is None:
            names = load_label_map(src).names
    else:
        from ..io.nifti import write_nifti

        lm = load_label_map(src, names)
        names = dict(lm.names)
        write_nifti(lm.volume, out)
    rows = [{"index": int(k), "name": str(v)} for k, v in sorted(names.items())]
    write_tsv(folder / f"{stem}_dseg.tsv", pd.DataFrame(rows))
    side: dict[str, Any] = {
        "Description": f"organ label map of scan {scan.id}",
        "SpatialReference": "own grid, in the frame of reference (scanner LPS mm) of the "
        f"session's PET and CT; source: {src.name}",
    }
    if scan.labels_from is not None and scan.labels_from.lower() == "totalsegmentator":
        side["LabelConvention"] = "totalsegmentator"
    write_json(folder / f"{stem}_dseg.json", side)


def export_study_bids(
    study: Study, root: str | Path, *, overrides: Mapping[str, Any] | None = None
) -> Path:
    """Write ``study`` as a PET-BIDS dataset in ``root``; returns ``root``.

    Parameters
    ----------
    study
        A loaded study whose scans are DICOM series.
    root
        The dataset folder (created).
    overrides
        PET-BIDS sidecar keys the DICOM headers do not hold (e.g. ``AcquisitionMode``).

    Raises
    ------
    MissingFieldError
        A REQUIRED PET-BIDS key neither in the headers nor in ``overrides``.
    """
    root = Path(root)
    write_dataset_description(root, study.name)
    people, extras_lesions = [], {}
    for subject in study.subjects:
        sub = bids_label(subject.id)
        sessions = []
        for scan in subject.scans:
            ses = bids_label(scan.id)
            pet, ct = _scan_series(study, scan)
            acq_over = {
                "injection_datetime": scan.injection_datetime,
                "injected_activity_bq": None
                if scan.injected_activity_mbq is None
                else scan.injected_activity_mbq * 1e6,
                "patient_weight_kg": subject.weight_kg,
                "patient_height_m": subject.height_m,
            }
            side_over = {
                **dict(overrides or {}),
                **_cold_antibody(scan.tracer, subject.cold_antibody_mg),
                "TracerName": scan.tracer,
            }
            export_pet_series(
                pet,
                root,
                subject=sub,
                session=ses,
                ct=ct,
                overrides=side_over,
                acquisition_overrides=acq_over,
            )
            if scan.labels is not None:
                _export_labels(study, scan, root, sub, ses)
            sessions.append(
                {
                    "session_id": f"ses-{ses}",
                    "scan_id": scan.id,
                    "tracer": scan.tracer,
                    "nuclide": scan.nuclide,
                    "time_label": scan.time,
                    "lesion_reference": str(scan.lesion_reference).lower(),
                }
            )
        write_sessions(root, sub, sessions)
        row: dict[str, Any] = {
            "participant_id": f"sub-{sub}",
            "subject_id": subject.id,
            "sex": subject.sex,
            "age": subject.age_y,
            "weight": subject.weight_kg,
            "height": subject.height_m,
            "cold_antibody_mg": subject.cold_antibody_mg,
        }
        row.update(subject.groups)
        people.append(row)
        if subject.lesions:
            extras_lesions[subject.id] = [
                les.model_dump(mode="json", exclude_none=True) for les in subject.lesions
            ]
    write_participants(
        root,
        people,
        {
            "subject_id": {"Description": "Subject id of the immunopet study file"},
            "cold_antibody_mg": {"Description": "Unlabelled antibody co-injected", "Units": "mg"},
        },
    )
    if any(s.scans and s.scans[0].labels for s in study.subjects):
        write_dataset_description(
            root / "derivatives" / _LABELS_DERIVATIVE,
            f"{study.name}: organ label maps",
            derivative=True,
            source_datasets=[{"URL": "../../"}],
        )
    extras = {
        "name": study.name,
        "description": study.description,
        "analysis": study.analysis.model_dump(mode="json"),
        "lesions": extras_lesions,
    }
    (root / EXTRAS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / EXTRAS_FILE).write_text(yaml.safe_dump(extras, sort_keys=False), encoding="utf-8")
    return root


def study_from_bids(root: str | Path, *, labels_dir: str | Path | None = None) -> Study:
    """A validated :class:`Study` from a PET-BIDS dataset.

    ``labels_dir`` receives the label-name JSON files made from the ``_dseg.tsv``
    tables (default: a new temporary folder; the dataset itself is never written to).
    """
    import tempfile

    root = Path(root)
    if labels_dir is None:
        labels_dir = tempfile.mkdtemp(prefix="immunopet-bids-labels-")
    data = read_bids_dataset(root, labels_dir=Path(labels_dir))
    return study_from_data(data, source=None)


def write_study_yaml(root: str | Path, out: str | Path) -> Path:
    """Infer the study of a PET-BIDS dataset and write it as a study YAML file ``out``.

    Label-name tables go to ``<out stem>-labels/`` beside it. The file is loaded back
    (:func:`~immunopet.study.load_study`) before returning, so what is written is valid.
    """
    from .loader import load_study

    out = Path(out)
    if not Path(root).is_dir():
        raise InputError("not a folder: give the root of a BIDS dataset", file=root)
    labels_dir = out.parent / f"{out.stem}-labels"
    data = read_bids_dataset(Path(root), labels_dir=labels_dir)
    study_from_data(data, source=None)  # every problem reported before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"# Inferred by `immunopet study from-bids {Path(root).resolve()}`: edit as needed.\n"
        + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    load_study(out)
    return out
