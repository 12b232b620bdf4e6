"""DICOM RT Dose written and read back (io.rt_dose)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from immunopet.core.errors import InvalidValueError, UnsupportedDataError
from immunopet.core.volume import Volume
from immunopet.io.rt_dose import read_rt_dose, write_rt_dose


def _dose(direction=(1, 0, 0, 0, 1, 0, 0, 0, 1)):
    rng = np.random.default_rng(0)
    arr = rng.gamma(2.0, 3.0, (6, 9, 11)).astype(np.float32)
    arr[0, 0, 0] = 0.0
    return Volume(arr, (1.5, 2.0, 3.0), (-100.5, 20.0, -30.25), direction, unit="Gy",
                  frame_of_reference_uid="1.2.826.0.1.3680043.8.498.1")  # fmt: skip


@pytest.mark.parametrize("bits", [32, 16])
@pytest.mark.parametrize(
    "direction",
    [(1, 0, 0, 0, 1, 0, 0, 0, 1), (1, 0, 0, 0, -1, 0, 0, 0, -1), (0, 1, 0, 0, 0, 1, 1, 0, 0)],
)
def test_round_trip_within_the_stored_precision(tmp_path, bits, direction):
    dose = _dose(direction)
    path = write_rt_dose(dose, tmp_path / "dose.dcm", patient_id="P1", bits=bits)
    back = read_rt_dose(path)
    ds = pydicom.dcmread(path)
    step = float(ds.DoseGridScaling)
    assert back.same_grid(dose)
    # quantisation: |stored × scaling − dose| ≤ scaling / 2 (+ float32 rounding of the input)
    err = np.abs(back.array - dose.array.astype(np.float64))
    assert err.max() <= step / 2 + 1e-7 * float(dose.array.max())
    assert back.unit == "Gy" and back.frame_of_reference_uid == dose.frame_of_reference_uid
    assert ds.Modality == "RTDOSE" and ds.DoseUnits == "GY" and ds.DoseType == "PHYSICAL"
    assert ds.DoseSummationType == "PLAN" and int(ds.NumberOfFrames) == dose.shape[0]
    assert ds.BitsAllocated == bits and ds.PixelRepresentation == 0
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.2"
    assert float(ds.GridFrameOffsetVector[0]) == 0.0


def test_reference_pet_frame_patient_and_study(tmp_path):
    ref = Dataset()
    ref.PatientID, ref.PatientName = "HER2-007", "Doe^Jane"
    ref.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.77"
    ref.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.78"
    path = write_rt_dose(_dose(), tmp_path / "d.dcm", reference=ref)
    ds = pydicom.dcmread(path)
    assert ds.PatientID == "HER2-007" and ds.StudyInstanceUID == ref.StudyInstanceUID
    assert ds.FrameOfReferenceUID == ref.FrameOfReferenceUID
    assert read_rt_dose(path).frame_of_reference_uid == ref.FrameOfReferenceUID


def test_bad_doses_and_files(tmp_path):
    neg = _dose().with_array(-np.ones((6, 9, 11), np.float32))
    with pytest.raises(InvalidValueError, match="≥ 0"):
        write_rt_dose(neg, tmp_path / "x.dcm")
    with pytest.raises(InvalidValueError, match="unit"):
        write_rt_dose(_dose().with_array(np.ones((6, 9, 11)), unit="mGy"), tmp_path / "x.dcm")
    other = Dataset()
    other.Modality = "PT"
    other.SOPClassUID = "1.2.840.10008.5.1.4.1.1.128"
    other.SOPInstanceUID = "1.2.3"
    other.file_meta = pydicom.dataset.FileMetaDataset()
    other.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    other.save_as(tmp_path / "pt.dcm", enforce_file_format=True)
    with pytest.raises(UnsupportedDataError, match="RTDOSE"):
        read_rt_dose(tmp_path / "pt.dcm")


def _dciodvfy() -> str | None:
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).with_name("dciodvfy")
    return str(beside) if beside.exists() else shutil.which("dciodvfy")


@pytest.mark.skipif(_dciodvfy() is None, reason="dicom3tools' dciodvfy is not installed")
def test_dciodvfy_finds_only_the_documented_missing_plan_reference(tmp_path):
    import subprocess

    # 16-bit: dciodvfy (dicom3tools) asserts on 32-bit OW pixel data it cannot word-swap.
    path = write_rt_dose(_dose(), tmp_path / "d.dcm", patient_id="P1", patient_name="Doe^P1",
                         bits=16)  # fmt: skip
    out = subprocess.run([_dciodvfy(), str(path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
    # A radiopharmaceutical therapy has no RT Plan to reference (module docstring).
    assert errors == [
        "Error - Missing attribute Type 1C Conditional Element=<ReferencedRTPlanSequence> "
        "Module=<RTDose>"
    ]
