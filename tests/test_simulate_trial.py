"""End-to-end tests of the simulated trial on disk (one subject, noiseless and noisy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from immunopet.core.nuclides import Nuclide
from immunopet.simulate import simulate_trial
from immunopet.simulate.imaging import sphere_occupancy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("trial")
    return simulate_trial(out, n_subjects=1, seed=0, noise=False)


def test_dicom_headers_and_study_files(trial) -> None:
    pt = sorted(Path(trial.out_dir, "dicom", "P01", "I124-24h", "PT").glob("*.dcm"))
    assert pt
    ds = pydicom.dcmread(pt[0])
    assert ds.Units == "BQML" and ds.DecayCorrection == "START"
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert float(rp.RadionuclideTotalDose) == pytest.approx(
        trial.cohort.subjects[0].injected_activity_bq
    )
    assert ds.PatientID == trial.cohort.subjects[0].patient_id
    assert float(ds.PatientWeight) == pytest.approx(trial.cohort.subjects[0].weight_kg)
    assert Path(trial.out_dir, "dicom", "P01", "I124-24h", "CT").is_dir()
    assert Path(trial.out_dir, "labels", "P01_organs.nii.gz").is_file()
    truth = json.loads(trial.truth_path.read_text())
    assert sum(les["analysed"] for les in truth["subjects"][0]["lesions"]) == 16
    from immunopet.study import load_study

    study = load_study(trial.study_path)
    assert [s.id for s in study.subjects] == ["P01"]
    assert [sc.id for sc in study.subjects[0].scans] == [
        "FDG-1h",
        "I124-1h",
        "I124-24h",
        "I124-48h",
    ]


def test_readback_decay_between_1h_and_48h(trial) -> None:
    """Liver activity ratio 48 h / 1 h = biology (truth SUVs) × physical decay of 124I."""
    io = pytest.importorskip("immunopet.io")
    scans = {
        sc: io.load_scan(Path(trial.out_dir, "dicom", "P01", sc, "PT"))
        for sc in ("I124-1h", "I124-48h")
    }
    truth = json.loads(trial.truth_path.read_text())["subjects"][0]
    organ = {s["scan_id"]: s["organ_true_suv"]["liver"] for s in truth["scans"]}
    times = {s["scan_id"]: s["time_h"] for s in truth["scans"]}
    import nibabel as nib

    from immunopet.core.volume import Volume

    lab_img = nib.load(Path(trial.out_dir, "labels", "P01_organs.nii.gz"))
    names = json.loads(Path(trial.out_dir, "labels", "organ_names.json").read_text())
    liver_label = int(next(k for k, v in names.items() if v == "liver"))
    arr = np.asarray(lab_img.dataobj).transpose(2, 1, 0)
    aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lab_img.affine
    labels = Volume(arr, spacing_mm=tuple(np.abs(np.diag(aff)[:3])), origin_mm=tuple(aff[:3, 3]))
    means = {}
    for sc, scan in scans.items():
        lab = labels.resample_like(scan.pet, interpolator="nearest")
        core = np.asarray(lab.array) == liver_label
        from scipy import ndimage

        core = ndimage.binary_erosion(core, iterations=3)  # away from spill-over
        for les in truth["lesions"]:  # and away from the liver metastases
            if les["analysed"]:
                sl, frac = sphere_occupancy(
                    scan.pet, les["centre_lps_mm"], les["diameter_mm"] + 24.0
                )
                core[sl] &= frac == 0
        means[sc] = float(np.asarray(scan.pet.array)[core].mean())
    ratio = means["I124-48h"] / means["I124-1h"]
    i124 = Nuclide.from_name("124I")
    expected = (
        organ["I124-48h"]
        / organ["I124-1h"]
        * float(i124.decay_factor((times["I124-48h"] - times["I124-1h"]) * 3600.0))
    )
    print(f"\nliver 48h/1h activity ratio: read back {ratio:.4f}, expected {expected:.4f}")
    assert ratio == pytest.approx(expected, rel=0.05)


def test_lesions_land_on_their_target_suvmax_without_noise(trial) -> None:
    """Noiseless images: observed lesion SUVmax equals the design target (after PVE)."""
    truth = json.loads(trial.truth_path.read_text())
    subj = truth["subjects"][0]
    centres = {les["id"]: les for les in subj["lesions"] if les["analysed"]}
    errors = []
    for sc in trial.scans:
        nuc = Nuclide.from_name(sc["nuclide"])
        to_suv = (
            sc["activity_bq"]
            / (subj["weight_kg"] * 1000.0)
            * float(nuc.decay_factor(sc["time_h"] * 3600))
        )
        rows = [r for r in truth["lesion_scans"] if r["scan_id"] == sc["scan_id"]]
        for r in rows:
            les = centres[r["lesion"]]
            sl, frac = sphere_occupancy(sc["image"], les["centre_lps_mm"], les["diameter_mm"])
            m = float(np.asarray(sc["image"].array)[sl][frac > 0.5].max()) / to_suv
            if r["target_suvmax"] > r["background_suv"] * 1.2:  # hot lesions (cold ones saturate)
                errors.append(m / r["target_suvmax"] - 1.0)
    errors = np.abs(errors)
    print(
        f"\n|SUVmax/target - 1|: median {np.median(errors):.3f}, max {errors.max():.3f}, n={errors.size}"
    )
    assert np.median(errors) < 0.01 and errors.max() < 0.05


@pytest.mark.slow
def test_background_writers_write_the_same_files(trial, tmp_path_factory) -> None:
    """DICOM writing and the micro-PET arm in a background process change no pixel or number."""
    other = simulate_trial(
        tmp_path_factory.mktemp("bg"), n_subjects=1, seed=0, noise=False, background_processes=1
    )
    here = sorted((trial.out_dir / "dicom").rglob("*.dcm"))
    there = sorted((other.out_dir / "dicom").rglob("*.dcm"))
    assert len(here) == len(there) > 0
    for a, b in zip(here[::7], there[::7], strict=True):
        da, db = pydicom.dcmread(a), pydicom.dcmread(b)
        assert da.PixelData == db.PixelData and da.RescaleSlope == db.RescaleSlope
        assert da.ImagePositionPatient == db.ImagePositionPatient
    assert other.truth_path.read_text() == trial.truth_path.read_text()
    assert other.preclinical_csv.read_bytes() == trial.preclinical_csv.read_bytes()
