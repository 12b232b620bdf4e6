"""Writing PET-BIDS datasets: DICOM PET/CT series → NIfTI + sidecars, TSV tables.

Layout written (BIDS v1.10; PET: "Positron Emission Tomography" modality page)::

    dataset_description.json  README  participants.tsv/.json  .bidsignore
    sub-<S>/sub-<S>_sessions.tsv
    sub-<S>/ses-<T>/pet/sub-<S>_ses-<T>_trc-<tracer>_pet.nii.gz + .json
    sub-<S>/ses-<T>/ct/sub-<S>_ses-<T>_ct.nii.gz + .json      (listed in .bidsignore)

BIDS v1.10 has no CT datatype yet (the CT extension, BEP024, is a proposal), so the
CT lies under ``ct/`` in the BEP024 naming and ``.bidsignore`` keeps it out of
validation; :mod:`immunopet.io.bids_read` reads it from ``anat/`` or ``ct/``.
PET voxels are written as float32 Bq/mL (relative rounding ≤ 2⁻²⁴ ≈ 6e-8 of the
DICOM value), CT as int16 HU when the values are whole numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.version import __version__
from ..core.volume import Volume
from .bids_read import nominal_time
from .bids_sidecar import pet_sidecar_from_dicom
from .dicom import DicomSeries, discover_series, read_series_volume, series_acquisition

__all__ = [
    "BIDS_VERSION",
    "bids_label",
    "export_dicom_bids",
    "export_pet_series",
    "write_dataset_description",
    "write_json",
    "write_sessions",
    "write_tsv",
]

#: The BIDS version the written datasets follow.
BIDS_VERSION = "1.10.0"
_BIDSIGNORE = "**/ct\n"  # bids-validator 3 matches the folder itself, not "**/ct/"


def bids_label(text: str) -> str:
    """A BIDS entity label: letters and digits only (``"I124-24h"`` → ``"I12424h"``)."""
    label = re.sub(r"[^A-Za-z0-9]", "", str(text))
    if not label:
        raise InputError(f"{text!r} has no letter or digit to make a BIDS label from", value=text)
    return label


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """A JSON file (UTF-8, indented), folders created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_tsv(path: Path, frame: pd.DataFrame) -> Path:
    """A BIDS TSV: tab-separated, header row, ``n/a`` for missing values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False, na_rep="n/a", lineterminator="\n")
    return path


def write_dataset_description(
    root: Path,
    name: str,
    *,
    derivative: bool = False,
    source_datasets: Sequence[Mapping[str, str]] | None = None,
) -> Path:
    """``dataset_description.json`` with ``GeneratedBy`` immunopet and its version."""
    desc: dict[str, Any] = {
        "Name": name,
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative" if derivative else "raw",
        "License": "n/a",
        "Authors": ["immunopet"],
        "GeneratedBy": [
            {
                "Name": "immunopet",
                "Version": __version__,
                "Description": "immunopet export-bids" if not derivative else "immunopet run",
            }
        ],
    }
    if source_datasets:
        desc["SourceDatasets"] = [dict(s) for s in source_datasets]
    root.mkdir(parents=True, exist_ok=True)
    readme = root / "README.md"
    if not readme.exists():
        what = (
            "Results (derivatives) of an immunopet analysis."
            if derivative
            else "PET-BIDS export of DICOM PET/CT: one session per PET scan, the PET as "
            "NIfTI-2 in Bq/mL with its JSON sidecar (PET keys from the DICOM header), the CT of "
            "the session under ct/ (BIDS has no CT datatype yet: listed in .bidsignore), subject "
            "metadata and groups in participants.tsv, scan ids and nominal time points in "
            "sub-*/sub-*_sessions.tsv, and the analysis options of the immunopet study file in "
            "code/immunopet/."
        )
        readme.write_text(
            f"# {name}\n\n{what}\n\nWritten by immunopet {__version__}.\n", encoding="utf-8"
        )
    if not derivative:
        (root / ".bidsignore").write_text(_BIDSIGNORE, encoding="utf-8")
    return write_json(root / "dataset_description.json", desc)


def write_nifti2(volume: Volume, path: Path) -> Path:
    """``volume`` as NIfTI-2: its affine kept in float64 (NIfTI-1 stores it in float32).

    A float32 origin moves by up to ~1e-5 mm, enough to flip nearest-neighbour
    resampling of a label map whose voxel borders fall on PET voxel centres.
    """
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.ascontiguousarray(np.transpose(np.asarray(volume.array), (2, 1, 0)))
    img = nib.Nifti2Image(arr, volume.affine_ras)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(volume.affine_ras, code=1)
    img.set_sform(volume.affine_ras, code=1)
    nib.save(img, str(path))
    return path


def _float32(volume: Volume) -> Volume:
    return volume.with_array(np.asarray(volume.array, dtype=np.float32), volume.unit)


def _ct_array(volume: Volume) -> Volume:
    arr = np.asarray(volume.array)
    if np.all(np.mod(arr, 1) == 0) and arr.min() >= -32768 and arr.max() <= 32767:
        return volume.with_array(arr.astype(np.int16), volume.unit)
    return _float32(volume)


def export_pet_series(
    pet: DicomSeries,
    root: Path,
    *,
    subject: str,
    session: str,
    ct: DicomSeries | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    acquisition_overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Write one DICOM PET series (and its CT) as ``sub-<subject>/ses-<session>/``.

    ``overrides`` are PET-BIDS keys; ``acquisition_overrides`` the study-file values
    that replace the header's (:func:`immunopet.io.apply_overrides`: injection
    date-time, activity, weight, height) before the sidecar is made.

    Returns
    -------
    Path
        The PET NIfTI written.

    Raises
    ------
    MissingFieldError
        A REQUIRED PET-BIDS key the header lacks and ``overrides`` does not give
        (:func:`~immunopet.io.bids_sidecar.pet_sidecar_from_dicom`).
    """
    from . import apply_overrides

    acq = series_acquisition(pet)
    given = {k: v for k, v in (acquisition_overrides or {}).items() if v is not None}
    if given:
        acq = apply_overrides(acq, **given)
    side = pet_sidecar_from_dicom(pet.first, acq, source=pet.source, overrides=overrides)
    sub, ses = bids_label(subject), bids_label(session)
    trc = bids_label(side["TracerName"])
    stem = f"sub-{sub}_ses-{ses}_trc-{trc}_pet"
    folder = root / f"sub-{sub}" / f"ses-{ses}"
    from ..quant.concentration import concentration_factor_bq_per_ml

    # Stored values → Bq/mL (BQML: 1; Philips CNTS: private scale factor; GML: SUV → Bq/mL).
    factor = concentration_factor_bq_per_ml(acq)
    side["Units"] = "Bq/mL"
    volume = read_series_volume(pet)
    volume = volume.with_array(np.asarray(volume.array) * factor, "Bq/mL")
    out = write_nifti2(_float32(volume), folder / "pet" / f"{stem}.nii.gz")
    write_json(folder / "pet" / f"{stem}.json", side)
    if ct is not None:
        if isinstance(ct, Path):
            ct_series = [s for s in discover_series(ct) if s.modality == "CT"]
            if len(ct_series) != 1:
                raise InputError(f"{len(ct_series)} CT series found, expected one", file=ct)
            ct = ct_series[0]
        ct_stem = f"sub-{sub}_ses-{ses}_ct"
        write_nifti2(_ct_array(read_series_volume(ct)), folder / "ct" / f"{ct_stem}.nii.gz")
        write_json(
            folder / "ct" / f"{ct_stem}.json",
            {
                "Modality": "CT",
                "Manufacturer": str(ct.first.get("Manufacturer") or "n/a"),
                "Units": "HU",
                "FrameOfReferenceMatchesPET": (
                    ct.frame_of_reference_uid is not None
                    and ct.frame_of_reference_uid == pet.frame_of_reference_uid
                ),
            },
        )
    return out


