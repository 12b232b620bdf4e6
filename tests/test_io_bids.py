"""PET-BIDS out and in: export of a small DICOM study, the BIDS validator, the study read back.

A two-scan subject (FDG 1 h, 124I 24 h; PET + CT DICOM written by
:mod:`immunopet.io.dicom_write`, an organ label map as NIfTI) is exported with
:func:`export_study_bids`; bids-validator 3 (``bids-validator-deno``, the ``test`` extra)
must report 0 errors; the sidecars hold every REQUIRED PET key; the study inferred back
(:func:`study_from_bids`) has the same subjects, groups, scans, times and labels; the PET
read from the NIfTI equals the DICOM one to float32 rounding (relative 2^-24 ≈ 6e-8,
the tolerance fixed by the storage type) with the geometry exact.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml

from immunopet.cli import main
from immunopet.core.errors import MissingFieldError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import load_scan
from immunopet.io.bids_read import parse_entities, read_bids_dataset
from immunopet.io.bids_sidecar import REQUIRED_PET_KEYS, recon_parameters
from immunopet.io.bids_write import export_dicom_bids
from immunopet.io.dicom_write import write_ct_series, write_pet_series
from immunopet.study import load_study
from immunopet.study.bids import export_study_bids, study_from_bids, write_study_yaml

INJ_FDG = datetime(2024, 2, 27, 8, 0, 0)
INJ_I124 = datetime(2024, 3, 1, 9, 0, 0)
#: PET-BIDS keys the test DICOM (like the demo's) has no attribute for.
SCANNER = {
    "ManufacturersModelName": "test scanner",
    "ModeOfAdministration": "bolus",
    "AcquisitionMode": "static",
    "ReconMethodName": "OSEM3D 4i21s",
    "ReconFilterType": "Gaussian",
    "ReconFilterSize": 5.0,
    "AttenuationCorrection": "CT-based",
}
FRAME = "1.2.826.0.1.99.77"


def _acq(nuclide: str, injection: datetime, hours: float, mbq: float) -> Acquisition:
    return Acquisition(
        nuclide=Nuclide.from_name(nuclide),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=injection + timedelta(hours=hours),
        injection_datetime=injection,
        injected_activity_bq=mbq * 1e6,
        patient_weight_kg=64.0,
        patient_height_m=1.7,
        patient_sex="F",
        frame_duration_s=180.0,
        tracer="FDG" if nuclide == "F-18" else "124I-trastuzumab",
    )


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(2)
    scans = []
    for sid, nuclide, inj, hours, mbq in (
        ("FDG-1h", "F-18", INJ_FDG, 1.0, 250.0),
        ("I124-24h", "I-124", INJ_I124, 24.0, 74.0),
    ):
        conc = Volume(rng.uniform(500, 9000, (6, 8, 10)), (4.0, 4.0, 4.0), (-20.123457, 7.5, 30.25))
        folder = root / "dicom" / sid
        write_pet_series(conc, _acq(nuclide, inj, hours, mbq), folder / "PT",
                         frame_of_reference_uid=FRAME, patient_id="S1", slices_per_bed=3)  # fmt: skip
        ct = Volume(np.round(rng.uniform(-1000, 1000, (12, 16, 20))), (2.0, 2.0, 2.0),
                    (-21.123457, 6.5, 29.25))  # fmt: skip
        write_ct_series(ct, folder / "CT", frame_of_reference_uid=FRAME, patient_id="S1")
        scans.append({"id": sid, "path": f"dicom/{sid}", "tracer": "FDG" if nuclide == "F-18"
                      else "124I-trastuzumab", "nuclide": nuclide.replace("-", ""),
                      "time": sid.split("-")[1], "lesion_reference": sid.startswith("FDG"),
                      "labels": "labels/S1_organs.nii.gz", "labels_from": "labels/names.json"})  # fmt: skip
    lab = np.zeros((10, 8, 6), np.int16)
    lab[1:4, 2:5, 1:3] = 1
    lab[5:8, 3:6, 3:5] = 2
    (root / "labels").mkdir()
    nib.save(
        nib.Nifti1Image(lab, np.diag([-4.0, -4.0, 4.0, 1.0])), root / "labels/S1_organs.nii.gz"
    )
    (root / "labels/names.json").write_text(json.dumps({"1": "liver", "2": "spleen"}))
    data = {
        "name": "tiny BIDS test study",
        "subjects": [
            {"id": "S1", "sex": "F", "age_y": 50, "cold_antibody_mg": 5,
             "groups": {"her2": "positive", "ihc": "3+"},
             "lesions": [{"id": "liver-1", "site": "liver", "her2": "positive"}],
             "scans": scans}
        ],
        "analysis": {"lesions": {"core_mm": 4.0}, "kinetics": {"urinary_fraction": 1.0}},
    }  # fmt: skip
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def bids_root(study_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bids") / "ds"
    return export_study_bids(load_study(study_file), out, overrides=SCANNER)


def _validator() -> str | None:
    found = shutil.which("bids-validator-deno")
    if found is None:
        candidate = Path(sys.executable).with_name("bids-validator-deno")
        found = str(candidate) if candidate.exists() else None
    return found


def validate(root: Path) -> tuple[list[dict], list[dict]]:
    """(errors, warnings) of bids-validator 3 on ``root``."""
    exe = _validator()
    if exe is None:
        pytest.skip("bids-validator-deno is not installed (pip install '.[test]')")
    out = subprocess.run([exe, str(root), "--format", "json"], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    issues = json.loads(out.stdout)["issues"]["issues"]
    errors = [i for i in issues if i["severity"] == "error"]
    warnings_ = [i for i in issues if i["severity"] == "warning"]
    return errors, warnings_


def _pet_sidecars(root: Path) -> list[Path]:
    return sorted(root.glob("sub-*/ses-*/pet/*_pet.json"))


def test_bids_validator_reports_no_error(bids_root):
    errors, warnings_ = validate(bids_root)
    print(sorted({(w["code"], w.get("subCode")) for w in warnings_}))
    assert errors == [], [(e["code"], e.get("subCode"), e.get("location")) for e in errors]
    for sub in ("labels",):
        errors, _ = validate(bids_root / "derivatives" / sub)
        assert errors == []


def test_sidecars_hold_required_keys_from_the_header(bids_root):
    sides = {p.name: json.loads(p.read_text()) for p in _pet_sidecars(bids_root)}
    assert len(sides) == 2
    for side in sides.values():
        assert set(REQUIRED_PET_KEYS) <= set(side)
        assert side["Units"] == "Bq/mL"
        assert side["InjectionStart"] == 0.0
        assert side["FrameTimesStart"] == [side["ScanStart"]]
    i124 = sides["sub-S1_ses-I12424h_trc-124Itrastuzumab_pet.json"]
    assert i124["TracerRadionuclide"] == "I124"
    assert i124["InjectedRadioactivity"] == pytest.approx(74.0, rel=1e-12)
    assert i124["ScanStart"] == pytest.approx(24 * 3600.0, abs=1e-6)
    assert i124["TimeZero"] == "09:00:00"
    assert i124["ImageDecayCorrectionTime"] == i124["ScanStart"]  # DICOM DECY START
    assert i124["ReconMethodParameterLabels"] == ["subsets", "iterations"]
    assert i124["ReconMethodParameterValues"] == [21.0, 4.0]
    assert i124["PharmaceuticalName"] == "trastuzumab"  # the cold antibody of the subject
    fdg = sides["sub-S1_ses-FDG1h_trc-FDG_pet.json"]
    assert "PharmaceuticalName" not in fdg
    assert fdg["Manufacturer"] == "SIEMENS"  # from the header, not the overrides


def test_recon_parameters_of_vendor_strings():
    assert recon_parameters("OSEM3D 4i21s") == (
        ["subsets", "iterations"],
        ["none"] * 2,
        [21.0, 4.0],
    )
    assert recon_parameters("VPFX 3 iterations 18 subsets")[2] == [18.0, 3.0]
    assert recon_parameters("FBP") == (["none"], ["none"], [0.0])


def test_missing_header_field_names_the_file_and_attribute(study_file, tmp_path):
    study = load_study(study_file)
    partial = {k: v for k, v in SCANNER.items() if k != "ManufacturersModelName"}
    with pytest.raises(MissingFieldError) as info:
        export_study_bids(study, tmp_path / "ds", overrides=partial)
    assert info.value.field == "ManufacturerModelName"
    assert "dicom" in str(info.value.file) and "ManufacturersModelName" in str(info.value)


def test_study_read_back(bids_root, study_file, tmp_path):
    original = load_study(study_file)
    back = study_from_bids(bids_root, labels_dir=tmp_path / "labels")
    s0, s1 = original.subjects[0], back.subjects[0]
    assert (s1.id, s1.sex, s1.age_y, s1.cold_antibody_mg) == ("S1", "F", 50.0, 5.0)
    assert s1.groups == s0.groups
    assert [les.id for les in s1.lesions] == ["liver-1"]
    assert [(sc.id, sc.tracer, sc.nuclide, sc.time, sc.lesion_reference) for sc in s1.scans] == [
        (sc.id, sc.tracer, sc.nuclide, sc.time, sc.lesion_reference) for sc in s0.scans
    ]
    assert back.analysis == original.analysis
    names = json.loads(Path(s1.scans[0].labels_from).read_text())
    assert names == {"1": "liver", "2": "spleen"}
    for sc0, sc1 in zip(s0.scans, s1.scans, strict=True):
        dcm = load_scan(original.resolve(sc0.path))
        nii = load_scan(sc1.path)
        assert nii.pet.origin_mm == dcm.pet.origin_mm  # NIfTI-2: float64 affine
        assert nii.pet.spacing_mm == dcm.pet.spacing_mm
        a, b = np.asarray(dcm.pet.array), np.asarray(nii.pet.array)
        assert np.max(np.abs(b / a - 1)) <= 2.0**-24
        acq0, acq1 = dcm.acquisition, nii.acquisition
        assert acq1.injected_activity_bq == pytest.approx(acq0.injected_activity_bq, rel=1e-12)
        assert acq1.scan_start_datetime - acq1.injection_datetime == (
            acq0.scan_start_datetime - acq0.injection_datetime
        )
        assert acq1.decay_correction == acq0.decay_correction
        assert Path(sc1.ct).is_file()


def test_generic_bids_without_immunopet_extras(bids_root, tmp_path):
    """Without sessions.tsv or code/: times from ScanStart − InjectionStart, FDG as reference."""
    plain = tmp_path / "plain"
    shutil.copytree(bids_root, plain)
    shutil.rmtree(plain / "code")
    for p in plain.glob("sub-*/*_sessions.*"):
        p.unlink()
    data = read_bids_dataset(plain, labels_dir=tmp_path / "lab")
    scans = data["subjects"][0]["scans"]
    assert [(s["id"], s["time"], s["lesion_reference"]) for s in scans] == [
        ("FDG1h", "1h", True),
        ("I12424h", "24h", False),
    ]
    assert "lesions" not in data["subjects"][0]


def test_missing_sidecar_key_and_participant_column(bids_root, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bids_root, broken)
    side = _pet_sidecars(broken)[1]
    meta = json.loads(side.read_text())
    del meta["InjectionStart"]
    side.write_text(json.dumps(meta))
    with pytest.raises(MissingFieldError) as info:
        read_bids_dataset(broken, labels_dir=tmp_path / "lab")
    assert info.value.field == "InjectionStart" and Path(info.value.file) == side
    (broken / "participants.tsv").write_text("subject\tsex\nS1\tF\n")
    with pytest.raises(MissingFieldError, match="participant_id"):
        read_bids_dataset(broken, labels_dir=tmp_path / "lab")


def test_cli_from_bids_export_and_run_hook(bids_root, study_file, tmp_path, capsys):
    main(["study", "from-bids", str(bids_root), "-o", str(tmp_path / "s.yaml")])
    assert [s.id for s in load_study(tmp_path / "s.yaml").subjects] == ["S1"]
    with pytest.raises(SystemExit) as exc:
        main(["export-bids", str(study_file), "-o", str(tmp_path / "ds2")])  # no --set
    assert exc.value.code == 2
    assert "--set ManufacturersModelName=VALUE" in capsys.readouterr().err.replace("\n", "")
    sets = [f"--set={k}={v}" for k, v in SCANNER.items()]
    main(["export-bids", str(study_file.parent / "dicom"), "-o", str(tmp_path / "ds3"), *sets])
    assert len(_pet_sidecars(tmp_path / "ds3")) == 2
    from immunopet.cli.bids import study_file_for

    out = study_file_for(bids_root, tmp_path / "run")
    assert out == tmp_path / "run" / "study.yaml" and load_study(out).subjects[0].id == "S1"
    assert study_file_for(study_file, tmp_path / "run") == study_file


def test_export_dicom_folder(study_file, tmp_path):
    written = export_dicom_bids(study_file.parent / "dicom", tmp_path / "ds", overrides=SCANNER)
    assert sorted(p.name for p in written) == [
        "sub-S1_ses-124Itrastuzumab24h_trc-124Itrastuzumab_pet.nii.gz",
        "sub-S1_ses-FDG1h_trc-FDG_pet.nii.gz",
    ]
    errors, _ = validate(tmp_path / "ds")
    assert errors == []


def test_write_study_yaml_is_loadable(bids_root, tmp_path):
    path = write_study_yaml(bids_root, tmp_path / "x" / "study.yaml")
    assert load_study(path).name == "tiny BIDS test study"
    assert (tmp_path / "x" / "study-labels").is_dir()


def test_philips_cnts_series_is_written_in_bq_per_ml(tmp_path):
    """Units CNTS (Philips) → Bq/mL via (7053,1009): the SUV of the NIfTI equals the DICOM's."""
    from immunopet.io.bids_write import export_pet_series
    from immunopet.io.dicom import discover_series
    from immunopet.quant import suv_volume

    conc = Volume(np.random.default_rng(4).uniform(500, 9000, (4, 5, 6)), (4.0, 4.0, 4.0),
                  (0.0, 0.0, 0.0))  # fmt: skip
    write_pet_series(conc, _acq("I-124", INJ_I124, 24.0, 74.0), tmp_path / "dcm",
                     flavour="philips", slices_per_bed=2)  # fmt: skip
    (series,) = discover_series(tmp_path / "dcm")
    nii = export_pet_series(series, tmp_path / "ds", subject="S", session="A", overrides=SCANNER)
    dcm_scan, nii_scan = load_scan(tmp_path / "dcm"), load_scan(nii)
    assert dcm_scan.acquisition.units == "CNTS" and nii_scan.acquisition.units == "BQML"
    a = np.asarray(suv_volume(dcm_scan).array)
    b = np.asarray(suv_volume(nii_scan).array)
    assert np.max(np.abs(b / a - 1)) <= 4 * 2.0**-24


