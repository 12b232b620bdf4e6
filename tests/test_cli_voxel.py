"""``immunopet voxel-tia`` and ``immunopet voxel-dose`` end to end on small NIfTI maps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from immunopet.core.nuclides import Nuclide
from immunopet.core.volume import Volume
from immunopet.dosimetry.emission import emission_spectrum
from immunopet.io import read_nifti, write_nifti
from immunopet.io.rt_dose import read_rt_dose
from support.cli import exit_code as _run

SPACING = (4.0, 4.0, 4.0)
TIMES_H = (2.0, 24.0, 72.0)


@pytest.fixture()
def series(tmp_path):
    lam = Nuclide.from_name("I-124").decay_constant_per_s * 3600 + 0.02
    base = np.zeros((8, 10, 12), np.float32)
    base[2:6, 3:7, 4:9] = 1000.0  # Bq/mL
    labels = np.zeros(base.shape, np.int16)
    labels[2:6, 3:7, 4:9] = 1
    paths = []
    for t in TIMES_H:
        p = write_nifti(Volume(base * np.float32(np.exp(-lam * t)), SPACING, unit="BQML"),
                        tmp_path / f"act_{t:g}h.nii.gz", sidecar={"Units": "BQML"})  # fmt: skip
        paths.append(p)
    lab = write_nifti(Volume(labels, SPACING), tmp_path / "labels.nii.gz")
    (tmp_path / "labels.json").write_text(json.dumps({"1": "lesion_1"}))
    return paths, lab, lam


def test_voxel_tia_then_local_dose_with_table_and_rtdose(series, tmp_path, capsys):
    paths, lab, lam = series
    tia = tmp_path / "tia.nii.gz"
    code = _run(["voxel-tia", *map(str, paths), "--times", ",".join(map(str, TIMES_H)),
                 "--nuclide", "I-124", "--method", "mono", "-o", str(tia),
                 "--sd", str(tmp_path / "sd.nii.gz"), "--workers", "1"])  # fmt: skip
    assert code == 0
    assert "0 failed fits" in capsys.readouterr().out
    tia_vol = read_nifti(tia)
    expected_bq_s = 1000.0 * 0.064 / lam * 3600  # Bq/mL × mL / λ
    assert float(tia_vol.array.max()) == pytest.approx(expected_bq_s, rel=1e-3)

    dose = tmp_path / "dose.nii.gz"
    rt = tmp_path / "dose.dcm"
    code = _run(["voxel-dose", str(tia), "--nuclide", "I-124", "--method", "local",
                 "--energy", "electron", "--labels", str(lab), "--subject", "p1",
                 "-o", str(dose), "--rtdose", str(rt)])  # fmt: skip
    assert code == 0
    delta_j = emission_spectrum("I-124").electron_energy_per_decay_mev * 1.602176634e-13
    expected_gy = expected_bq_s * delta_j / 0.064e-3
    assert float(read_nifti(dose).array.max()) == pytest.approx(expected_gy, rel=1e-3)
    table = pd.read_csv(tmp_path / "dose_dvh.csv")
    d50 = table[(table["region"] == "lesion_1") & (table["metric"] == "d50_gy")]["value"]
    assert float(d50.iloc[0]) == pytest.approx(expected_gy, rel=1e-3)
    back = read_rt_dose(rt)
    assert float(back.array.max()) == pytest.approx(expected_gy, rel=1e-6)


def test_voxel_dose_with_a_kernel_file_equals_local_for_a_delta_kernel(series, tmp_path):
    paths, _, _ = series
    tia = tmp_path / "tia.nii.gz"
    assert _run(["voxel-tia", *map(str, paths), "--times", "2,24,72", "--nuclide", "I-124",
                 "-o", str(tia)]) == 0  # fmt: skip
    # a delta kernel holding Δ_total / m in mGy/(MBq·s) reproduces local deposition
    delta_j = emission_spectrum("I-124").total_energy_per_decay_mev * 1.602176634e-13
    k = np.zeros((3, 3, 3), np.float32)
    k[1, 1, 1] = delta_j * 1e6 / 0.064e-3 * 1e3
    kpath = write_nifti(Volume(k, SPACING), tmp_path / "kernel.nii.gz")
    out_k, out_l = tmp_path / "dk.nii.gz", tmp_path / "dl.nii.gz"
    assert _run(["voxel-dose", str(tia), "--nuclide", "I-124", "--kernel", str(kpath),
                 "-o", str(out_k), "--workers", "1"]) == 0  # fmt: skip
    assert _run(["voxel-dose", str(tia), "--nuclide", "I-124", "--method", "local",
                 "-o", str(out_l)]) == 0  # fmt: skip
    a, b = read_nifti(out_k).array, read_nifti(out_l).array
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(b.max()))


def test_bad_requests_exit_2_with_one_line(series, tmp_path, capsys):
    paths, _, _ = series
    code = _run(["voxel-tia", *map(str, paths), "--times", "2,24", "--nuclide", "I-124",
                 "-o", str(tmp_path / "t.nii.gz")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "times" in err and "Traceback" not in err
    code = _run(["voxel-dose", str(paths[0]), "--nuclide", "I-124", "--method", "local",
                 "-o", str(tmp_path / "d.nii.gz")])  # fmt: skip
    assert code == 2  # an activity map is not a TIA map (unit BQML)
    assert "TIA" in capsys.readouterr().err


def test_voxel_dose_mc_on_a_ct_adds_photons_to_local_electrons(tmp_path):
    """``--method mc --ct``: photon MC on the CT's densities + electrons deposited locally."""
    tia = np.zeros((9, 9, 9), np.float32)
    tia[4, 4, 4] = 1e9  # Bq·s
    tia_path = write_nifti(Volume(tia, SPACING, unit="Bq*s"), tmp_path / "tia.nii.gz",
                           sidecar={"Units": "Bq*s"})  # fmt: skip
    ct = write_nifti(Volume(np.zeros(tia.shape, np.float32), SPACING, unit="HU"),
                     tmp_path / "ct.nii.gz", sidecar={"Units": "HU"})  # fmt: skip
    out = tmp_path / "mc.nii.gz"
    code = _run(["voxel-dose", str(tia_path), "--nuclide", "I-131", "--method", "mc",
                 "--ct", str(ct), "--histories", "20000", "-o", str(out)])  # fmt: skip
    assert code == 0
    dose = np.asarray(read_nifti(out).array)
    assert dose[4, 4, 4] > 0 and dose[4, 4, 6] > 0  # photons reach beyond the source voxel
    electron_gy = (
        1e9
        * emission_spectrum("I-131").electron_energy_per_decay_mev
        * (1.602176634e-13)
        / (1.03 * 0.064e-3)
    )  # water-like CT (0 HU): ρ ≈ 1.03 g/cm³ (Schneider 2000)
    assert electron_gy < dose[4, 4, 4] < 1.2 * electron_gy
    assert _run(["voxel-dose", str(tia_path), "--nuclide", "I-131", "--method", "mc",
                 "-o", str(out)]) == 2  # no CT: one line, exit 2  # fmt: skip
