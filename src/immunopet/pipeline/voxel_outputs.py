"""The run's voxel dose maps as files: ``OUT/voxel/<subject>/`` (NIfTI and DICOM RT Dose).

For each subject with a ``voxel_doses`` output, per nuclide:

* ``<subject>_<nuclide>_dose_gy.nii.gz`` — the dose map (Gy for the administered activity,
  ``administered_mbq`` in ``voxel.json``), NIfTI-1 in RAS (:func:`immunopet.io.write_nifti`);
* ``<subject>_<nuclide>_rtdose.dcm`` — the same map as DICOM RT Dose
  (:func:`immunopet.io.rt_dose.write_rt_dose`) in the frame of reference of the first PET of
  the time series, with that PET's patient and study when its DICOM can be read;
* where the TIA fit gave an SD: ``<subject>_<nuclide>_dose_rel_sd.nii.gz`` (u(D)/D with
  uncorrelated voxels) and ``…_dose_rel_sd_bound.nii.gz`` (fully correlated: the upper bound),
  :mod:`immunopet.dosimetry.voxel.uncertainty`;

and ``<subject>_lesions_dseg.nii.gz`` (the lesion labels on the dose grid, when there are
lesions) and ``voxel.json`` (files, nuclides, administered activity, lesion names).

Every file is written atomically (a temporary file in the same folder, then
:func:`os.replace`), so a file that exists is complete; files of an earlier run that this
run did not write are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .store import Bundle, atomic_write_bytes, read_output
from .tables import write_errors
from .voxel_steps import bundle_volume

if TYPE_CHECKING:
    from .engine import RunSummary

__all__ = ["VOXEL_DIR", "reference_pet_file", "write_subject_voxel_maps", "write_voxel_maps"]

#: Folder of the dose maps under the run's output folder.
VOXEL_DIR = "voxel"


def _atomic_file(path: Path, write: Callable[[Path], Any]) -> Path:
    """``write(tmp_path)`` into a temporary folder beside ``path``, then rename it to ``path``.

    The temporary file keeps ``path``'s name (NIfTI writers choose gzip by the suffix).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        tmp = tmp_dir / path.name
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return path


def reference_pet_file(source: str | None, series_uid: str | None, max_files: int = 5000):  # type: ignore[no-untyped-def]
    """One DICOM file of the PET series the doses were computed on, or None.

    ``source`` is the file or folder the PET was read from; in a folder the first file (in
    sorted order) whose SeriesInstanceUID is ``series_uid`` (any PT image when None).
    """
    import pydicom

    if not source:
        return None
    root = Path(source)
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in candidates[:max_files]:
        if path.suffix.lower() in (".nii", ".gz", ".json", ".txt", ".csv"):
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["Modality", "SeriesInstanceUID"])  # fmt: skip
        except Exception:  # not DICOM: look further
            continue
        uid = str(ds.get("SeriesInstanceUID", ""))
        if (series_uid and uid == series_uid) or (not series_uid and ds.get("Modality") == "PT"):
            return path
    return None


