"""Write synthetic PET and CT series as real DICOM files (demo, tests, trial simulator).

PET is written in one of several vendor *flavours*, each exercising one rule
of the QIBA vendor-neutral SUV pseudo-code (see :mod:`immunopet.quant`):

``"siemens"``
    Units BQML, SeriesDate/Time = AcquisitionDate/Time = scan start,
    RadiopharmaceuticalStartDateTime present.
``"ge"``
    Units BQML; SeriesTime is written *after* the acquisition (GE sets it at
    reconstruction) and bed positions get increasing AcquisitionTimes: the
    reader must take the earliest AcquisitionDate/Time as scan start.
``"philips"``
    Units CNTS with the private "Philips PET Private Group" (7053,1000) SUV
    scale factor and (7053,1009) activity-concentration scale factor.
``"generic"``
    Units BQML, no vendor specifics; with ``acq.decay_correction == "ADMIN"``
    the stored values are decay-corrected to the injection time.

``injection_time_only=True`` drops RadiopharmaceuticalStartDateTime and keeps
only RadiopharmaceuticalStartTime (the delayed-imaging hazard).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ..core.scan import Acquisition
from ..core.volume import Volume
from .pet_header import GE_CREATOR, PHILIPS_CREATOR

__all__ = ["Flavour", "write_ct_series", "write_pet_series"]

Flavour = Literal["siemens", "ge", "philips", "generic"]

PET_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"  # PET Image Storage
CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
_MANUFACTURER = {
    "siemens": "SIEMENS",
    "ge": "GE MEDICAL SYSTEMS",
    "philips": "Philips Medical Systems",
    "generic": "immunopet",
}
#: Philips (7053,1009) value written by the "philips" flavour (Bq/mL per rescaled count).
PHILIPS_ACTIVITY_SCALE = 3.7


def _da(dt: datetime) -> str:
    return dt.strftime("%Y%m%d")


def _tm(dt: datetime) -> str:
    return dt.strftime("%H%M%S.%f")


def _dt(dt: datetime) -> str:
    return dt.strftime("%Y%m%d%H%M%S.%f")


def _nuclide_code(name: str) -> tuple[str | None, str | None, str]:
    """(code value, scheme, meaning) from DICOM CID 4020 for a canonical nuclide name."""
    from pydicom.sr.codedict import codes

    from ..core.nuclides import parse_nuclide_name

    for concept in codes.cid4020.concepts.values():
        try:
            if parse_nuclide_name(concept.meaning) == name:
                return str(concept.value), str(concept.scheme_designator), str(concept.meaning)
        except Exception:  # noqa: BLE001 - CID entries that are not nuclides
            continue
    symbol, mass = name.split("-", 1)
    return None, None, f"^{mass}^{symbol}"


def _base_dataset(
    volume: Volume,
    *,
    modality: str,
    sop_class: str,
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    patient_id: str,
    patient_name: str,
    series_number: int,
    description: str,
    when: datetime,
) -> Dataset:
    """The header every slice of a series shares; :func:`_set_slice` adds the slice's own."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.PatientID = patient_id
    ds.PatientName = patient_name or patient_id
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.StudyDate, ds.StudyTime = _da(when), _tm(when)
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    dmat = volume.direction_matrix
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*dmat[:, 0], *dmat[:, 1])]
    ds.PixelSpacing = [f"{volume.spacing_mm[1]:.6f}", f"{volume.spacing_mm[0]:.6f}"]
    ds.SliceThickness = f"{volume.spacing_mm[2]:.6f}"
    ds.Rows, ds.Columns = volume.shape[1], volume.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    return ds


def _set_slice(ds: Dataset, volume: Volume, k: int) -> None:
    """Slice ``k``'s own header values: a new SOP instance, its number and position.

    The series' dataset is reused from slice to slice (building one per slice cost
    ~1 ms of pydicom attribute handling each, most of the writing time).
    """
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = k + 1
    dmat = volume.direction_matrix
    ipp = np.asarray(volume.origin_mm) + dmat[:, 2] * volume.spacing_mm[2] * k
    ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]


