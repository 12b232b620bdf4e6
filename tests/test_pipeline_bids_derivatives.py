"""BIDS derivatives of a run: lesion _dseg, tables with JSON sidecars, GeneratedBy, validator.

A run folder is laid out as :mod:`immunopet.pipeline` leaves it (``tables/*.parquet``,
``study.json``, a lesion Bundle in ``.cache/lesions/`` written by the store's own
:func:`write_output`), with small synthetic tables; :func:`write_derivatives` must write
a derivative dataset that bids-validator 3 accepts with 0 errors, whose lesion
segmentation reads back voxel-exact with its names, and whose TAC table holds the
run's activities.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import InputError
from immunopet.core.version import __version__
from immunopet.io.nifti import read_nifti
from immunopet.pipeline.bids_derivatives import write_derivatives
from immunopet.pipeline.store import Bundle, write_output

GEOM = {"spacing_mm": [4.0, 4.0, 3.0], "origin_mm": [-10.5, 20.25, 3.0],
        "direction": [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], "frame_of_reference_uid": "1.2.3"}  # fmt: skip


@pytest.fixture()
def run_dir(tmp_path) -> Path:
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    labels = np.zeros((5, 6, 7), np.int32)
    labels[1:3, 1:3, 1:3] = 1
    labels[3:5, 4:6, 4:7] = 2
    lesions = pd.DataFrame({"lesion_id": [1, 2], "region": ["lesion_001", "lesion_002"],
                            "suv_max": [8.5, 5.25], "subject": "P01", "scan_id": "FDG-1h",
                            "tracer": "FDG"})  # fmt: skip
    meta = {"names": {"1": "lesion_001", "2": "lesion_002"}, **GEOM}
    write_output(run / ".cache" / "lesions" / "abc", Bundle({"labels": labels}, lesions, meta))
    lesions.to_parquet(run / "tables" / "lesions.parquet")
    rows = []
    for scan, tracer, t in (("FDG-1h", "FDG", 1.0), ("I124-24h", "124I-trastuzumab", 24.2)):
        for region in ("liver", "lesion_001"):
            for metric, value, unit in (
                ("suv_max", 3.5 * t, "SUVbw"),
                ("activity_bq", 1e6 / t, "Bq"),
            ):
                rows.append(dict(subject="P01", scan_id=scan, tracer=tracer, nuclide="x",
                                 time_h=t, region=region, region_kind="organ", metric=metric,
                                 value=value, unit=unit, time_point_h=round(t)))  # fmt: skip
    meas = pd.DataFrame(rows)
    meas.to_parquet(run / "tables" / "measurements.parquet")
    meas[meas.tracer != "FDG"].to_parquet(run / "tables" / "tacs.parquet")
    pd.DataFrame({"subject": ["P01"], "region": ["liver"], "nuclide": ["I-124"],
                  "tia_bq_h": [2.5e8], "tiac_h": [3.4]}).to_parquet(run / "tables" / "tias.parquet")  # fmt: skip
    pd.DataFrame({"subject": ["P01", "P01"], "quantity": ["absorbed_dose", "effective_dose"],
                  "target": ["liver", "whole_body"], "value": [1.1, 0.45], "sd": [0.1, 0.02],
                  "unit": ["mGy/MBq", "mSv/MBq"], "phantom": "adult"}).to_parquet(
        run / "tables" / "doses.parquet")  # fmt: skip
    study = {"name": "fake", "subjects": [{"id": "P01", "scans": []}]}
    (run / "study.json").write_text(json.dumps({"study": study}))
    return run


def _validator() -> str | None:
    found = shutil.which("bids-validator-deno")
    if found is None:
        candidate = Path(sys.executable).with_name("bids-validator-deno")
        found = str(candidate) if candidate.exists() else None
    return found


def test_derivatives_layout_values_and_validator(run_dir, tmp_path):
    root = write_derivatives(run_dir, tmp_path / "out")
    assert root == tmp_path / "out" / "derivatives" / "immunopet"
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    assert desc["GeneratedBy"][0]["Name"] == "immunopet"
    assert desc["GeneratedBy"][0]["Version"] == __version__
    dseg = root / "sub-P01/ses-FDG1h/anat/sub-P01_ses-FDG1h_desc-lesions_dseg.nii.gz"
    vol = read_nifti(dseg)
    assert isinstance(nib.load(str(dseg)), nib.Nifti2Image)
    assert vol.origin_mm == tuple(GEOM["origin_mm"]) and vol.spacing_mm == (4.0, 4.0, 3.0)
    expected = np.zeros((5, 6, 7), np.int32)
    expected[1:3, 1:3, 1:3] = 1
    expected[3:5, 4:6, 4:7] = 2
    assert np.array_equal(np.asarray(vol.array), expected)
    table = pd.read_csv(dseg.with_name("sub-P01_ses-FDG1h_desc-lesions_dseg.tsv"), sep="\t")
    assert table.to_dict("list") == {"index": [1, 2], "name": ["lesion_001", "lesion_002"]}
    tacs = root / "sub-P01/pet/sub-P01_trc-124Itrastuzumab_desc-activity_tacs.tsv"
    tac = pd.read_csv(tacs, sep="\t")
    assert tac["time"].tolist() == [pytest.approx(24.2 * 3600)]
    assert tac["liver"].tolist() == [pytest.approx(1e6 / 24.2, rel=1e-12)]
    side = json.loads(tacs.with_suffix(".json").read_text())
    assert side["liver"]["Units"] == "Bq" and side["time"]["Units"] == "s"
    meas = (
        root
        / "sub-P01/ses-I12424h/pet/sub-P01_ses-I12424h_trc-124Itrastuzumab_desc-immunopet_measurements.tsv"
    )
    assert len(pd.read_csv(meas, sep="\t")) == 4
    assert (root / "sub-P01/pet/sub-P01_desc-doses_dosimetry.tsv").is_file()
    exe = _validator()
    if exe is None:
        pytest.skip("bids-validator-deno is not installed (pip install '.[test]')")
    out = subprocess.run([exe, str(root), "--format", "json"], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    issues = json.loads(out.stdout)["issues"]["issues"]
    errors = [(i["code"], i.get("location")) for i in issues if i["severity"] == "error"]
    print(sorted({(i["code"], i.get("subCode")) for i in issues}))
    assert errors == []


def test_stale_cache_bundle_is_not_written(run_dir, tmp_path):
    """A lesion bundle whose table does not match tables/lesions (an older run) is skipped."""
    lesions = pd.read_parquet(run_dir / "tables" / "lesions.parquet")
    lesions.assign(suv_max=[9.0, 1.0]).to_parquet(run_dir / "tables" / "lesions.parquet")
    with pytest.warns(UserWarning, match="no lesion mask of subject P01"):
        root = write_derivatives(run_dir, tmp_path / "out")
    assert not list(root.glob("**/*_dseg.nii.gz"))


def test_not_a_run(tmp_path):
    with pytest.raises(InputError, match="tables/"):
        write_derivatives(tmp_path, tmp_path / "out")


def test_cli_export_bids_of_a_run(run_dir, tmp_path):
    from immunopet.cli import main

    (run_dir / "run.json").write_text("{}")
    main(["export-bids", str(run_dir), "-o", str(tmp_path / "ds")])
    desc = tmp_path / "ds" / "derivatives" / "immunopet" / "dataset_description.json"
    assert json.loads(desc.read_text())["DatasetType"] == "derivative"
