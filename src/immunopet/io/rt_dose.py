"""Dose maps as DICOM RT Dose (written and read with pydicom).

highdicom (0.28) implements no RT Dose IOD, so the dataset is built with pydicom from the
RT Dose IOD of DICOM PS3.3 (A.18: Patient, General Study, RT Series, Frame of Reference,
General Equipment, General Image, Image Plane, Image Pixel, Multi-frame, RT Dose and SOP
Common modules):

* one multi-frame instance (SOP Class 1.2.840.10008.5.1.4.1.1.481.2), frames = slices;
* ``DoseUnits`` GY, ``DoseType`` PHYSICAL, ``DoseSummationType`` (default PLAN);
* ``PixelData`` unsigned 32-bit (or 16-bit) integers with ``DoseGridScaling`` (Gy per
  stored unit; dose = stored × scaling, C.8.8.3.4), so the stored precision is
  ``DoseGridScaling / 2``;
* ``GridFrameOffsetVector`` (3004,000C): offsets (mm) of the frames along the normal of
  the image plane, relative to ``ImagePositionPatient`` of the first frame (first = 0),
  with ``FrameIncrementPointer`` pointing at it;
* ``FrameOfReferenceUID`` of the PET the dose was computed on, and the patient and study
  of that PET when a reference dataset is given, so that viewers overlay dose and PET.

A molecular radiotherapy has no RT Plan: the Referenced RT Plan Sequence that PS3.3
requires for ``DoseSummationType`` PLAN is not written (readers accept that; a plan UID
may be added with ``referenced_rt_plan_uid``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, RTDoseStorage, RTPlanStorage, generate_uid

from ..core.errors import InputError, InvalidValueError, MissingFieldError, UnsupportedDataError
from ..core.version import __version__
from ..core.volume import Volume

__all__ = ["read_rt_dose", "write_rt_dose"]

_COPIED_FROM_REFERENCE = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "FrameOfReferenceUID",
    "PositionReferenceIndicator",
)


def _ds_text(value: float) -> str:
    """A DS value (≤ 16 characters)."""
    for digits in range(12, 4, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    raise InvalidValueError(f"cannot write {value!r} as a DICOM DS", value=value)


def write_rt_dose(
    dose: Volume,
    path: str | os.PathLike[str],
    *,
    reference: Dataset | str | os.PathLike[str] | None = None,
    frame_of_reference_uid: str | None = None,
    patient_id: str = "",
    patient_name: str = "",
    series_description: str = "immunopet voxel dose",
    dose_summation_type: str = "PLAN",
    bits: int = 32,
    referenced_rt_plan_uid: str | None = None,
) -> Path:
    """Write ``dose`` (Gy) as a DICOM RT Dose file.

    Parameters
    ----------
    dose
        Dose map in Gy (unit ``"Gy"`` or empty), ≥ 0.
    path
        Output file.
    reference
        A DICOM dataset (or file) of the PET series the dose belongs to: its patient, study
        and frame of reference are copied.
    frame_of_reference_uid
        Overrides the frame of reference (else: the reference's, then the dose Volume's,
        then a new UID).
    patient_id, patient_name
        Used when no reference is given.
    dose_summation_type
        RT Dose ``DoseSummationType`` (PS3.3 C.8.8.3).
    bits
        32 (default) or 16 bits per stored dose value.
    referenced_rt_plan_uid
        SOP Instance UID of an RT Plan, if one exists.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InvalidValueError
        Negative or non-finite doses, a unit other than Gy, bits not 16/32.
    """
    if dose.unit and dose.unit.lower() != "gy":
        raise InvalidValueError(
            f"RT Dose stores Gy; the dose map has unit {dose.unit!r}", field="unit", value=dose.unit
        )
    if bits not in (16, 32):
        raise InvalidValueError("bits must be 16 or 32", field="bits", value=bits)
    arr = np.asarray(dose.array, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or (arr.size and arr.min() < 0):
        raise InvalidValueError("RT Dose needs finite doses ≥ 0 Gy", field="dose")
    ref = (
        pydicom.dcmread(reference, stop_before_pixels=True)
        if isinstance(reference, (str, os.PathLike))
        else reference
    )

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RTDoseStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = RTDoseStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    now = datetime.now()
    ds.PatientName = patient_name or patient_id
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = generate_uid()
    ds.StudyDate, ds.StudyTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.PositionReferenceIndicator = ""
    if ref is not None:
        for key in _COPIED_FROM_REFERENCE:
            if key in ref:
                setattr(ds, key, ref.data_element(key).value)
    ds.FrameOfReferenceUID = (
        frame_of_reference_uid
        or (
            str(ref.FrameOfReferenceUID)
            if ref is not None and "FrameOfReferenceUID" in ref
            else None
        )
        or dose.frame_of_reference_uid
        or generate_uid()
    )
    ds.Modality = "RTDOSE"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 900
    ds.SeriesDescription = series_description
    ds.OperatorsName = ""
    ds.Manufacturer = "immunopet"
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = ds.StudyDate, ds.StudyTime

    dmat = dose.direction_matrix
    row_dir, col_dir = dmat[:, 0], dmat[:, 1]
    normal = np.cross(row_dir, col_dir)
    dz = dose.spacing_mm[2]
    nz, ny, nx = dose.shape
    offsets = np.arange(nz) * dz * float(dmat[:, 2] @ normal)
    ds.ImagePositionPatient = [_ds_text(v) for v in dose.origin_mm]
    ds.ImageOrientationPatient = [_ds_text(v) for v in (*row_dir, *col_dir)]
    ds.PixelSpacing = [_ds_text(dose.spacing_mm[1]), _ds_text(dose.spacing_mm[0])]
    ds.SliceThickness = _ds_text(dz)
    ds.NumberOfFrames = nz
    ds.FrameIncrementPointer = Tag(0x3004, 0x000C)
    ds.GridFrameOffsetVector = [_ds_text(v) for v in offsets]
    ds.Rows, ds.Columns = ny, nx
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = dose_summation_type
    if referenced_rt_plan_uid:
        item = Dataset()
        item.ReferencedSOPClassUID = RTPlanStorage
        item.ReferencedSOPInstanceUID = referenced_rt_plan_uid
        ds.ReferencedRTPlanSequence = DicomSequence([item])
    top = float(arr.max()) if arr.size else 0.0
    max_int = 2**bits - 1
    # The scaling is rounded to its DS text first; the values are quantised with it as stored.
    scaling_text = _ds_text(top / max_int) if top > 0 else "1"
    ds.DoseGridScaling = scaling_text
    stored = np.clip(np.round(arr / float(scaling_text)), 0, max_int)
    ds.PixelData = stored.astype(np.uint32 if bits == 32 else np.uint16).tobytes()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out


def read_rt_dose(path: str | os.PathLike[str]) -> Volume:
    """Read a DICOM RT Dose file as a :class:`~immunopet.core.volume.Volume` in Gy (float64).

    Raises
    ------
    UnsupportedDataError
        Not RT Dose, ``DoseUnits`` not GY, or unevenly spaced frames.
    MissingFieldError
        No ``DoseGridScaling`` / ``GridFrameOffsetVector`` for a multi-frame dose.
    """
    try:
        ds = pydicom.dcmread(path)
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise InputError(f"cannot read RT Dose: {exc}", file=path) from exc
    if str(ds.get("Modality", "")) != "RTDOSE":
        raise UnsupportedDataError(
            "not an RT Dose (Modality ≠ RTDOSE)", file=path, field="Modality",
            value=ds.get("Modality"),
        )  # fmt: skip
    units = str(ds.get("DoseUnits", "")).upper()
    if units != "GY":
        raise UnsupportedDataError(
            "only absolute doses (DoseUnits GY) are read", file=path, field="DoseUnits",
            value=units,
        )  # fmt: skip
    if "DoseGridScaling" not in ds:
        raise MissingFieldError("DoseGridScaling is missing", file=path, field="DoseGridScaling")
    pixels = np.asarray(ds.pixel_array, dtype=np.float64) * float(ds.DoseGridScaling)
    if pixels.ndim == 2:
        pixels = pixels[None]
    nz = pixels.shape[0]
    iop = np.asarray([float(v) for v in ds.ImageOrientationPatient])
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    if nz > 1:
        if "GridFrameOffsetVector" not in ds:
            raise MissingFieldError(
                "a multi-frame RT Dose needs GridFrameOffsetVector", file=path,
                field="GridFrameOffsetVector",
            )  # fmt: skip
        off = np.asarray([float(v) for v in ds.GridFrameOffsetVector])
        steps = np.diff(off)
        if off.size != nz or not np.allclose(steps, steps[0], rtol=1e-4, atol=1e-4):
            raise UnsupportedDataError(
                "RT Dose frames are not evenly spaced", file=path, field="GridFrameOffsetVector"
            )
        dz = float(steps[0])
    else:
        dz = float(ds.get("SliceThickness", 1.0) or 1.0)
    # A negative step means slices run against the plane normal: flip the k axis direction.
    k_dir = normal if dz > 0 else -normal
    direction = np.column_stack([row_dir, col_dir, k_dir])
    dy, dx = (float(v) for v in ds.PixelSpacing)
    return Volume(
        array=pixels,
        spacing_mm=(dx, dy, abs(dz)),
        origin_mm=tuple(float(v) for v in ds.ImagePositionPatient),  # type: ignore[arg-type]
        direction=tuple(direction.ravel()),
        unit="Gy",
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")) or None,
    )