def export_dicom_bids(
    dicom: Path, root: Path, *, overrides: Mapping[str, Any] | None = None
) -> list[Path]:
    """Every PET series under ``dicom`` as a PET-BIDS dataset in ``root``.

    The subject is the PatientID, the session the tracer and nominal time p.i.
    (``ses-FDG1h``); a CT of the same frame of reference (or study) goes with its PET.
    ``participants.tsv`` holds PatientSex / PatientAge of the headers.
    """
    from . import _matching_ct  # the same CT pairing as load_scan

    series = discover_series(dicom)
    pets = [s for s in series if s.modality == "PT"]
    if not pets:
        raise InputError("no PET series found", file=dicom)
    write_dataset_description(root, f"PET-BIDS export of {dicom.name}")
    written, people, sessions = [], {}, {}
    for pet in pets:
        acq = series_acquisition(pet)
        subject = bids_label(str(pet.first.get("PatientID") or "01"))
        hours = (
            (acq.scan_start_datetime - acq.injection_datetime).total_seconds() / 3600
            if acq.injection_datetime is not None
            else 0.0
        )
        time_label = nominal_time(hours)
        session = bids_label(f"{acq.tracer or 'pet'}{time_label}")[:32]
        written.append(
            export_pet_series(
                pet,
                root,
                subject=subject,
                session=session,
                ct=_matching_ct(series, pet),
                overrides=overrides,
            )
        )
        age = str(pet.first.get("PatientAge") or "")
        people[subject] = {
            "participant_id": f"sub-{subject}",
            "sex": acq.patient_sex or None,
            "age": float(age[:3]) if age[:3].isdigit() and age.endswith("Y") else None,
        }
        sessions.setdefault(subject, []).append(
            {"session_id": f"ses-{session}", "scan_id": session, "time_label": time_label}
        )
    write_participants(root, list(people.values()), {})
    for subject, rows in sessions.items():
        write_sessions(root, subject, rows)
    return written