def _store_int16(ds: Dataset, plane: np.ndarray, intercept: float = 0.0) -> None:
    """Store a float plane as int16 with its own RescaleSlope (per slice, as scanners do)."""
    peak = float(np.max(np.abs(plane - intercept))) if plane.size else 0.0
    # DS holds 16 characters: round the slope first, then quantise with the slope as stored.
    slope_text = f"{peak / 32000.0:.10g}" if peak > 0 else "1"
    stored = np.round((plane - intercept) / float(slope_text)).astype(np.int16)
    ds.RescaleSlope = slope_text
    ds.RescaleIntercept = f"{intercept:.10g}"
    ds.PixelData = stored.tobytes()


def _philips_suv_scale(acq: Acquisition) -> float | None:
    """What a Philips scanner writes in (7053,1000): Bq/mL scale × weight_g / decayed dose."""
    if None in (acq.patient_weight_kg, acq.injected_activity_bq, acq.injection_datetime):
        return None
    assert acq.scan_start_datetime is not None and acq.injection_datetime is not None
    elapsed_s = (acq.scan_start_datetime - acq.injection_datetime).total_seconds()
    if acq.decay_correction == "ADMIN":
        elapsed_s = 0.0
    decayed_bq = float(acq.injected_activity_bq) * float(acq.nuclide.decay_factor(elapsed_s))  # type: ignore[arg-type]
    return PHILIPS_ACTIVITY_SCALE * float(acq.patient_weight_kg) * 1000.0 / decayed_bq  # type: ignore[arg-type]


