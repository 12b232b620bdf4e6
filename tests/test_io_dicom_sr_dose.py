"""Doses in the TID 1500 SR: every dose and TIA written reads back equal; one lesion is one
tracked finding across the SEGs of two time points, their measurement SRs and the dose SR.

Two I-124 PET series (24 h and 48 h, one frame of reference) are written with
:func:`write_pet_series`; a label volume with two organs and a lesion goes to one SEG per
time point with the deterministic tracking UIDs of :func:`tracking_uid`. The dose and TIA
tables are synthetic (random values in the tables' layout), since the SR must carry
whatever the tables hold. highdicom builds and re-parses the SR (its own checks); dciodvfy
(dicom3tools, optional) checks the SEG and SR when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
import pytest

from immunopet.core.errors import ImmunopetWarning, InputError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import load_scan
from immunopet.io.dicom_codes import tracking_uid
from immunopet.io.dicom_seg import write_seg
from immunopet.io.dicom_sr import write_measurement_sr
from immunopet.io.dicom_sr_dose import read_dose_sr, write_dose_sr
from immunopet.io.dicom_write import write_pet_series
from immunopet.measure import measure
from immunopet.regions import LabelMap

INJ = datetime(2024, 3, 1, 9, 0, 0)
NAMES = {1: "liver", 2: "spleen", 7: "lesion_007"}
KINDS = {1: "organ", 2: "organ", 7: "lesion"}
SUBJECT = "S1"


def _acq(hours: float) -> Acquisition:
    return Acquisition(
        nuclide=Nuclide.from_name("I-124"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=INJ + timedelta(hours=hours),
        injection_datetime=INJ,
        injected_activity_bq=74e6,
        patient_weight_kg=70.0,
        patient_height_m=1.75,
        patient_sex="F",
    )


@pytest.fixture(scope="module")
def two_time_points(tmp_path_factory):
    """{hours: (PET folder, scan, SEG path)} for 24 h and 48 h."""
    root = tmp_path_factory.mktemp("tp")
    rng = np.random.default_rng(5)
    out = {}
    for hours in (24.0, 48.0):
        arr = rng.uniform(1000.0, 10_000.0, size=(9, 10, 12))
        arr[6, 6:8, 3:5] = 40_000.0
        conc = Volume(arr, (3.0, 2.5, 4.0), (5.0, -7.0, 100.0), unit="BQML")
        folder = root / f"pet{hours:g}h"
        write_pet_series(conc, _acq(hours), folder, frame_of_reference_uid="1.2.826.0.1.99.2")
        scan = load_scan(folder)
        lab = np.zeros(scan.pet.shape, np.int32)
        lab[1:4, 2:6, 1:6] = 1
        lab[5:8, 1:4, 7:11] = 2
        lab[6, 6:8, 3:5] = 7
        labels = scan.pet.with_array(lab, "label")
        uids = {k: tracking_uid(SUBJECT, v) for k, v in NAMES.items()}
        seg = write_seg(labels, NAMES, folder, root / f"seg{hours:g}h.dcm", kinds=KINDS,
                        tracking_uids=uids)  # fmt: skip
        out[hours] = (folder, scan, labels, seg)
    return out


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(11)
    targets = ["liver", "spleen", "lesion_007", "total_body", "lesion_999"]
    rows = [
        {"subject": SUBJECT, "quantity": "absorbed_dose_per_scan", "target": t,
         "value": float(rng.uniform(1, 100)), "sd": 0.1, "unit": "mGy", "phantom": "adult"}
        for t in targets
    ] + [
        {"subject": SUBJECT, "quantity": "absorbed_dose", "target": t,
         "value": float(rng.uniform(0.1, 2)), "sd": 0.01, "unit": "mGy/MBq", "phantom": "adult"}
        for t in targets
    ] + [
        {"subject": SUBJECT, "quantity": "effective_dose_per_scan", "target": "whole_body",
         "value": float(rng.uniform(10, 50)), "sd": 0.2, "unit": "mSv", "phantom": "adult"},
        {"subject": "other", "quantity": "effective_dose_per_scan", "target": "whole_body",
         "value": 99.0, "sd": 0.2, "unit": "mSv", "phantom": "adult"},
    ]  # fmt: skip
    doses = pd.DataFrame(rows)
    tias = pd.DataFrame(
        {
            "subject": SUBJECT,
            "region": ["liver", "spleen", "lesion_007"],
            "tia_bq_h": rng.uniform(1e7, 1e10, 3),
        }
    )
    return doses, tias


@pytest.fixture(scope="module")
def dose_sr(two_time_points, tables, tmp_path_factory):
    folder, _scan, _labels, seg = two_time_points[24.0]
    doses, tias = tables
    out = tmp_path_factory.mktemp("sr") / "dose.dcm"
    with pytest.warns(ImmunopetWarning, match="total_body"):
        return write_dose_sr(doses, tias, seg, folder, out, subject=SUBJECT)


def test_every_dose_reads_back_equal(dose_sr, tables):
    doses, tias = tables
    back = read_dose_sr(dose_sr)
    got = {(r.region, r.quantity): (r.value, r.unit) for r in back.itertuples()}
    expected = {}
    for r in doses[
        (doses.subject == SUBJECT) & (doses.quantity == "absorbed_dose_per_scan")
    ].itertuples():
        expected[(r.target, "absorbed_dose_mgy")] = (r.value, "mGy")
    eff = doses[(doses.subject == SUBJECT) & (doses.quantity == "effective_dose_per_scan")]
    expected[("effective_dose", "effective_dose_msv")] = (float(eff.value.iloc[0]), "mSv")
    for r in tias.itertuples():
        expected[(r.region, "tia_mbq_h")] = (r.tia_bq_h / 1e6, "MBq.h")
    print(f"{len(expected)} values written, {len(got)} read back")
    assert got == expected  # exact: the SR keeps FloatingPointValue (FD)


def test_dose_codes_and_segment_references(dose_sr, two_time_points):
    ds = pydicom.dcmread(dose_sr)
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99IMMUNOPET"
    report = hd.sr.srread(str(dose_sr)).content  # highdicom re-parses the content tree
    report = hd.sr.MeasurementReport.from_sequence(report)
    seen = {}
    for g in report.get_volumetric_roi_measurement_groups():
        for m in g.get_measurements():
            seen[(str(g.tracking_identifier), m.name.value)] = (
                m.name.scheme_designator, m.unit.value, g.referenced_segment.referenced_segment_numbers[0]
            )  # fmt: skip
    assert seen[("liver", "128513")] == ("DCM", "mGy", 1)  # Absorbed Dose → segment 1
    assert seen[("lesion_007", "128513")] == ("DCM", "mGy", 3)
    assert seen[("lesion_007", "TIA")] == ("99IMMUNOPET", "MBq.h", 3)
    whole = {
        (str(g.tracking_identifier), m.name.value, m.unit.value)
        for g in report.get_image_measurement_groups()
        for m in g.get_measurements()
    }
    assert ("effective_dose", "113839", "mSv") in whole  # Effective Dose, DCM
    assert ("total_body", "128513", "mGy") in whole
    assert ("lesion_999", "128513", "mGy") in whole  # no segment, no anatomy code


def test_one_lesion_is_one_tracked_finding(dose_sr, two_time_points, tmp_path):
    uid = tracking_uid(SUBJECT, "lesion_007")
    for _hours, (folder, scan, labels, seg) in two_time_points.items():
        ds = pydicom.dcmread(seg, stop_before_pixels=True)
        lesion = [s for s in ds.SegmentSequence if s.SegmentLabel == "lesion_007"][0]
        assert lesion.TrackingUID == uid
        lab = np.asarray(labels.array)
        organs = LabelMap(labels.with_array(np.where(lab == 7, 0, lab)), {1: "liver", 2: "spleen"})
        les = LabelMap(labels.with_array(np.where(lab == 7, 7, 0)), {7: "lesion_007"}, "lesion")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImmunopetWarning)
            table = measure(scan, [organs, les])
        sr = write_measurement_sr(table, seg, folder, tmp_path / f"m{_hours}.dcm",
                                  subject=scan.subject_id, scan_id=scan.scan_id)  # fmt: skip
        groups = hd.sr.MeasurementReport.from_sequence(hd.sr.srread(str(sr)).content)
        uids = {str(g.tracking_identifier): str(g.tracking_uid)
                for g in groups.get_volumetric_roi_measurement_groups()}  # fmt: skip
        assert uids["lesion_007"] == uid
    back = read_dose_sr(dose_sr)
    assert set(back[back.region == "lesion_007"].tracking_uid) == {uid}
    assert tracking_uid(SUBJECT, "lesion_007") != tracking_uid("S2", "lesion_007")


def test_dose_sr_errors(two_time_points, tables, tmp_path):
    folder, _scan, _labels, seg = two_time_points[24.0]
    other_folder = two_time_points[48.0][0]
    doses, tias = tables
    with pytest.raises(InputError, match="no dose or TIA rows"):
        write_dose_sr(doses, tias, seg, folder, tmp_path / "x.dcm", subject="nobody")
    with pytest.raises(InputError, match="not made on the PET series"):
        write_dose_sr(doses, tias, seg, other_folder, tmp_path / "x.dcm", subject=SUBJECT)
    with pytest.raises(InputError, match="lacks column"):
        write_dose_sr(doses.drop(columns="phantom"), tias, seg, folder, tmp_path / "x.dcm",
                      subject=SUBJECT)  # fmt: skip
    assert not (tmp_path / "x.dcm").exists()


def _dciodvfy() -> str | None:
    found = shutil.which("dciodvfy")
    if found is None:
        candidate = Path(sys.executable).with_name("dciodvfy")
        found = str(candidate) if candidate.exists() else None
    return found


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) is not installed")
def test_dciodvfy_finds_no_error_in_seg_and_sr(dose_sr, two_time_points):
    """dciodvfy (David Clunie's IOD validator): no "Error" line for the SEG and the dose SR."""
    seg = two_time_points[24.0][3]
    for path in (seg, dose_sr):
        out = subprocess.run([_dciodvfy(), str(path)], capture_output=True, text=True, timeout=60)
        text = out.stdout + out.stderr
        errors = [ln for ln in text.splitlines() if ln.startswith("Error")]
        print(path.name, "\n".join(errors) or "no errors")
        assert errors == [], errors