#: Column descriptions of the sessions tables (BIDS: additional columns need a sidecar).
SESSION_COLUMNS = {
    "scan_id": {"Description": "Scan identifier of the immunopet study file"},
    "tracer": {"Description": "Radiopharmaceutical of the session's PET"},
    "nuclide": {"Description": "Radionuclide of the session's PET"},
    "time_label": {"Description": "Nominal time point after injection (e.g. 24h)"},
    "lesion_reference": {
        "Description": "Lesions are detected on this session's PET",
        "Levels": {"true": "lesion-reference scan", "false": "other scan"},
    },
}


def write_sessions(root: Path, subject: str, rows: Sequence[Mapping[str, Any]]) -> Path:
    """``sub-<S>/sub-<S>_sessions.tsv`` and the ``.json`` describing its extra columns."""
    frame = pd.DataFrame(list(rows))
    folder = root / f"sub-{subject}"
    write_json(
        folder / f"sub-{subject}_sessions.json",
        {c: SESSION_COLUMNS[c] for c in frame.columns if c in SESSION_COLUMNS},
    )
    return write_tsv(folder / f"sub-{subject}_sessions.tsv", frame)


def write_participants(
    root: Path, rows: Sequence[Mapping[str, Any]], descriptions: Mapping[str, Any]
) -> Path:
    """``participants.tsv`` and its ``participants.json`` column descriptions."""
    frame = pd.DataFrame(list(rows))
    known = {
        "participant_id": {"Description": "Participant identifier"},
        "sex": {
            "Description": "Sex of the participant (DICOM PatientSex)",
            "Levels": {"M": "male", "F": "female", "O": "other"},
        },
        "age": {"Description": "Age of the participant", "Units": "year"},
        "weight": {"Description": "Body weight", "Units": "kg"},
        "height": {"Description": "Body height", "Units": "m"},
    }
    meta = {c: known.get(c) or descriptions.get(c) or {"Description": c} for c in frame.columns}
    write_json(root / "participants.json", meta)
    return write_tsv(root / "participants.tsv", frame)
