"""A finished run as a BIDS derivative dataset: ``derivatives/immunopet/``.

:func:`write_derivatives` reads a run folder (``OUT/tables/*.parquet``,
``OUT/study.json``, the lesion masks kept in ``OUT/.cache/lesions/``) and writes
(BIDS v1.10 "Derivatives": common data types, "Segmentations"; tabular files
per "Common principles — Tabular files")::

    derivatives/immunopet/dataset_description.json   DatasetType derivative, GeneratedBy
    sub-<S>/ses-<T>/anat/sub-<S>_ses-<T>_desc-lesions_dseg.nii.gz + .tsv + .json
    sub-<S>/ses-<T>/pet/sub-<S>_ses-<T>_trc-<R>_desc-immunopet_measurements.tsv + .json
    sub-<S>/pet/sub-<S>_trc-<R>_desc-activity_tacs.tsv + .json           (one column per region)
    sub-<S>/pet/sub-<S>_trc-<R>_desc-tia_dosimetry.tsv / _desc-doses_dosimetry.tsv + .json
    statistics.tsv + .json

The lesion segmentation (``_dseg``, discrete labels with a ``_dseg.tsv`` look-up of
``index``/``name``) is on the grid of the lesion-reference PET, which its
``SpatialReference`` names. The TAC table follows the BIDS PET-preprocessing
derivatives proposal (BEP009: ``_tacs.tsv``, one column per region, units in the
sidecar) with a ``time`` column (s after injection) instead of frame start/end,
because a multi-session TAC has one static frame per session. BIDS v1.10 (and
bids-validator 3) define no suffix for measurement, TAC or dosimetry tables yet,
so these files are listed in the derivative's ``.bidsignore``; the ``_dseg`` files
and ``dataset_description.json`` are validated.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import ImmunopetWarning, InputError
from ..core.version import __version__
from ..core.volume import Volume
from ..io.bids_write import (
    BIDS_VERSION,
    bids_label,
    write_json,
    write_nifti2,
    write_tsv,
)
from .store import Bundle, read_output

__all__ = ["DERIVATIVE_NAME", "write_derivatives"]

#: Folder of immunopet's derivative dataset under ``derivatives/``.
DERIVATIVE_NAME = "immunopet"
_BIDSIGNORE = "*_measurements.*\n*_tacs.*\n*_dosimetry.*\nstatistics.*\n"
_UNITS = {"Bq": "Bq", "SUVbw": "g/mL", "ml": "mL", "mL": "mL", "mGy/MBq": "mGy/MBq"}


def _table(run: Path, name: str) -> pd.DataFrame:
    path = run / "tables" / f"{name}.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def _columns_json(frame: pd.DataFrame, described: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {c: described.get(c, {"Description": c.replace("_", " ")}) for c in frame.columns}


def _reference_lesions(run: Path, lesions: pd.DataFrame) -> dict[str, Bundle]:
    """The lesion masks of this run, one per subject (the cache may hold older runs' too)."""
    out: dict[str, Bundle] = {}
    folder = run / ".cache" / "lesions"
    if not folder.is_dir() or lesions.empty:
        return out
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True):
        bundle = read_output(path)
        if not isinstance(bundle, Bundle) or bundle.table is None or bundle.table.empty:
            continue
        subject = str(bundle.table["subject"].iloc[0])
        if subject in out:
            continue
        mine = lesions[lesions["subject"].astype(str) == subject]
        same = len(mine) == len(bundle.table) and np.allclose(
            np.sort(mine["suv_max"].to_numpy(float)),
            np.sort(bundle.table["suv_max"].to_numpy(float)),
        )
        if same:
            out[subject] = bundle
    return out


def _raw_pet(study: dict[str, Any], subject: str, scan_id: str, raw: Path | None) -> str | None:
    if raw is None:
        return None
    for s in study.get("subjects", []):
        if s["id"] != subject:
            continue
        for sc in s.get("scans", []):
            if sc["id"] == scan_id:
                try:
                    rel = Path(sc["path"]).resolve().relative_to(raw.resolve())
                except ValueError:
                    return None
                return f"bids:raw:{rel.as_posix()}"
    return None


