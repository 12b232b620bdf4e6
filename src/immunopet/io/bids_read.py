"""Reading a PET-BIDS dataset as study-file data (the ``Study`` schema, as plain dicts).

What is read (BIDS v1.10):

* ``sub-<S>/[ses-<T>/]pet/*_pet.nii[.gz]`` + ``*_pet.json`` — one scan each; the
  sidecar must hold ``TracerName``, ``TracerRadionuclide``, ``TimeZero``,
  ``ScanStart``, ``InjectionStart``, ``InjectedRadioactivity`` and
  ``InjectedRadioactivityUnits`` (REQUIRED by BIDS and needed for SUV and decay);
  a missing one is a :class:`~immunopet.core.errors.MissingFieldError` naming the
  file and the key. Sidecar inheritance (keys in a parent-level JSON) is not read.
* the CT of a session from ``ct/`` (any NIfTI; BEP024 naming) or ``anat/*_ct.nii[.gz]``;
* organ label maps from ``derivatives/*/sub-<S>/[ses-<T>/]*/*_dseg.nii[.gz]`` with their
  ``*_dseg.tsv`` (``index``, ``name``); a ``LabelConvention: totalsegmentator`` in the
  ``_dseg.json`` keeps TotalSegmentator's names. A ``desc-lesion*`` segmentation of
  another pipeline becomes the scan's ``lesion_mask`` (on the lesion-reference scan
  it replaces the automatic search; immunopet's own derivatives are not inputs);
* ``participants.tsv``: ``sex``, ``age`` (y), ``weight`` (kg), ``height`` (m),
  ``cold_antibody_mg``, ``subject_id``; every other column is a subject group
  (e.g. ``her2``);
* ``sub-<S>/sub-<S>_sessions.tsv`` (optional): ``scan_id``, ``time_label``, ``tracer``,
  ``nuclide``, ``lesion_reference`` per session;
* ``code/immunopet/study-extras.yaml`` (optional, written by ``immunopet export-bids``):
  study name, analysis options and the lesion record.

Without ``sessions.tsv`` the scan id is the session label and the nominal time is
``(ScanStart − InjectionStart)`` rounded to whole hours (minutes below 45 min); the
lesion-reference scan is the first whose tracer contains
``analysis.lesions.reference_tracer`` (FDG).

pybids (``BIDSLayout``) is not used: it indexes a dataset into an SQL database
(SQLAlchemy, formulaic, bids-validator schema) to answer queries over arbitrary
entities; this reader needs a fixed, shallow walk of one layout, which pathlib does
in a few lines with errors that name the file and key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core.errors import InputError, MissingFieldError
from .nifti import read_sidecar

__all__ = ["PET_STUDY_KEYS", "nominal_time", "parse_entities", "read_bids_dataset"]

#: Sidecar keys a scan needs to enter a study (all REQUIRED by BIDS PET).
PET_STUDY_KEYS = (
    "TracerName",
    "TracerRadionuclide",
    "TimeZero",
    "ScanStart",
    "InjectionStart",
    "InjectedRadioactivity",
    "InjectedRadioactivityUnits",
)
_ENTITY_RE = re.compile(r"([a-zA-Z]+)-([a-zA-Z0-9]+)")
_SUBJECT_FIELDS = {
    "sex": "sex",
    "age": "age_y",
    "weight": "weight_kg",
    "height": "height_m",
    "cold_antibody_mg": "cold_antibody_mg",
}


def parse_entities(name: str) -> dict[str, str]:
    """BIDS entities of a file name (``sub-01_ses-a_pet.nii.gz`` → ``{sub: 01, ses: a}``)."""
    stem = name.split(".")[0]
    return {m.group(1): m.group(2) for m in _ENTITY_RE.finditer(stem)}


def _nifti_stem(path: Path) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", dtype=str, na_values=["n/a"], keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the TSV file ({exc})", file=path) from None


def nominal_time(hours: float) -> str:
    """A nominal time label of an actual time p.i.: whole hours from 45 min on, else minutes."""
    if hours >= 0.75:
        return f"{round(hours):d}h"
    return f"{max(round(hours * 60), 0):d}min"


def _participants(root: Path) -> dict[str, dict[str, Any]]:
    path = root / "participants.tsv"
    if not path.is_file():
        return {}
    table = _read_tsv(path)
    if "participant_id" not in table.columns:
        raise MissingFieldError(
            "participants.tsv needs a participant_id column", file=path, field="participant_id"
        )
    out: dict[str, dict[str, Any]] = {}
    for _, row in table.iterrows():
        label = str(row["participant_id"]).removeprefix("sub-")
        subject: dict[str, Any] = {"id": label, "groups": {}}
        for col, value in row.items():
            if col == "participant_id" or pd.isna(value) or str(value) == "":
                continue
            if col == "subject_id":
                subject["id"] = str(value)
            elif col == "sex":
                letter = str(value).strip().upper()[:1]
                subject["sex"] = letter if letter in {"M", "F", "O"} else None
            elif col in _SUBJECT_FIELDS:
                try:
                    subject[_SUBJECT_FIELDS[str(col)]] = float(value)
                except ValueError:
                    raise InputError(
                        f"column {col} must be a number, got {value!r}", file=path, field=str(col)
                    ) from None
            else:
                subject["groups"][str(col)] = str(value)
        out[label] = subject
    return out


def _sessions(sub_dir: Path) -> dict[str, dict[str, str]]:
    path = sub_dir / f"{sub_dir.name}_sessions.tsv"
    if not path.is_file():
        return {}
    table = _read_tsv(path)
    if "session_id" not in table.columns:
        raise MissingFieldError(
            "sessions.tsv needs a session_id column", file=path, field="session_id"
        )
    return {
        str(r["session_id"]).removeprefix("ses-"): {
            k: str(v) for k, v in r.items() if not pd.isna(v) and k != "session_id"
        }
        for _, r in table.iterrows()
    }


def _sidecar(pet: Path) -> tuple[Path, dict[str, Any]]:
    side_path = pet.with_name(_nifti_stem(pet) + ".json")
    if not side_path.is_file():
        raise MissingFieldError(
            "a PET image needs its JSON sidecar (same name, .json)", file=side_path
        )
    side = read_sidecar(side_path)
    for key in PET_STUDY_KEYS:
        if side.get(key) in (None, "", "n/a"):
            raise MissingFieldError(
                f"the PET sidecar lacks {key} (REQUIRED by BIDS PET)", file=side_path, field=key
            )
    return side_path, side


def _ct(folder: Path) -> Path | None:
    found = sorted((folder / "ct").glob("*.nii*")) if (folder / "ct").is_dir() else []
    found += (
        sorted(p for p in (folder / "anat").glob("*_ct.nii*")) if (folder / "anat").is_dir() else []
    )
    return found[0] if found else None


def _dsegs(root: Path) -> list[Path]:
    deriv = root / "derivatives"
    if not deriv.is_dir():
        return []
    # immunopet's own run outputs are results, not inputs: other pipelines first.
    found = sorted(deriv.glob("*/sub-*/**/*_dseg.nii*"))
    return sorted(found, key=lambda p: p.relative_to(deriv).parts[0] == "immunopet")


def lesion_dseg_for(dsegs: list[Path], sub: str, ses: str | None) -> Path | None:
    """The ``desc-lesion*`` segmentation of a subject·session (another pipeline's first)."""
    for p in dsegs:
        ent = parse_entities(p.name)
        if ent.get("sub") == sub and ent.get("ses") == ses:
            if ent.get("desc", "").lower().startswith("lesion"):
                return p
    return None


def _labels_for(
    dsegs: list[Path], sub: str, ses: str | None, labels_dir: Path
) -> tuple[str | None, str | None]:
    organ = []
    for p in dsegs:
        ent = parse_entities(p.name)
        if ent.get("sub") != sub or ent.get("ses") != ses:
            continue
        if ent.get("desc", "").lower().startswith("lesion"):
            continue  # lesions: lesion_dseg_for (the reference scan's lesion_mask)
        organ.append(p)
    if not organ:
        return None, None
    dseg = organ[0]
    stem = _nifti_stem(dseg)
    side_path = dseg.with_name(stem + ".json")
    if side_path.is_file() and str(read_sidecar(side_path).get("LabelConvention", "")).lower() == (
        "totalsegmentator"
    ):
        return str(dseg), "totalsegmentator"
    tsv = dseg.with_name(stem + ".tsv")
    if not tsv.is_file():
        raise MissingFieldError(
            "a _dseg.nii.gz needs its _dseg.tsv (index, name) to name the labels", file=tsv
        )
    table = _read_tsv(tsv)
    for key in ("index", "name"):
        if key not in table.columns:
            raise MissingFieldError(f"the dseg table lacks the {key} column", file=tsv, field=key)
    names = {str(int(i)): str(n) for i, n in zip(table["index"], table["name"], strict=True)}
    names.pop("0", None)
    labels_dir.mkdir(parents=True, exist_ok=True)
    mapping = labels_dir / f"{stem}.json"
    mapping.write_text(json.dumps(names, indent=1), encoding="utf-8")
    return str(dseg), str(mapping)


def _scans_of(
    sub_dir: Path, dsegs: list[Path], labels_dir: Path, reference_tracer: str | None
) -> list[dict[str, Any]]:
    sub = sub_dir.name.removeprefix("sub-")
    sessions = _sessions(sub_dir)
    folders = sorted(p for p in sub_dir.glob("ses-*") if p.is_dir()) or [sub_dir]
    scans: list[dict[str, Any]] = []
    for folder in folders:
        ses = folder.name.removeprefix("ses-") if folder is not sub_dir else None
        info = sessions.get(ses or "", {})
        pets = sorted((folder / "pet").glob("*_pet.nii*")) if (folder / "pet").is_dir() else []
        for pet in pets:
            side_path, side = _sidecar(pet)
            ent = parse_entities(pet.name)
            hours = (float(side["ScanStart"]) - float(side["InjectionStart"])) / 3600.0
            scan_id = info.get("scan_id") or ses or _nifti_stem(pet)
            if len(pets) > 1:
                scan_id = f"{scan_id}-{ent.get('trc', '')}{ent.get('run', '')}"
            labels, labels_from = _labels_for(dsegs, sub, ses, labels_dir)
            entry: dict[str, Any] = {
                "id": scan_id,
                "path": str(pet.resolve()),
                "tracer": info.get("tracer") or str(side["TracerName"]),
                "nuclide": info.get("nuclide") or str(side["TracerRadionuclide"]),
                "time": info.get("time_label") or nominal_time(hours),
                "lesion_reference": info.get("lesion_reference", "").lower() == "true",
            }
            ct = _ct(folder)
            if ct is not None:
                entry["ct"] = str(ct.resolve())
            if labels is not None:
                entry["labels"] = str(Path(labels).resolve())
                entry["labels_from"] = labels_from
            lesion_dseg = lesion_dseg_for(dsegs, sub, ses)
            if lesion_dseg is not None and "immunopet" not in lesion_dseg.parts:
                # Lesions drawn by a reader or another pipeline; immunopet's own derivative
                # lesions are results of an earlier run, not inputs.
                entry["lesion_mask"] = str(lesion_dseg.resolve())
            scans.append(entry)
    if scans and not any(s["lesion_reference"] for s in scans) and reference_tracer:
        for s in scans:
            if reference_tracer.lower() in s["tracer"].lower():
                s["lesion_reference"] = True
                break
    return scans


def read_bids_dataset(root: Path, *, labels_dir: Path) -> dict[str, Any]:
    """The study-file data (absolute paths) of the PET-BIDS dataset at ``root``.

    ``labels_dir`` receives one label-name JSON per ``_dseg.tsv`` (the study
    schema's ``labels_from`` format).

    Raises
    ------
    InputError
        ``root`` is not a BIDS dataset (no ``dataset_description.json``) or holds no PET.
    MissingFieldError
        A PET sidecar without one of :data:`PET_STUDY_KEYS`, a ``participants.tsv``
        without ``participant_id``, a ``_dseg`` without its ``index``/``name`` table.
    """
    desc_path = root / "dataset_description.json"
    if not desc_path.is_file():
        raise InputError("not a BIDS dataset: dataset_description.json is missing", file=root)
    desc = read_sidecar(desc_path)
    extras_path = root / "code" / "immunopet" / "study-extras.yaml"
    extras: dict[str, Any] = {}
    if extras_path.is_file():
        extras = yaml.safe_load(extras_path.read_text(encoding="utf-8")) or {}
    analysis = extras.get("analysis") or {}
    reference_tracer = (analysis.get("lesions") or {}).get("reference_tracer", "FDG")
    people = _participants(root)
    dsegs = _dsegs(root)
    subjects = []
    for sub_dir in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        label = sub_dir.name.removeprefix("sub-")
        subject = dict(people.get(label, {"id": label, "groups": {}}))
        subject["scans"] = _scans_of(sub_dir, dsegs, labels_dir, reference_tracer)
        if not subject["scans"]:
            continue
        lesions = (extras.get("lesions") or {}).get(subject["id"])
        if lesions:
            subject["lesions"] = lesions
        subjects.append({k: v for k, v in subject.items() if v is not None})
    if not subjects:
        raise InputError("no sub-*/[ses-*/]pet/*_pet.nii[.gz] found", file=root)
    data: dict[str, Any] = {
        "name": extras.get("name") or str(desc.get("Name") or root.name),
        "subjects": subjects,
    }
    if extras.get("description"):
        data["description"] = extras["description"]
    if analysis:
        data["analysis"] = analysis
    return data