def write_pet_series(
    volume_bq_per_ml: Volume,
    acq: Acquisition,
    out_dir: str | os.PathLike[str],
    *,
    flavour: Flavour = "siemens",
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    patient_id: str | None = None,
    patient_name: str = "",
    series_number: int = 1,
    injection_time_only: bool = False,
    slices_per_bed: int = 20,
    bed_duration_s: float = 180.0,
    ge_series_delay_s: float = 1800.0,
    file_prefix: str = "PT",
) -> list[Path]:
    """Write ``volume_bq_per_ml`` as a PET DICOM series in ``out_dir``.

    Parameters
    ----------
    volume_bq_per_ml
        Activity concentration physically present at ``acq.scan_start_datetime`` (Bq/mL).
    acq
        Header content: nuclide, times, dose, patient data, decay correction.
        ``scan_start_datetime`` is required; ``None`` values are left out of the header.
    flavour
        Vendor convention (module docstring).
    injection_time_only
        Write RadiopharmaceuticalStartTime only (no date).

    Returns
    -------
    list of Path
        The files written, one per slice.
    """
    if acq.scan_start_datetime is None:
        raise ValueError("write_pet_series needs acq.scan_start_datetime")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = acq.scan_start_datetime
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or acq.series_instance_uid or generate_uid()
    frame_uid = frame_of_reference_uid or volume_bq_per_ml.frame_of_reference_uid or generate_uid()
    patient_id = patient_id or acq.patient_id or "SUBJ-001"
    conc = np.asarray(volume_bq_per_ml.array, dtype=np.float64)
    if acq.decay_correction == "ADMIN":
        if acq.injection_datetime is None:
            raise ValueError("ADMIN decay correction needs acq.injection_datetime")
        elapsed_s = (start - acq.injection_datetime).total_seconds()
        conc = conc / float(acq.nuclide.decay_factor(elapsed_s))
    units = "CNTS" if flavour == "philips" else "BQML"
    stored = conc / PHILIPS_ACTIVITY_SCALE if flavour == "philips" else conc
    series_dt = start + timedelta(seconds=ge_series_delay_s) if flavour == "ge" else start
    code_value, scheme, meaning = _nuclide_code(acq.nuclide.name)
    ds = _base_dataset(
        volume_bq_per_ml,
        modality="PT",
        sop_class=PET_SOP_CLASS,
        study_uid=study_uid,
        series_uid=series_uid,
        frame_uid=frame_uid,
        patient_id=patient_id,
        patient_name=patient_name,
        series_number=series_number,
        description=acq.series_description or f"PET {acq.tracer or acq.nuclide.name}",
        when=start,
    )
    ds.Manufacturer = _MANUFACTURER[flavour]
    ds.SeriesDate, ds.SeriesTime = _da(series_dt), _tm(series_dt)
    ds.Units = units
    ds.DecayCorrection = acq.decay_correction
    ds.CorrectedImage = ["ATTN", "DECY"] if acq.decay_correction != "NONE" else ["ATTN"]
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    if acq.frame_duration_s is not None:
        ds.ActualFrameDuration = int(round(acq.frame_duration_s * 1000))
    ds.FrameReferenceTime = "0"
    if acq.patient_weight_kg is not None:
        ds.PatientWeight = f"{acq.patient_weight_kg:.6g}"
    if acq.patient_height_m is not None:
        ds.PatientSize = f"{acq.patient_height_m:.6g}"
    if acq.patient_sex:
        ds.PatientSex = acq.patient_sex
    info = Dataset()
    info.Radiopharmaceutical = acq.tracer or acq.nuclide.name
    if acq.injection_datetime is not None:
        info.RadiopharmaceuticalStartTime = _tm(acq.injection_datetime)
        if not injection_time_only:
            info.RadiopharmaceuticalStartDateTime = _dt(acq.injection_datetime)
    if acq.injected_activity_bq is not None:
        info.RadionuclideTotalDose = f"{acq.injected_activity_bq:.10g}"[:16]
    info.RadionuclideHalfLife = f"{acq.header_half_life_s or acq.nuclide.half_life_s:.10g}"[:16]
    code = Dataset()
    if code_value:
        code.CodeValue, code.CodingSchemeDesignator = code_value, scheme
    code.CodeMeaning = meaning
    info.RadionuclideCodeSequence = DicomSequence([code])
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([info])
    if flavour == "philips":
        block = ds.private_block(0x7053, PHILIPS_CREATOR, create=True)
        block.add_new(0x09, "DS", f"{PHILIPS_ACTIVITY_SCALE:.10g}")
        suv_scale = acq.vendor_suv_bw_factor or _philips_suv_scale(acq)
        if suv_scale is not None:
            block.add_new(0x00, "DS", f"{suv_scale:.10g}"[:16])
    if flavour == "ge":
        ge = ds.private_block(0x0009, GE_CREATOR, create=True)
        ge.add_new(0x01, "LO", "GE_PET")  # marks the block; (0009,100D) left out on purpose
    files = []
    for k in range(volume_bq_per_ml.shape[0]):
        _set_slice(ds, volume_bq_per_ml, k)
        bed = k // slices_per_bed if flavour == "ge" else 0
        acq_dt = start + timedelta(seconds=bed * bed_duration_s)
        ds.AcquisitionDate, ds.AcquisitionTime = _da(acq_dt), _tm(acq_dt)
        _store_int16(ds, stored[k])
        path = out / f"{file_prefix}{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def write_ct_series(
    volume_hu: Volume,
    out_dir: str | os.PathLike[str],
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    patient_id: str = "SUBJ-001",
    patient_name: str = "",
    series_number: int = 2,
    acquisition_datetime: datetime | None = None,
    file_prefix: str = "CT",
) -> list[Path]:
    """Write ``volume_hu`` (Hounsfield units) as a CT DICOM series; returns the files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    when = acquisition_datetime or datetime(2024, 1, 1, 9, 0, 0)
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = frame_of_reference_uid or volume_hu.frame_of_reference_uid or generate_uid()
    hu = np.asarray(volume_hu.array, dtype=np.float64)
    ds = _base_dataset(
        volume_hu,
        modality="CT",
        sop_class=CT_SOP_CLASS,
        study_uid=study_uid,
        series_uid=series_uid,
        frame_uid=frame_uid,
        patient_id=patient_id,
        patient_name=patient_name,
        series_number=series_number,
        description="CT low dose",
        when=when,
    )
    ds.Manufacturer = "immunopet"
    ds.SeriesDate, ds.SeriesTime = _da(when), _tm(when)
    ds.AcquisitionDate, ds.AcquisitionTime = _da(when), _tm(when)
    ds.RescaleType = "HU"
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    files = []
    for k in range(volume_hu.shape[0]):
        _set_slice(ds, volume_hu, k)
        ds.PixelData = np.clip(np.round(hu[k] + 1024.0), -32768, 32767).astype(np.int16).tobytes()
        path = out / f"{file_prefix}{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def rename_shuffled(files: Sequence[Path], seed: int = 0) -> list[Path]:
    """Give ``files`` random names (tests: slice order must not come from file names)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    out = []
    tmp = [f.with_name(f"tmp_{i}.part") for i, f in enumerate(files)]
    for f, t in zip(files, tmp, strict=True):
        f.rename(t)
    for i, t in zip(order, tmp, strict=True):
        target = t.with_name(f"z{int(i):05d}_{rng.integers(1_000_000):06d}.dcm")
        t.rename(target)
        out.append(target)
    return out