def _write_lesion_dseg(root: Path, bundle: Bundle, study: dict[str, Any], raw: Path | None) -> Path:
    table = bundle.table
    assert table is not None
    subject, scan_id = str(table["subject"].iloc[0]), str(table["scan_id"].iloc[0])
    sub, ses = bids_label(subject), bids_label(scan_id)
    m = bundle.meta
    labels = np.asarray(bundle.arrays["labels"])
    vol = Volume(
        labels.astype(np.uint16) if labels.max(initial=0) < 65536 else labels,
        tuple(m["spacing_mm"]),
        tuple(m["origin_mm"]),
        tuple(m["direction"]),
        "label",
        m.get("frame_of_reference_uid"),
    )
    folder = root / f"sub-{sub}" / f"ses-{ses}" / "anat"
    stem = f"sub-{sub}_ses-{ses}_desc-lesions_dseg"
    out = write_nifti2(vol, folder / f"{stem}.nii.gz")
    names = {int(k): str(v) for k, v in m.get("names", {}).items()}
    write_tsv(
        folder / f"{stem}.tsv",
        pd.DataFrame([{"index": k, "name": v} for k, v in sorted(names.items())]),
    )
    side: dict[str, Any] = {
        "Description": f"lesions found on the lesion-reference PET {scan_id} (immunopet)",
        "SpatialReference": _raw_pet(study, subject, scan_id, raw)
        or f"grid of the PET of scan {scan_id} (frame of reference {m.get('frame_of_reference_uid')})",
    }
    write_json(folder / f"{stem}.json", side)
    return out


_MEAS_COLUMNS = {
    "region": {"Description": "Region (organ, lesion_<n>, blood, whole_body)"},
    "region_kind": {"Description": "Kind of region", "Levels": {
        "organ": "organ label map", "lesion": "lesion found by immunopet",
        "blood": "blood pool", "whole_body": "whole field of view"}},
    "metric": {"Description": "Measured quantity (suv_max, suv_mean, volume_ml, activity_bq, ...)"},
    "value": {"Description": "Value of the metric, in the unit of the unit column"},
    "unit": {"Description": "Unit of value (UCUM-like: SUVbw = g/mL, Bq, ml, %)"},
    "time_h": {"Description": "Scan time after injection", "Units": "h"},
    "time_point_h": {"Description": "Nominal time point after injection", "Units": "h"},
}  # fmt: skip


def _write_measurements(root: Path, meas: pd.DataFrame) -> list[Path]:
    written = []
    for (subject, scan_id), rows in meas.groupby(["subject", "scan_id"], sort=False):
        sub, ses = bids_label(str(subject)), bids_label(str(scan_id))
        trc = bids_label(str(rows["tracer"].iloc[0]))
        folder = root / f"sub-{sub}" / f"ses-{ses}" / "pet"
        stem = f"sub-{sub}_ses-{ses}_trc-{trc}_desc-immunopet_measurements"
        frame = rows.drop(columns=["subject", "scan_id", "tracer", "nuclide"], errors="ignore")
        written.append(write_tsv(folder / f"{stem}.tsv", frame))
        write_json(folder / f"{stem}.json", _columns_json(frame, _MEAS_COLUMNS))
    return written


def _write_tacs(root: Path, tacs: pd.DataFrame) -> list[Path]:
    written = []
    acts = tacs[tacs["metric"] == "activity_bq"] if "metric" in tacs else tacs.iloc[0:0]
    for (subject, tracer), rows in acts.groupby(["subject", "tracer"], sort=False):
        wide = rows.pivot_table(index=["scan_id", "time_h"], columns="region", values="value")
        wide = wide.reset_index().sort_values("time_h")
        wide.insert(0, "time", wide.pop("time_h") * 3600.0)
        sub, trc = bids_label(str(subject)), bids_label(str(tracer))
        folder = root / f"sub-{sub}" / "pet"
        stem = f"sub-{sub}_trc-{trc}_desc-activity_tacs"
        written.append(write_tsv(folder / f"{stem}.tsv", wide))
        meta = {
            "time": {"Description": "Scan start after injection (TimeZero)", "Units": "s"},
            "scan_id": {"Description": "Scan (session) of the time point"},
        }
        for region in wide.columns[2:]:
            meta[str(region)] = {
                "Description": f"total activity in {region} at scan time (not decay-corrected)",
                "Units": "Bq",
            }
        write_json(folder / f"{stem}.json", meta)
    return written


def _write_subject_table(
    root: Path, frame: pd.DataFrame, desc: str, described: dict[str, dict[str, Any]]
) -> list[Path]:
    written = []
    nuclide_col = "nuclide" if "nuclide" in frame else None
    for subject, rows in frame.groupby("subject", sort=False):
        sub = bids_label(str(subject))
        tag = ""
        if nuclide_col is not None and rows[nuclide_col].notna().any():
            tag = f"_trc-{bids_label(str(rows[nuclide_col].dropna().iloc[0]))}"
        folder = root / f"sub-{sub}" / "pet"
        stem = f"sub-{sub}{tag}_desc-{desc}_dosimetry"
        body = rows.drop(columns=["subject"])
        written.append(write_tsv(folder / f"{stem}.tsv", body))
        write_json(folder / f"{stem}.json", _columns_json(body, described))
    return written


