"""The run's voxel outputs: dose maps as NIfTI and RT Dose, DVH table, uncertainty metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pydicom
import pytest

from immunopet.io import read_nifti
from immunopet.io.rt_dose import read_rt_dose
from immunopet.pipeline import run_study
from immunopet.study import load_study
from support.workload import write_dicom_study


@pytest.fixture(scope="module")
def voxel_run(tmp_path_factory):
    """One generated subject (FDG + 124I at 1/24/48 h), voxel doses with a mono fit and 131I."""
    root = tmp_path_factory.mktemp("voxel_run")
    study = load_study(write_dicom_study(root, 1, voxels=32, dosimetry=True))
    options = study.analysis.model_dump()
    options["dosimetry"]["voxel"] = {"therapy_nuclides": ["I-131"], "tia_model": "mono"}
    study = study.model_copy(update={"analysis": type(study.analysis).model_validate(options)})
    out = root / "out"
    summary = run_study(study, out, workers=0, report=False)
    assert summary.exit_code == 0, summary.errors
    return study, out


@pytest.mark.slow
def test_dose_maps_written_as_nifti_and_rt_dose_in_the_pet_frame(voxel_run):
    study, out = voxel_run
    subject = study.subjects[0].id
    folder = out / "voxel" / subject
    info = json.loads((folder / "voxel.json").read_text())
    assert set(info["files"]) == {"I-124", "I-131"}
    pet_file = info["reference_pet_file"]
    assert pet_file is not None
    pet = pydicom.dcmread(pet_file, stop_before_pixels=True)
    for nuclide, files in info["files"].items():
        nii = read_nifti(folder / files["dose_nifti"])
        rt = read_rt_dose(folder / files["rt_dose"])
        ds = pydicom.dcmread(folder / files["rt_dose"], stop_before_pixels=True)
        # The RT Dose is in the PET's frame of reference, patient and study (overlay in viewers).
        assert ds.FrameOfReferenceUID == pet.FrameOfReferenceUID
        assert ds.StudyInstanceUID == pet.StudyInstanceUID
        assert ds.PatientID == pet.PatientID
        assert rt.shape == nii.shape
        # Same world grid: NIfTI (RAS) and DICOM (LPS) origins agree once mapped.
        assert np.allclose(rt.spacing_mm, nii.spacing_mm, atol=1e-4)
        # Stored precision of RT Dose: DoseGridScaling / 2 per voxel (PS3.3 C.8.8.3.4).
        tol = float(ds.DoseGridScaling)
        assert np.max(np.abs(np.asarray(rt.array) - np.asarray(nii.array))) <= tol
        assert float(np.asarray(nii.array).max()) > 0, nuclide
    # the stale-file rule keeps this run's files only
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_dvh_table_is_cumulative_and_matches_the_dose_statistics(voxel_run):
    _study, out = voxel_run
    dvh = pd.read_parquet(out / "tables" / "voxel_dvh.parquet")
    stats = pd.read_parquet(out / "tables" / "voxel_doses.parquet")
    assert {"subject", "region", "region_kind", "nuclide", "dose_gy", "volume_fraction"} <= set(
        dvh.columns
    )
    assert set(dvh["nuclide"]) == {"I-124", "I-131"}
    assert {"organ", "lesion"} <= set(dvh["region_kind"])
    for (_nuc, _region), curve in dvh.groupby(["nuclide", "region"]):
        if curve["volume_fraction"].isna().all():
            continue  # a region with no voxel on the grid
        v = curve.sort_values("dose_gy")["volume_fraction"].to_numpy()
        assert v[0] == pytest.approx(1.0)  # every voxel gets ≥ 0 Gy
        assert np.all(np.diff(v) <= 1e-12)  # cumulative: never increases with dose
    # V(D50) ≥ 50 % and V(just above Dmax) = 0, for the lesion (ICRU 83 definitions).
    wide = stats.pivot_table(index=["nuclide", "region"], columns="metric", values="value")
    for nuclide in ("I-124", "I-131"):
        les = dvh[(dvh["nuclide"] == nuclide) & (dvh["region_kind"] == "lesion")]
        region = les["region"].iloc[0]
        d50 = wide.loc[(nuclide, region), "d50_gy"]
        curve = les[les["region"] == region]
        below = curve[curve["dose_gy"] <= d50]["volume_fraction"]
        assert below.min() >= 0.5 - 1e-9


@pytest.mark.slow
def test_mono_fit_gives_relative_uncertainty_metrics(voxel_run):
    study, out = voxel_run
    stats = pd.read_parquet(out / "tables" / "voxel_doses.parquet")
    rel = stats[stats["metric"].isin(["dose_rel_sd_median", "dose_rel_sd_bound_median"])]
    assert set(rel["nuclide"]) == {"I-124", "I-131"}
    wide = rel.pivot_table(index=["nuclide", "region"], columns="metric", values="value")
    finite = wide.dropna()
    assert len(finite) and (finite >= 0).all().all()
    # Uncorrelated voxels never exceed the fully correlated bound (Cauchy–Schwarz).
    assert (finite["dose_rel_sd_median"] <= finite["dose_rel_sd_bound_median"] * (1 + 1e-4)
            + 1e-7).all()  # fmt: skip
    folder = out / "voxel" / study.subjects[0].id
    info = json.loads((folder / "voxel.json").read_text())
    assert "dose_rel_sd" in info["files"]["I-124"]


def _bundle(subject: str, array: np.ndarray):  # type: ignore[no-untyped-def]
    from immunopet.pipeline.store import Bundle

    return Bundle(
        arrays={"dose_gy_I-124": array},
        meta={"subject": subject, "spacing_mm": [4.0, 4.0, 4.0], "origin_mm": [0.0, 0.0, 0.0],
              "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1], "frame_of_reference_uid": "1.2.3",
              "nuclides": ["I-124"], "label_names": {}, "reference": {},
              "administered_mbq": 10.0},
    )  # fmt: skip


def test_one_subject_failing_is_recorded_and_the_others_written(tmp_path):
    from immunopet.pipeline.engine import RunSummary
    from immunopet.pipeline.store import write_output
    from immunopet.pipeline.voxel_outputs import write_voxel_maps

    good = np.zeros((4, 5, 6), np.float32)
    good[2, 2, 2] = 1.5
    good[0, 0, 0] = np.nan  # no TIA there: no dose in the files
    summary = RunSummary(out_dir=tmp_path, executor="test")
    summary.outputs["voxel_doses/A"] = write_output(str(tmp_path / "a"), _bundle("A", good))
    bad = _bundle("B", np.zeros((4, 5), np.float32))  # not a 3-D map
    summary.outputs["voxel_doses/B"] = write_output(str(tmp_path / "b"), bad)
    (tmp_path / "voxel" / "C").mkdir(parents=True)
    (tmp_path / "voxel" / "C" / "old_dose_gy.nii.gz").write_bytes(b"stale")
    write_voxel_maps(tmp_path, summary)
    rt = read_rt_dose(tmp_path / "voxel" / "A" / "A_I-124_rtdose.dcm")
    assert float(np.max(rt.array)) == pytest.approx(1.5, rel=1e-6)
    assert float(np.asarray(rt.array)[0, 0, 0]) == 0.0
    assert [e["subject"] for e in summary.errors] == ["B"]
    assert json.loads((tmp_path / "errors.json").read_text())[0]["step"] == "voxel_maps"
    assert not (tmp_path / "voxel" / "C" / "old_dose_gy.nii.gz").exists()  # stale: removed
