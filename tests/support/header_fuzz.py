"""Header fuzzing for PET ingest: a small valid series in memory, and mutations of its header.

The base series is 3 slices of 8 × 8 int16 (Siemens-like BQML, Philips CNTS with
private factors, or GE with a late SeriesTime and the private scan date-time),
serialised once; each case re-reads the bytes with pydicom (elements stay raw,
as from a file), replaces 1–3 header fields in one slice or all with a raw element
(deleted, empty, wrong VR, garbage, extreme numbers, wrong value counts), and runs
``load_scan`` + ``suv_volume`` in-process.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian

from immunopet.core.errors import ImmunopetError
from immunopet.io import load_scan
from immunopet.quant import suv_volume
from immunopet.quant.suv import ACTIVITY_CEILING

TOP = "top"
INFO = "info"
CODE = "code"

#: Every header field ingest reads: (location, tag or keyword).
FIELDS: list[tuple[str, object]] = [
    (TOP, kw)
    for kw in (
        "PatientWeight PatientSize PatientSex Units DecayCorrection CorrectedImage SeriesDate "
        "SeriesTime AcquisitionDate AcquisitionTime AcquisitionDateTime ActualFrameDuration "
        "FrameReferenceTime DecayFactor RescaleSlope RescaleIntercept PixelSpacing "
        "ImagePositionPatient ImageOrientationPatient SliceThickness SpacingBetweenSlices Rows "
        "Columns BitsAllocated BitsStored PixelRepresentation NumberOfFrames SUVType "
        "TimezoneOffsetFromUTC Modality SeriesInstanceUID SOPClassUID InstanceNumber "
        "Manufacturer PatientID SeriesDescription RadiopharmaceuticalInformationSequence "
        "SeriesNumber FrameOfReferenceUID StudyInstanceUID"
    ).split()
]
FIELDS += [(TOP, 0x00091000 | 0x0D), (TOP, 0x70531000), (TOP, 0x70531009), (TOP, 0x70530010)]
FIELDS += [
    (INFO, kw)
    for kw in (
        "RadiopharmaceuticalStartDateTime RadiopharmaceuticalStartTime RadionuclideTotalDose "
        "RadionuclideHalfLife Radiopharmaceutical Radionuclide RadionuclideCodeSequence"
    ).split()
]
FIELDS += [(CODE, kw) for kw in ("CodeValue", "CodingSchemeDesignator", "CodeMeaning")]

#: Raw values written in place of a field (bytes as they would be in the file).
VALUES: list[bytes] = [
    b"",
    b"abc",
    b"NOTADATE",
    b"NOTANUMBER",
    b"1e309",
    b"-1e309",
    b"nan",
    b"inf",
    b"0",
    b"-1",
    b"1e-300",
    b"1e300",
    b"7",
    b"250061",
    b"250000",
    b"20241399",
    b"99999999999999",
    b"2024",
    b"12:34",
    b"1\\2",
    b"3\\4\\5\\6",
    b"1\\0\\0\\0\\1\\0\\0",
    b"\xff\xfe\x00\x01",
    b"F^18^[^18^Fluorine]",
    b"124I-trastuzumab",
    b"C-111A1",
    b"+2500",
    b"20240301083000+0100",
]
#: How a field is replaced: its dictionary VR, or a wrong one.
OPS = ("delete", "value", "value", "value", "wrong_vr_text", "wrong_vr_sq", "wrong_vr_binary")


@dataclass
class Counts:
    """What the cases ended in."""

    cases: int = 0
    ok: int = 0
    immunopet_errors: int = 0
    crashes: list[str] = field(default_factory=list)
    absurd: list[str] = field(default_factory=list)
    error_types: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"fuzz: {self.cases} cases, {self.ok} loaded with finite plausible SUVs, "
            f"{self.immunopet_errors} ImmunopetError ({self.error_types}), "
            f"{len(self.crashes)} other exceptions, {len(self.absurd)} absurd SUVs returned"
        )


def _slice(k: int, flavour: str, series_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.128"
    meta.MediaStorageSOPInstanceUID = f"1.2.826.0.1.3680043.10.999.{k + 1}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "PT"
    ds.Manufacturer = {"philips": "Philips", "ge": "GE MEDICAL SYSTEMS"}.get(flavour, "SIEMENS")
    ds.PatientID = "FUZZ"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.999.1"
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.10.999.3"
    ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    ds.SeriesDescription = "fuzz"
    scan = datetime(2024, 3, 1, 10, 0, 0)
    series = scan + timedelta(minutes=30) if flavour == "ge" else scan
    ds.SeriesDate, ds.SeriesTime = "20240301", series.strftime("%H%M%S")
    ds.AcquisitionDate, ds.AcquisitionTime = "20240301", scan.strftime("%H%M%S")
    ds.PatientWeight, ds.PatientSize, ds.PatientSex = "70", "1.75", "F"
    ds.Units = "CNTS" if flavour == "philips" else "BQML"
    ds.DecayCorrection = "START"
    ds.CorrectedImage = ["ATTN", "DECY"]
    ds.ActualFrameDuration = 180000
    ds.FrameReferenceTime = "90000"
    ds.DecayFactor = f"{2 ** (90.0 / 6586.2):.6f}"
    ds.ImagePositionPatient = ["-16", "-16", f"{3.0 * k:g}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["4", "4"]
    ds.SliceThickness = "3"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = "0.5"
    ds.RescaleIntercept = "0"
    rng = np.random.default_rng(k)
    ds.PixelData = rng.integers(0, 30000, size=(8, 8), dtype=np.int16).tobytes()
    info = Dataset()
    info.Radiopharmaceutical = "FDG"
    info.RadiopharmaceuticalStartTime = "090000"
    info.RadiopharmaceuticalStartDateTime = "20240301090000"
    info.RadionuclideTotalDose = "350000000"
    info.RadionuclideHalfLife = "6586.2"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-111A1", "SRT", "^18^Fluorine"
    info.RadionuclideCodeSequence = DicomSequence([code])
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([info])
    if flavour == "philips":
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        block.add_new(0x00, "DS", "0.0003")
        block.add_new(0x09, "DS", "1.5")
    if flavour == "ge":
        block = ds.private_block(0x0009, "GEMS_PETD_01", create=True)
        block.add_new(0x0D, "DT", "20240301100000")
    return ds


FLAVOURS = ("siemens", "philips", "ge")


def base_series_bytes(flavour: str) -> list[bytes]:
    """The base series of ``flavour`` serialised, one bytes object per slice."""
    out = []
    for k in range(3):
        buf = io.BytesIO()
        uid = f"1.2.826.0.1.3680043.10.999.2.{FLAVOURS.index(flavour) + 1}"
        pydicom.dcmwrite(buf, _slice(k, flavour, uid), enforce_file_format=True)
        out.append(buf.getvalue())
    return out


_BASES: dict[str, list[bytes]] = {}


def _read(blob: bytes, name: str) -> Dataset:
    ds = pydicom.dcmread(io.BytesIO(blob))
    ds.filename = name
    return ds


def _target(ds: Dataset, where: str) -> Dataset | None:
    if where == TOP:
        return ds
    info = _first_item(ds, "RadiopharmaceuticalInformationSequence")
    if where == INFO or info is None:
        return info
    return _first_item(info, "RadionuclideCodeSequence")


def _first_item(ds: Dataset, keyword: str) -> Dataset | None:
    """The first item of a sequence still intact after earlier mutations, else None."""
    try:
        seq = ds.get(keyword)
    except Exception:  # noqa: BLE001 - already mutated into something unreadable
        return None
    if isinstance(seq, DicomSequence) and len(seq) and isinstance(seq[0], Dataset):
        return seq[0]
    return None


def _tag(key: object) -> int:
    if isinstance(key, int):
        return key
    return int(pydicom.datadict.tag_for_keyword(str(key)))  # type: ignore[arg-type]


def mutate(ds: Dataset, where: str, key: object, op: str, value: bytes) -> None:
    """Replace one field of ``ds`` (or of its radiopharmaceutical / code item) by a raw element."""
    target = _target(ds, where)
    if target is None:
        return
    tag = _tag(key)
    if op == "delete":
        if tag in target:
            del target[tag]
        return
    if op == "wrong_vr_sq":
        vr, raw = "SQ", b""
    elif op == "wrong_vr_text":
        vr, raw = "LO", value or b"abc"
    elif op == "wrong_vr_binary":
        vr, raw = "US", (value + b"\x00")[: max(2, len(value) // 2 * 2)]
    else:
        try:
            vr = pydicom.datadict.dictionary_VR(tag)
        except KeyError:
            vr = "LO"
        if vr == "SQ":
            vr, raw = "LO", value
        elif vr in ("US", "SS", "UL", "SL", "FL", "FD", "OB", "OW"):
            raw = (value + b"\x00\x00")[: max(2, len(value) // 2 * 2)]
        else:
            raw = value
    if len(raw) % 2:
        raw += b" "
    target[tag] = RawDataElement(tag, vr, len(raw), raw, 0, False, True)


def run_case(flavour: str, mutations: list[tuple[int, str, int, bytes]], counts: Counts) -> None:
    """One case: mutate (field index, op, slice or -1 for all, value), then ingest and check."""
    blobs = _BASES.get(flavour)
    if blobs is None:
        blobs = _BASES[flavour] = base_series_bytes(flavour)
    datasets = [_read(b, f"<fuzz slice {k}>") for k, b in enumerate(blobs)]
    for field_index, op, which, value in mutations:
        where, key = FIELDS[field_index]
        for k, ds in enumerate(datasets):
            if which < 0 or which == k:
                mutate(ds, where, key, op, value)
    counts.cases += 1
    described = [f"{FIELDS[i][1]}:{op}:{'all' if w < 0 else w}:{v!r}" for i, op, w, v in mutations]
    try:
        scan = load_scan(datasets)
        suv = suv_volume(scan).array
    except ImmunopetError as exc:
        counts.immunopet_errors += 1
        name = type(exc).__name__
        counts.error_types[name] = counts.error_types.get(name, 0) + 1
        return
    except Exception as exc:  # noqa: BLE001 - the harness counts what it must never see
        counts.crashes.append(f"{type(exc).__name__}: {exc} <- {described}"[:400])
        return
    weight_g = float(scan.acquisition.patient_weight_kg or 0.0) * 1000.0
    voxel_ml = float(np.prod(scan.pet.spacing_mm)) / 1000.0
    ceiling = ACTIVITY_CEILING * weight_g / voxel_ml if weight_g else math.inf
    if not np.isfinite(suv).all() or float(np.max(suv)) > ceiling:
        counts.absurd.append(f"SUVmax {np.max(suv)!r} (ceiling {ceiling:.3g}) <- {described}")
        return
    counts.ok += 1