_TIA_COLUMNS = {
    "region": {"Description": "Source region"},
    "tia_bq_h": {"Description": "Time-integrated activity", "Units": "Bq.h"},
    "tiac_h": {"Description": "Time-integrated activity coefficient (TIA / A0)", "Units": "h"},
    "effective_half_life_h": {"Description": "Effective half-life of the fit", "Units": "h"},
    "injected_activity_bq": {"Description": "Injected activity A0", "Units": "Bq"},
}
_DOSE_COLUMNS = {
    "quantity": {"Description": "absorbed_dose (mGy/MBq), effective_dose (mSv/MBq), ..."},
    "target": {"Description": "Target organ or region"},
    "value": {"Description": "Dose per injected activity, or per scan, in the unit column"},
    "sd": {"Description": "Standard deviation of value (propagated TIA uncertainty)"},
    "unit": {"Description": "Unit of value and sd"},
    "phantom": {"Description": "ICRP 89 reference phantom of the S values"},
}


def write_derivatives(run_dir: str | Path, bids_root_or_out: str | Path) -> Path:
    """Write the results of the run in ``run_dir`` as ``<bids_root_or_out>/derivatives/immunopet``.

    Parameters
    ----------
    run_dir
        Output folder of a finished ``immunopet run`` (with ``tables/`` and ``study.json``).
    bids_root_or_out
        The raw BIDS dataset the run read (its ``derivatives/`` folder is written to and
        the segmentations' ``SpatialReference`` points into it), or any folder.

    Returns
    -------
    Path
        The derivative dataset's folder.

    Raises
    ------
    InputError
        ``run_dir`` holds no ``tables/`` folder.
    """
    run = Path(run_dir)
    if not (run / "tables").is_dir():
        raise InputError("no tables/ folder: not a finished `immunopet run` output", file=run)
    base = Path(bids_root_or_out)
    desc_path = base / "dataset_description.json"
    raw = None
    if desc_path.is_file():
        meta = json.loads(desc_path.read_text(encoding="utf-8"))
        raw = base if meta.get("DatasetType", "raw") == "raw" else None
    root = base / "derivatives" / DERIVATIVE_NAME
    root.mkdir(parents=True, exist_ok=True)
    study_path = run / "study.json"
    study = json.loads(study_path.read_text())["study"] if study_path.is_file() else {}
    description: dict[str, Any] = {
        "Name": f"immunopet results: {study.get('name', run.name)}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [
            {
                "Name": "immunopet",
                "Version": __version__,
                "Description": "SUV, lesions, measurements, time-activity curves, MIRD dosimetry",
            }
        ],
    }
    if raw is not None:
        description["SourceDatasets"] = [{"URL": "../../"}]
        description["DatasetLinks"] = {"raw": "../../"}
    write_json(root / "dataset_description.json", description)
    (root / ".bidsignore").write_text(_BIDSIGNORE, encoding="utf-8")
    readme = root / "README.md"
    readme.write_text(
        f"# {description['Name']}\n\nWritten by immunopet {__version__} from the run in "
        f"{run.resolve()}.\nLesion segmentations are BIDS `_dseg` files; the measurement, "
        "time-activity-curve and dosimetry tables are TSV files described by their JSON "
        "sidecars (listed in .bidsignore: BIDS has no suffix for them yet).\n",
        encoding="utf-8",
    )
    lesions = _table(run, "lesions")
    masks = _reference_lesions(run, lesions)
    for subject in sorted(
        set(lesions.get("subject", pd.Series(dtype=str)).astype(str)) - set(masks)
    ):
        warnings.warn(
            f"no lesion mask of subject {subject} in {run / '.cache'}: its _dseg is not written",
            ImmunopetWarning,
            stacklevel=2,
        )
    for bundle in masks.values():
        _write_lesion_dseg(root, bundle, study, raw)
    meas = _table(run, "measurements")
    if not meas.empty:
        _write_measurements(root, meas)
    tacs = _table(run, "tacs")
    if not tacs.empty:
        _write_tacs(root, tacs)
    tias = _table(run, "tias")
    if not tias.empty:
        _write_subject_table(root, tias, "tia", _TIA_COLUMNS)
    doses = _table(run, "doses")
    if not doses.empty:
        _write_subject_table(root, doses, "doses", _DOSE_COLUMNS)
    stats = _table(run, "statistics")
    if not stats.empty:
        write_tsv(root / "statistics.tsv", stats)
        write_json(root / "statistics.json", _columns_json(stats, {}))
    return root