def write_subject_voxel_maps(bundle: Bundle, folder: Path) -> list[Path]:
    """Write one subject's dose maps (see the module docstring) into ``folder``."""
    from ..io import write_nifti
    from ..io.rt_dose import write_rt_dose

    meta = bundle.meta
    subject = str(meta.get("subject", "subject"))
    ref = dict(meta.get("reference") or {})
    ref_file = reference_pet_file(ref.get("source"), ref.get("series_instance_uid"))
    written: list[Path] = []
    files: dict[str, dict[str, str]] = {}
    for nuclide in meta.get("nuclides", []):
        dose = bundle_volume(bundle, f"dose_gy_{nuclide}")
        # FFT round-off leaves |negative| doses of ~1e-7 of the maximum: RT Dose stores ≥ 0
        # (and a voxel without a TIA, ``on_failure="nan"``, has no dose).
        arr = np.nan_to_num(np.asarray(dose.array, np.float32), nan=0.0, posinf=0.0)
        dose = dose.with_array(np.maximum(arr, 0.0), unit="Gy")
        entry: dict[str, str] = {}
        nii = folder / f"{subject}_{nuclide}_dose_gy.nii.gz"
        written.append(_atomic_file(nii, lambda p, d=dose: write_nifti(d, p)))
        entry["dose_nifti"] = nii.name
        dcm = folder / f"{subject}_{nuclide}_rtdose.dcm"
        written.append(_atomic_file(dcm, lambda p, d=dose, n=nuclide: write_rt_dose(
            d, p, reference=ref_file, frame_of_reference_uid=meta.get("frame_of_reference_uid"),
            patient_id=str(ref.get("patient_id") or subject),
            series_description=f"immunopet voxel dose {n} ({meta.get('administered_mbq')} MBq)",
        )))  # fmt: skip
        entry["rt_dose"] = dcm.name
        for key, suffix in (
            ("dose_sd_gy", "dose_rel_sd"),
            ("dose_sd_bound_gy", "dose_rel_sd_bound"),
        ):
            if f"{key}_{nuclide}" not in bundle.arrays:
                continue
            sd = np.asarray(bundle.arrays[f"{key}_{nuclide}"], np.float32)
            d = np.asarray(dose.array, np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(d > 0, sd / d, 0.0).astype(np.float32)
            path = folder / f"{subject}_{nuclide}_{suffix}.nii.gz"
            written.append(_atomic_file(path, lambda p, r=dose.with_array(rel, unit="1"):
                                        write_nifti(r, p)))  # fmt: skip
            entry[suffix] = path.name
        files[nuclide] = entry
    if "labels_lesion" in bundle.arrays:
        lab = bundle_volume(bundle, "labels_lesion", unit="")
        path = folder / f"{subject}_lesions_dseg.nii.gz"
        lab = lab.with_array(np.asarray(lab.array, np.int16))
        written.append(_atomic_file(path, lambda p, v=lab: write_nifti(v, p)))
    info = {
        "subject": subject,
        "administered_mbq": meta.get("administered_mbq"),
        "unit": "Gy (for the administered activity; a predicted therapy nuclide for the same "
        "activity as the imaging)",
        "frame_of_reference_uid": meta.get("frame_of_reference_uid"),
        "reference_pet_file": None if ref_file is None else str(ref_file),
        "files": files,
        "lesion_names": (meta.get("label_names") or {}).get("lesion", {}),
    }
    written.append(atomic_write_bytes(folder / "voxel.json", json.dumps(info, indent=2).encode()))
    return written


def write_voxel_maps(out: Path, summary: RunSummary) -> list[Path]:
    """Write every subject's dose maps into ``OUT/voxel/<subject>/``; remove stale ones.

    A subject whose files cannot be written is recorded in ``summary.errors`` (and
    ``errors.json``), step ``voxel_maps``; the other subjects' files are written.
    """
    root = Path(out) / VOXEL_DIR
    written: list[Path] = []
    failed = False
    for name, path in sorted(summary.outputs.items()):
        if not name.startswith("voxel_doses/") or Path(path).suffix != ".npz":
            continue
        bundle = read_output(Path(path))
        if not isinstance(bundle, Bundle) or not bundle.meta.get("nuclides"):
            continue
        subject = str(bundle.meta.get("subject") or name.removeprefix("voxel_doses/"))
        try:
            written += write_subject_voxel_maps(bundle, root / subject)
        except Exception as exc:  # one subject's files failing never stops the others
            summary.errors.append(
                {"subject": subject, "step": "voxel_maps", "task": f"voxel_maps/{subject}",
                 "error_type": type(exc).__name__, "message": str(exc)}
            )  # fmt: skip
            failed = True
    if failed:
        write_errors(Path(out) / "errors.json", summary)
    if root.is_dir():
        keep = {p.resolve() for p in written}
        for stale in root.glob("*/*"):
            if stale.is_file() and stale.resolve() not in keep:
                stale.unlink()
    return written
