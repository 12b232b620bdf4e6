"""NIfTI + PET-BIDS sidecar: RAS↔LPS geometry, units, times, decay-correction reference."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import nibabel as nib
import numpy as np
import pytest

from immunopet import quant
from immunopet.core.errors import InputError, MissingFieldError, UnsupportedDataError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import find_series, load_scan, load_volume, write_nifti
from immunopet.io.nifti import read_nifti, sidecar_path

I124_HALF_LIFE_S = 4.176 * 86400.0  # ICRP-107


def oblique_volume() -> Volume:
    c, s = np.cos(0.4), np.sin(0.4)
    arr = np.arange(4 * 5 * 6, dtype=float).reshape(4, 5, 6)
    return Volume(
        arr, (1.5, 2.0, 3.0), (10.0, 20.0, 30.0), (c, -s, 0, s, c, 0, 0, 0, 1), unit="BQML"
    )


def test_affine_is_ras(tmp_path):
    vol = oblique_volume()
    path = write_nifti(vol, tmp_path / "x.nii.gz")
    img = nib.load(str(path))
    np.testing.assert_allclose(img.affine, vol.affine_ras, atol=1e-5)
    # LPS origin (10, 20, 30) is RAS (−10, −20, 30).
    np.testing.assert_allclose(img.affine[:3, 3], [-10.0, -20.0, 30.0], atol=1e-5)
    # nibabel's voxel (i, j, k) holds our array[k, j, i].
    assert img.get_fdata()[5, 2, 1] == vol.array[1, 2, 5]


def test_round_trip_geometry_and_values(tmp_path):
    vol = oblique_volume()
    back = read_nifti(write_nifti(vol, tmp_path / "x.nii"))
    assert back.same_grid(vol, tol_mm=1e-4)
    np.testing.assert_allclose(back.array, vol.array)


def test_label_map_keeps_integers(tmp_path):
    labels = Volume(np.array([[[0, 1], [2, 3]]], dtype=np.uint8), (1.0, 1.0, 1.0), unit="label")
    back = load_volume(write_nifti(labels, tmp_path / "labels.nii.gz"))
    assert np.issubdtype(back.array.dtype, np.integer)
    np.testing.assert_array_equal(back.array, labels.array)


def write_bids(tmp_path, side: dict, values: np.ndarray | None = None):
    arr = np.full((3, 4, 5), 2.0) if values is None else values
    path = write_nifti(Volume(arr, (2.0, 2.0, 2.0)), tmp_path / "sub-01_pet.nii.gz")
    sidecar_path(path).write_text(json.dumps(side))
    return path


BIDS_48H = {
    "TracerRadionuclide": "I124",
    "TracerName": "trastuzumab",
    "InjectedRadioactivity": 74.0,
    "InjectedRadioactivityUnits": "MBq",
    "TimeZero": "09:00:00",
    "ScanDate": "2024-03-01",
    "InjectionStart": 0,
    "ScanStart": 48 * 3600,
    "ImageDecayCorrected": True,
    "ImageDecayCorrectionTime": 48 * 3600,
    "Units": "kBq/mL",
    "BodyWeight": 70.0,
}


def test_bids_sidecar_48h(tmp_path):
    scan = load_scan(write_bids(tmp_path, BIDS_48H))
    acq = scan.acquisition
    assert acq.nuclide.name == "I-124" and acq.injected_activity_bq == pytest.approx(74e6)
    assert acq.injection_datetime == datetime(2024, 3, 1, 9, 0)
    assert acq.time_post_injection_h == pytest.approx(48.0)
    assert acq.decay_correction == "START" and acq.units == "BQML"
    np.testing.assert_allclose(scan.pet.array, 2000.0)  # kBq/mL → Bq/mL
    expected = 70_000.0 / (74e6 * 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S))
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-9)


def test_bids_decay_corrected_to_injection_is_admin(tmp_path):
    side = dict(BIDS_48H, ImageDecayCorrectionTime=0)
    acq = load_scan(write_bids(tmp_path, side)).acquisition
    assert acq.decay_correction == "ADMIN"
    assert quant.suv_bw_factor(acq) == pytest.approx(70_000.0 / 74e6, rel=1e-12)


def test_bids_other_decay_reference(tmp_path):
    side = dict(BIDS_48H, ImageDecayCorrectionTime=3600)
    acq = load_scan(write_bids(tmp_path, side)).acquisition
    assert acq.decay_reference_datetime == datetime(2024, 3, 1, 10, 0)
    expected = 70_000.0 / (74e6 * 2.0 ** (-3600.0 / I124_HALF_LIFE_S))
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-9)


def test_bids_not_decay_corrected(tmp_path):
    acq = load_scan(write_bids(tmp_path, dict(BIDS_48H, ImageDecayCorrected=False))).acquisition
    assert acq.decay_correction == "NONE"


def test_bids_missing_timezero(tmp_path):
    side = {k: v for k, v in BIDS_48H.items() if k != "TimeZero"}
    with pytest.raises(MissingFieldError) as info:
        load_scan(write_bids(tmp_path, side))
    assert info.value.field == "TimeZero" and info.value.file.endswith("sub-01_pet.nii.gz")


def test_bids_bad_units(tmp_path):
    with pytest.raises(UnsupportedDataError):
        load_scan(write_bids(tmp_path, dict(BIDS_48H, Units="counts")))


def test_nifti_without_sidecar_refused_for_pet(tmp_path):
    path = write_nifti(Volume(np.ones((2, 2, 2)), (1.0, 1.0, 1.0)), tmp_path / "pet.nii.gz")
    with pytest.raises(InputError, match="sidecar"):
        load_scan(path)


def test_sidecar_written_from_acquisition_round_trips(tmp_path):
    inj = datetime(2024, 3, 1, 9, 0)
    acq = Acquisition(
        nuclide=Nuclide.from_name("Zr-89"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=inj + timedelta(hours=72),
        injection_datetime=inj,
        injected_activity_bq=37e6,
        patient_weight_kg=82.0,
        patient_height_m=1.8,
        patient_sex="M",
    )
    path = write_nifti(
        Volume(np.ones((2, 2, 2)), (1.0, 1.0, 1.0)), tmp_path / "pet.nii.gz", acquisition=acq
    )
    back = load_scan(path).acquisition
    assert (back.nuclide, back.injection_datetime, back.scan_start_datetime) == (
        acq.nuclide,
        inj,
        acq.scan_start_datetime,
    )
    assert quant.suv_bw_factor(back) == pytest.approx(quant.suv_bw_factor(acq), rel=1e-12)
    assert quant.sul_factor(back) == pytest.approx(quant.sul_factor(acq), rel=1e-12)
    [info] = find_series(path)
    assert info.shape == (2, 2, 2) and info.acquisition is not None
