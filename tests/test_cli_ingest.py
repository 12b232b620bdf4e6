"""End-to-end CLI: ``immunopet info --json``, ``immunopet suv``, ``immunopet demo``, error exits.

SUV factors are checked against a hand QIBA computation (ICRP-107 half-life written
out); errors must exit with code 2 and one line naming the file and the field.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io.dicom_write import PHILIPS_ACTIVITY_SCALE, write_ct_series, write_pet_series
from support.cli import run_cli as run

I124_HALF_LIFE_S = 4.176 * 86400.0  # ICRP-107
INJ = datetime(2024, 3, 1, 9, 0, 0)


def hand_factor(
    hours: float, weight_kg: float = 70.0, dose_bq: float = 74e6, scale: float = 1.0
) -> float:
    """QIBA SUVbw factor: scale · weight_g / (dose · 2^(−Δt/T½))."""
    return scale * weight_kg * 1000.0 / (dose_bq * 2.0 ** (-(hours * 3600.0) / I124_HALF_LIFE_S))


def conc() -> Volume:
    arr = np.random.default_rng(1).uniform(1000.0, 10_000.0, size=(6, 5, 4))
    return Volume(arr, (3.0, 3.0, 4.0), (5.0, -7.0, 100.0), unit="BQML")


def acq(hours: float = 48.0, **kw) -> Acquisition:
    base = dict(
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
    base.update(kw)
    return Acquisition(**base)


def test_info_json(tmp_path, capsys):
    vol = conc()
    write_pet_series(
        vol, acq(), tmp_path / "pet", flavour="philips", frame_of_reference_uid="1.2.3"
    )
    write_ct_series(
        vol.with_array(np.zeros(vol.shape), "HU"), tmp_path / "ct", frame_of_reference_uid="1.2.3"
    )
    code, out, _ = run(["info", tmp_path, "--json"], capsys)
    assert code == 0
    series = json.loads(out)["series"]
    assert [s["modality"] for s in series] == ["PT", "CT"]
    pet = series[0]
    for key in (
        "modality", "series_instance_uid", "nuclide", "half_life_s", "injected_activity_bq",
        "injection_datetime", "scan_start_datetime", "patient_weight_kg", "units",
        "decay_correction", "suv_bw_factor", "sul_factor", "shape", "spacing_mm",
    ):  # fmt: skip
        assert key in pet
    assert (
        pet["nuclide"] == "I-124" and pet["units"] == "CNTS" and pet["decay_correction"] == "START"
    )
    assert pet["half_life_s"] == pytest.approx(I124_HALF_LIFE_S)
    assert pet["shape"] == [6, 5, 4] and pet["spacing_mm"] == pytest.approx([3.0, 3.0, 4.0])
    assert pet["injection_datetime"] == "2024-03-01T09:00:00"
    assert pet["scan_start_datetime"] == "2024-03-03T09:00:00"
    # QIBA CNTS branch: (7053,1009) · weight_g / decayed dose.
    assert pet["suv_bw_factor"] == pytest.approx(
        hand_factor(48.0, scale=PHILIPS_ACTIVITY_SCALE), rel=1e-6
    )
    lbm = 9270.0 * 70.0 / (8780.0 + 244.0 * 70.0 / 1.75**2)  # Janmahasatian 2005, female
    assert pet["sul_factor"] == pytest.approx(pet["suv_bw_factor"] * lbm / 70.0, rel=1e-9)


@pytest.mark.parametrize(
    ("flavour", "decay", "scale", "hours"),
    [
        ("siemens", "START", 1.0, 48.0),  # QIBA BQML/START, delayed 48 h 124I scan
        ("generic", "ADMIN", 1.0, 0.0),  # QIBA ADMIN: dose not decayed (Δt = 0)
        ("ge", "START", 1.0, 48.0),  # QIBA: SeriesTime later than AcquisitionTime → acquisition
        ("philips", "START", PHILIPS_ACTIVITY_SCALE, 48.0),  # QIBA CNTS × (7053,1009)
    ],
)
def test_info_json_factor_matches_qiba(tmp_path, capsys, flavour, decay, scale, hours):
    write_pet_series(
        conc(), acq(decay_correction=decay), tmp_path, flavour=flavour, slices_per_bed=2
    )
    code, out, _ = run(["info", tmp_path, "--json"], capsys)
    [pet] = json.loads(out)["series"]
    assert code == 0 and pet["decay_correction"] == decay
    assert pet["suv_bw_factor"] == pytest.approx(hand_factor(hours, scale=scale), rel=1e-6)


def stored_values(folder: Path) -> np.ndarray:
    """Rescaled pixel values read with plain pydicom, slices sorted by z (independent reader)."""
    slices = [pydicom.dcmread(f) for f in folder.glob("*.dcm")]
    slices.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    return np.stack(
        [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in slices]
    )


def test_info_json_reports_uncomputable_pet(tmp_path, capsys):
    write_pet_series(conc(), acq(patient_weight_kg=None), tmp_path)
    code, out, _ = run(["info", tmp_path, "--json"], capsys)
    assert code == 0
    [pet] = json.loads(out)["series"]
    assert pet["suv_bw_factor"] is None and pet["sul_factor"] is None
    assert "PatientWeight" in pet["error"]


def test_info_table(tmp_path, capsys):
    write_pet_series(conc(), acq(), tmp_path)
    code, out, _ = run(["info", tmp_path], capsys)
    assert code == 0 and "I-124" in out and "BQML" in out


@pytest.mark.parametrize(("kind", "flavour"), [("bw", "ge"), ("sul", "siemens"), ("bw", "philips")])
def test_suv_writes_nifti(tmp_path, capsys, kind, flavour):
    vol = conc()
    write_pet_series(vol, acq(), tmp_path / "dicom", flavour=flavour, slices_per_bed=2)
    out_path = tmp_path / "suv.nii.gz"
    code, out, err = run(["suv", tmp_path / "dicom", "-o", out_path, "--kind", kind], capsys)
    assert code == 0, err
    img = nib.load(str(out_path))
    np.testing.assert_allclose(img.affine, vol.affine_ras, atol=1e-4)
    data = np.transpose(img.get_fdata(), (2, 1, 0))
    factor = hand_factor(48.0)
    if kind == "sul":
        factor *= 9270.0 / (8780.0 + 244.0 * 70.0 / 1.75**2)  # LBM/W, Janmahasatian 2005
    np.testing.assert_allclose(data, vol.array * factor, rtol=1e-3)
    # Exactly: stored (rescaled) values × the hand QIBA factor, to 1e-6.
    scale = PHILIPS_ACTIVITY_SCALE if flavour == "philips" else 1.0
    np.testing.assert_allclose(data, stored_values(tmp_path / "dicom") * factor * scale, rtol=1e-6)
    side = json.loads(out_path.with_name("suv.json").read_text())
    assert side["Units"] == "g/mL" and side["TracerRadionuclide"] == "I124"


def test_suv_overrides(tmp_path, capsys):
    vol = conc()
    write_pet_series(
        vol,
        acq(49.0, patient_weight_kg=None, injected_activity_bq=None),
        tmp_path / "d",
        injection_time_only=True,
    )
    out_path = tmp_path / "suv.nii.gz"
    argv = ["suv", tmp_path / "d", "-o", out_path, "--weight-kg", 80, "--injected-mbq", 100,
            "--injection-datetime", "2024-03-01T09:00:00"]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 0, err
    data = np.transpose(nib.load(str(out_path)).get_fdata(), (2, 1, 0))
    factor = hand_factor(49.0, weight_kg=80.0, dose_bq=100e6)
    np.testing.assert_allclose(data, vol.array * factor, rtol=1e-3)
    np.testing.assert_allclose(data, stored_values(tmp_path / "d") * factor, rtol=1e-6)


# --- error paths: exit code 2, one line naming file and field -----------------------------


def _set_info(field, value):
    def edit(ds):
        item = ds.RadiopharmaceuticalInformationSequence[0]
        if value is None:
            delattr(item, field)
        else:
            setattr(item, field, value)

    return edit


def _edit(folder: Path, fn) -> None:
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        fn(ds)
        ds.save_as(f)


def _unknown_nuclide(ds):
    code = ds.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0]
    code.CodeValue, code.CodeMeaning = "999999", "^999^Unobtainium"
    ds.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical = "mystery"
    ds.SeriesDescription = "PET"


ERROR_CASES = {
    "missing weight": (lambda ds: delattr(ds, "PatientWeight"), "PatientWeight"),
    "zero weight": (lambda ds: setattr(ds, "PatientWeight", "0"), "PatientWeight"),
    "missing dose": (_set_info("RadionuclideTotalDose", None), "RadionuclideTotalDose"),
    "scan before injection": (
        _set_info("RadiopharmaceuticalStartDateTime", "20240304090000"),
        "RadiopharmaceuticalStartDateTime",
    ),
    "time-only 48 h": (
        _set_info("RadiopharmaceuticalStartDateTime", None),
        "RadiopharmaceuticalStartDateTime",
    ),
    "unknown nuclide": (_unknown_nuclide, "RadionuclideCodeSequence"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_headers_exit_2(tmp_path, capsys, case):
    edit, field = ERROR_CASES[case]
    folder = tmp_path / "pet"
    write_pet_series(conc(), acq(49.0), folder)
    _edit(folder, edit)
    code, _, err = run(["suv", folder, "-o", tmp_path / "o.nii.gz"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(folder) in lines[0] and f"field {field}" in lines[0]
    assert "Traceback" not in err and not (tmp_path / "o.nii.gz").exists()


def test_corrupt_file_skipped_with_warning_or_exit_2_when_named(tmp_path, capsys):
    # Rule (issue 11): a corrupt file in a folder is skipped with one warning naming it;
    # named explicitly it is an error: one line, exit 2.
    write_pet_series(conc(), acq(), tmp_path)
    bad = tmp_path / "IM_bad.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")
    code, _, err = run(["info", tmp_path], capsys)
    assert code == 0 and "IM_bad.dcm" in err and "skipped 1 file" in err
    code, _, err = run(["info", bad], capsys)
    assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1


def test_non_pet_series_exit_2(tmp_path, capsys):
    vol = conc()
    write_ct_series(vol.with_array(np.zeros(vol.shape), "HU"), tmp_path)
    code, _, err = run(["suv", tmp_path, "-o", tmp_path / "o.nii.gz"], capsys)
    assert code == 2 and "field Modality" in err and "no PET" in err and str(tmp_path) in err


def test_bad_injection_datetime_option(tmp_path, capsys):
    write_pet_series(conc(), acq(), tmp_path)
    code, _, err = run(
        ["suv", tmp_path, "-o", tmp_path / "o.nii.gz", "--injection-datetime", "yesterday"], capsys
    )
    assert code == 2 and "injection_datetime" in err


def test_info_nifti_and_missing_path(tmp_path, capsys):
    from immunopet.io import write_nifti

    path = write_nifti(conc(), tmp_path / "pet.nii.gz", acquisition=acq(24.0))
    code, out, _ = run(["info", path, "--json"], capsys)
    [pet] = json.loads(out)["series"]
    assert code == 0 and pet["nuclide"] == "I-124" and pet["shape"] == [6, 5, 4]
    assert pet["suv_bw_factor"] == pytest.approx(hand_factor(24.0), rel=1e-9)
    code, _, err = run(["info", tmp_path / "nope"], capsys)
    assert code == 2 and "no such file" in err


def test_info_never_shows_a_guessed_injection_date(tmp_path, capsys):
    write_pet_series(conc(), acq(49.0), tmp_path, injection_time_only=True)
    code, out, _ = run(["info", tmp_path, "--json"], capsys)
    [pet] = json.loads(out)["series"]
    assert code == 0 and pet["injection_datetime"] is None and pet["time_post_injection_h"] is None
    assert pet["injection_time_of_day"] == "09:00:00" and pet["suv_bw_factor"] is None
    assert "RadiopharmaceuticalStartDateTime" in pet["error"]
