"""End-to-end tests of ``immunopet measure / lesions / match`` on generated NIfTI scans."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from immunopet.cli import main
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.measure import TABLE_COLUMNS

io = pytest.importorskip("immunopet.io")

T_SCAN = datetime(2024, 3, 5, 10, 0, 0)
INJECTED_BQ = 74e6
WEIGHT_KG = 70.0


def _acq() -> Acquisition:
    return Acquisition(
        nuclide=Nuclide.from_name("124I"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=T_SCAN,
        injection_datetime=T_SCAN - timedelta(hours=24),
        injected_activity_bq=INJECTED_BQ,
        patient_weight_kg=WEIGHT_KG,
        patient_height_m=1.7,
        patient_sex="F",
        tracer="124I-trastuzumab",
    )


def _suv_to_bqml() -> float:
    # SUVbw = C · weight_g / (A_inj · e^(−λt)) for pixels decay-corrected to scan start.
    decay = Nuclide.from_name("124I").decay_factor(24 * 3600.0)
    return INJECTED_BQ * float(decay) / (WEIGHT_KG * 1000.0)


def _ball(vol: Volume, centre_mm, radius_mm) -> np.ndarray:
    kk, jj, ii = np.indices(vol.shape)
    xyz = vol.index_to_lps(np.stack([ii, jj, kk], axis=-1).reshape(-1, 3)).reshape(*vol.shape, 3)
    return np.linalg.norm(xyz - np.asarray(centre_mm), axis=-1) <= radius_mm


def _write_scan(tmp_path, name="pet", *, shift_mm=(0.0, 0.0, 0.0)):
    """PET (2 mm voxels) with liver, muscle, heart blood, a 16 mm and an 8 mm lesion."""
    pet = Volume(np.zeros((50, 50, 50)), (2.0, 2.0, 2.0), origin_mm=(-49.0, -49.0, -49.0))
    s = np.full(pet.shape, 0.3)
    sh = np.asarray(shift_mm)
    s[_ball(pet, sh + (-20, 0, 0), 18)] = 2.0  # liver
    s[_ball(pet, sh + (25, 25, -25), 14)] = 0.8  # muscle
    s[_ball(pet, sh + (20, -20, 20), 15)] = 3.0  # heart blood
    s[_ball(pet, sh + (25, 25, 25), 8)] = 9.0  # lesion 16 mm
    s[_ball(pet, sh + (-25, 30, 30), 4)] = 7.0  # lesion 8 mm: dropped by the 1 cm rule
    path = tmp_path / f"{name}.nii.gz"
    io.write_nifti(pet.with_array(s * _suv_to_bqml(), "BQML"), path, acquisition=_acq())
    # CT (1 mm voxels would be realistic; 2.5 mm keeps the test small), same frame.
    ct = Volume(np.full((40, 40, 40), -1000.0), (2.5, 2.5, 2.5), origin_mm=(-48.75,) * 3)
    hu = np.asarray(ct.array).copy()
    hu[_ball(ct, sh, 45)] = 40.0
    hu[_ball(ct, sh + (-20, 0, 0), 18)] = 60.0
    hu[_ball(ct, sh + (0, 30, 0), 8)] = 700.0
    ct_path = tmp_path / f"{name}_ct.nii.gz"
    io.write_nifti(ct.with_array(hu.astype(np.int16), "HU"), ct_path)
    return path, ct_path, pet, s


def _write_ts_labels(tmp_path, pet: Volume) -> tuple:
    """TotalSegmentator-numbered labels on a 2.5 mm CT grid."""
    ct = Volume(np.zeros((40, 40, 40), np.int16), (2.5, 2.5, 2.5), origin_mm=(-48.75,) * 3)
    lab = np.zeros(ct.shape, np.int16)
    # drawn inside the PET inserts, so that resampling cannot mix in background
    lab[_ball(ct, (-20, 0, 0), 14)] = 5  # liver
    lab[_ball(ct, (25, 25, -25), 10) & (np.indices(ct.shape)[2] < 30)] = 88  # iliopsoas_left
    lab[_ball(ct, (25, 25, -25), 10) & (np.indices(ct.shape)[2] >= 30)] = 89  # iliopsoas_right
    lab[_ball(ct, (20, -20, 20), 15)] = 51  # heart
    path = tmp_path / "ts.nii.gz"
    io.write_nifti(ct.with_array(lab, "label"), path)
    return path


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr()


def test_measure_cli_totalsegmentator_with_auto_lesions(tmp_path, capsys):
    pet_path, _, pet, suv = _write_scan(tmp_path)
    labels = _write_ts_labels(tmp_path, pet)
    out = tmp_path / "table.csv"
    argv = ["measure", str(pet_path), "--labels", str(labels), "--labels-from", "totalsegmentator"]
    code, io_ = _run([*argv, "--lesions", "auto", "-o", str(out)], capsys)
    assert code == 0, io_.err
    df = pd.read_csv(out)
    assert tuple(df.columns) == TABLE_COLUMNS
    v = df.set_index(["region", "metric"])["value"]
    assert set(df.region) >= {"liver", "muscle", "heart", "blood", "lesion_001", "whole_body"}
    assert "lesion_002" not in set(df.region)  # the 8 mm lesion is below 1 cm
    assert v["liver", "suv_mean"] == pytest.approx(2.0, rel=1e-9)
    assert v["lesion_001", "suv_max"] == pytest.approx(9.0, rel=1e-9)
    assert v["blood", "suv_mean"] == pytest.approx(3.0, rel=1e-9)  # eroded: no spill-in
    assert v["lesion_001", "tnr_muscle"] == pytest.approx(9.0 / 0.8, rel=1e-9)
    assert v["lesion_001", "tnr_blood"] == pytest.approx(9.0 / 3.0, rel=1e-9)
    assert df.time_h.iloc[0] == pytest.approx(24.0)
    # activity at scan time of the liver = Σ C · V
    liver_ml = v["liver", "volume_ml"]
    assert v["liver", "activity_bq"] == pytest.approx(2.0 * _suv_to_bqml() * liver_ml, rel=1e-9)
    assert abs(liver_ml - 4 / 3 * math.pi * 1.4**3) / liver_ml < 0.1
    parquet = tmp_path / "table.parquet"
    code, _ = _run([*argv, "-o", str(parquet)], capsys)
    assert code == 0 and len(pd.read_parquet(parquet)) > 0


def test_lesions_cli(tmp_path, capsys):
    pet_path, _, pet, _ = _write_scan(tmp_path)
    out = tmp_path / "lesions.nii.gz"
    code, io_ = _run(["lesions", str(pet_path), "--method", "relative:0.5", "-o", str(out)], capsys)
    assert code == 0, io_.err
    table = pd.read_csv(tmp_path / "lesions.csv")
    assert len(table) >= 1
    top = table.iloc[0]
    assert top.suv_max == pytest.approx(9.0) and top.centroid_x_mm == pytest.approx(25.0, abs=1)
    img = nib.load(str(out))
    assert int(np.asarray(img.dataobj).max()) == len(table)
    code, io_ = _run(["lesions", str(pet_path), "--method", "otsu", "-o", str(out)], capsys)
    assert code == 2 and "method" in io_.err


def test_match_cli_with_ct_registration(tmp_path, capsys):
    ref_path, ref_ct, pet, suv = _write_scan(tmp_path, "fdg")
    other_path, other_ct, _, _ = _write_scan(tmp_path, "i124_24h", shift_mm=(4.0, -6.0, 2.0))
    mask = tmp_path / "ref_lesions.nii.gz"
    io.write_nifti(pet.with_array((suv >= 6.0).astype(np.uint8), "label"), mask)
    outdir = tmp_path / "match"
    argv = ["match", str(ref_path), str(other_path), "--lesions", str(mask)]
    code, io_ = _run([*argv, "--ct", str(ref_ct), "--ct", str(other_ct), "-o", str(outdir)], capsys)
    assert code == 0, io_.err
    m = pd.read_csv(outdir / "matches.csv", keep_default_na=False)
    row = m[m.reference_lesion == "lesion_001"].iloc[0]
    assert row.other_lesion == "lesion_001" and float(row.dice) > 0.7
    assert float(row.distance_mm) < 2.0  # within one PET voxel
    reg = pd.read_csv(outdir / "registration.csv")
    assert reg.translation_x_mm.iloc[0] == pytest.approx(-4.0, abs=1.0)
    carried = sitk.ReadImage(str(outdir / "i124_24h_carried_lesions.nii.gz"))
    assert sitk.GetArrayFromImage(carried).max() >= 1


def test_bad_inputs_exit_2_naming_the_file(tmp_path, capsys):
    pet_path, _, pet, suv = _write_scan(tmp_path)
    far = Volume(np.ones((5, 5, 5), np.int16), (2.0, 2.0, 2.0), origin_mm=(900.0, 0.0, 0.0))
    far_path = tmp_path / "far_labels.nii.gz"
    io.write_nifti(far.with_array(np.ones((5, 5, 5), np.int16), "label"), far_path)
    out = tmp_path / "t.csv"
    code, io_ = _run(["measure", str(pet_path), "--labels", str(far_path), "-o", str(out)], capsys)
    assert code == 2 and "far_labels.nii.gz" in io_.err and "overlap" in io_.err
    mask = tmp_path / "bad_mask.nii.gz"
    arr = (suv >= 6.0).astype(np.int16)
    arr[0, 0, 0] = 3
    io.write_nifti(pet.with_array(arr, "label"), mask)
    labels = _write_ts_labels(tmp_path, pet)
    argv = ["measure", str(pet_path), "--labels", str(labels), "--lesions", str(mask)]
    code, io_ = _run([*argv, "--mask-type", "binary", "-o", str(out)], capsys)
    assert code == 2 and "bad_mask.nii.gz" in io_.err and "0/1" in io_.err
    code, io_ = _run([*argv[:4], "-o", str(tmp_path / "t.xlsx")], capsys)
    assert code == 2 and ".csv or .parquet" in io_.err
    # a CT (no PET sidecar) given as the PET
    _, ct_path, _, _ = _write_scan(tmp_path, "other")
    code, io_ = _run(["lesions", str(ct_path), "-o", str(tmp_path / "l.nii.gz")], capsys)
    assert code == 2 and "other_ct" in io_.err


def test_measure_cli_writes_dicom_seg_and_sr(tmp_path, capsys):
    """A DICOM PET: ``measure --seg --sr`` gives a SEG (organs, lesion above them, blood)
    and a TID 1500 SR whose values equal the CSV table."""
    import json

    import pydicom

    from immunopet.io.dicom_sr import read_measurement_sr
    from immunopet.io.dicom_write import write_pet_series

    grid = Volume(np.zeros((12, 14, 16)), (4.0, 4.0, 4.0), origin_mm=(-30.0, -26.0, -22.0))
    s = np.full(grid.shape, 0.3)
    lab = np.zeros(grid.shape, np.int16)
    lab[2:10, 2:8, 2:9] = 3  # liver
    lab[2:9, 3:10, 10:15] = 5  # heart (blood pool after 5 mm erosion)
    lab[0:2, 10:14, 0:4] = 9  # muscle
    s[lab == 3], s[lab == 5], s[lab == 9] = 2.0, 3.0, 0.8
    s[4:7, 3:6, 4:7] = 9.0  # a 12 mm cube lesion inside the liver
    pet_dir = tmp_path / "pet"
    write_pet_series(
        grid.with_array(s * _suv_to_bqml(), "BQML"),
        _acq(),
        pet_dir,
        frame_of_reference_uid="1.2.826.0.1.99.7",
    )
    pet = io.load_scan(pet_dir).pet
    labels = tmp_path / "organs.nii.gz"
    io.write_nifti(pet.with_array(lab, "label"), labels)
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"3": "liver", "5": "heart", "9": "muscle"}))
    out, seg, sr = tmp_path / "t.csv", tmp_path / "regions_seg.dcm", tmp_path / "report_sr.dcm"
    argv = ["measure", str(pet_dir), "--labels", str(labels), "--labels-from", str(names)]
    argv += ["--lesions", "auto", "--min-diameter-mm", "8", "-o", str(out)]
    code, io_ = _run([*argv, "--seg", str(seg), "--sr", str(sr)], capsys)
    assert code == 0, io_.err
    df = pd.read_csv(out)
    ds = pydicom.dcmread(seg, stop_before_pixels=True)
    segments = {str(i.SegmentLabel): str(i.SegmentDescription) for i in ds.SegmentSequence}
    assert segments == {
        "liver": "immunopet label 3: liver (organ)",
        "heart": "immunopet label 5: heart (organ)",
        "muscle": "immunopet label 9: muscle (organ)",
        "lesion_001": "immunopet label 10: lesion_001 (lesion)",  # above the largest organ (9)
        "blood": "immunopet label 11: blood (blood)",
    }
    back = read_measurement_sr(sr)
    assert set(back.region) == set(df.region)  # every region, whole_body without a segment
    v = df.set_index(["region", "metric"])["value"]
    sr_v = back.set_index(["region", "metric"])["value"]
    csv_max, sr_max = v["lesion_001", "suv_max"], sr_v["lesion_001", "suv_max"]
    print(f"lesion SUVmax: CSV {csv_max:.10g}, SR {sr_max:.10g}")
    assert sr_max == pytest.approx(csv_max, rel=1e-9)
    assert sr_max == pytest.approx(9.0, rel=1e-3)  # int16 quantisation of the DICOM pixels
    for key in sr_v.index:
        assert sr_v[key] == pytest.approx(v[key], rel=1e-9), key


def test_measure_cli_refuses_seg_for_nifti_pet(tmp_path, capsys):
    pet_path, _, pet, _ = _write_scan(tmp_path)
    labels = _write_ts_labels(tmp_path, pet)
    argv = ["measure", str(pet_path), "--labels", str(labels), "-o", str(tmp_path / "t.csv")]
    code, io_ = _run([*argv, "--seg", str(tmp_path / "seg.dcm")], capsys)
    assert code == 2 and "DICOM" in io_.err and "pet.nii.gz" in io_.err
    assert len(io_.err.strip().splitlines()) == 1
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "seg.dcm").exists()