def test_optional_radiopharmaceutical_attributes_are_mapped():
    from pydicom.dataset import Dataset

    from immunopet.io.bids_sidecar import pet_sidecar_from_dicom

    info = Dataset()
    info.RadiopharmaceuticalStopDateTime = "20240301090130"
    info.RadiopharmaceuticalVolume = "5.5"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "35321007", "SCT", "FDG"
    info.RadiopharmaceuticalCodeSequence = [code]
    ds = Dataset()
    ds.Manufacturer = "GE"
    ds.ManufacturerModelName = "Discovery MI"
    ds.ReconstructionMethod = "VPFXS 3i 16s"
    ds.ConvolutionKernel = "5.0 mm"
    ds.AttenuationCorrectionMethod = "CTAC"
    ds.RadiopharmaceuticalInformationSequence = [info]
    acq = _acq("F-18", INJ_I124, 1.0, 200.0)
    side = pet_sidecar_from_dicom(ds, acq, source="x",
                                  overrides={"ModeOfAdministration": "bolus",
                                             "AcquisitionMode": "static"})  # fmt: skip
    assert side["InjectionEnd"] == 90.0
    assert (side["InjectedVolume"], side["InjectedVolumeUnits"]) == (5.5, "mL")
    assert side["TracerSNOMED"] == "35321007"
    assert side["ReconMethodParameterValues"] == [16.0, 3.0]
    assert (side["ReconFilterSize"], side["AttenuationCorrection"]) == (5.0, "CTAC")
    assert side["ManufacturersModelName"] == "Discovery MI"


def test_a_lesion_segmentation_of_another_pipeline_becomes_the_lesion_mask(bids_root, tmp_path):
    """``derivatives/<other>/…_desc-lesion_dseg.nii.gz`` is the reference scan's ``lesion_mask``;
    immunopet's own derivative lesions (results of a run) are not taken as input."""
    root = tmp_path / "with-lesions"
    shutil.copytree(bids_root, root)
    pet = sorted(root.glob("sub-S1/ses-*/pet/*_pet.nii*"))[0]
    ses = parse_entities(pet.name)["ses"]
    for tool in ("reader", "immunopet"):
        folder = root / "derivatives" / tool / "sub-S1" / f"ses-{ses}" / "pet"
        folder.mkdir(parents=True)
        shutil.copy(pet, folder / f"sub-S1_ses-{ses}_desc-lesion_dseg.nii.gz")
    data = read_bids_dataset(root, labels_dir=tmp_path / "lab")
    scan = next(s for s in data["subjects"][0]["scans"] if ses in s["id"] or s["lesion_reference"])
    assert "reader" in scan["lesion_mask"] and "immunopet" not in scan["lesion_mask"]
