"""End-to-end CLI: ``immunopet kernel`` writes a NIfTI kernel; ``immunopet sphere`` prints S."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from immunopet.cli import main
from immunopet.dosimetry.kernels import dose_voxel_kernel
from immunopet.dosimetry.sphere import lesion_sphere_s_value


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("IMMUNOPET_CACHE_DIR", "off")


def test_kernel_command_writes_nifti_with_voxel_size(tmp_path, capsys):
    out = tmp_path / "k.nii.gz"
    main(["kernel", "Lu-177", "--voxel-mm", "4.8", "--half-width", "6", "-o", str(out)])
    img = nib.load(out)
    assert img.shape == (13, 13, 13)
    np.testing.assert_allclose(img.header.get_zooms()[:3], (4.8, 4.8, 4.8), rtol=1e-6)
    data = np.asarray(img.dataobj)
    k = dose_voxel_kernel("Lu-177", 4.8, half_width=6)
    assert data[6, 6, 6] == pytest.approx(k.centre_mgy_per_mbq_s, rel=1e-6)
    # the centre voxel sits at the world origin
    np.testing.assert_allclose(img.affine @ [6, 6, 6, 1], [0, 0, 0, 1], atol=1e-4)
    side = json.loads(out.with_name("k.json").read_text())
    assert side["escaped_energy_fraction"] == pytest.approx(k.escaped_energy_fraction)
    text = capsys.readouterr().out
    assert "centre voxel" in text and "escaped" in text and "method" in text


def test_sphere_command_json(capsys):
    main(["sphere", "Tb-152", "--mass-g", "2", "--density", "1.0", "--json"])
    rec = json.loads(capsys.readouterr().out)
    s = lesion_sphere_s_value("Tb-152", 2.0)
    assert rec["s_mgy_per_mbq_s"] == pytest.approx(s.s_mgy_per_mbq_s)
    assert rec["electron_mgy_per_mbq_s"] + rec["photon_mgy_per_mbq_s"] == pytest.approx(
        rec["s_mgy_per_mbq_s"]
    )
    assert rec["method"]


@pytest.mark.parametrize(
    "argv",
    [
        ["sphere", "Lu-177", "--mass-g", "-1"],
        ["kernel", "Lu-177", "--voxel-mm", "4", "--medium", "lead", "-o", "x.nii.gz"],
        ["kernel", "Xx-999", "--voxel-mm", "4", "-o", "x.nii.gz"],
        ["kernel", "Lu-177", "--voxel-mm", "4,4", "-o", "x.nii.gz"],
    ],
)
def test_bad_input_exits_2_with_one_line(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("immunopet error") and "Traceback" not in err


def test_kernel_command_box_voxels(tmp_path):
    out = tmp_path / "box.nii"
    main(["kernel", "I-131", "--voxel-mm", "2,2.5,3", "--half-width", "3", "-o", str(out)])
    img = nib.load(out)
    assert img.shape == (7, 7, 7)
    np.testing.assert_allclose(img.header.get_zooms()[:3], (2.0, 2.5, 3.0), rtol=1e-6)
