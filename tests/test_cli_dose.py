"""``immunopet dose`` end to end on a small kinetics table."""

from __future__ import annotations

import pandas as pd
import pytest

from immunopet.dosimetry.organ_dose import organ_doses
from support.cli import exit_code as _run


@pytest.fixture()
def kinetics_csv(tmp_path):
    rows = []
    for subject, scale in (("p1", 1.0), ("p2", 1.2)):
        for region, tiac in (("liver", 8.0), ("heart", 6.0), ("kidney_left", 1.0), ("kidney_right", 1.1),
                             ("spleen", 1.5), ("urinary_bladder", 0.8), ("remainder", 40.0)):  # fmt: skip
            rows.append(
                dict(subject=subject, region=region, tiac_h=tiac * scale, injected_activity_bq=74e6)
            )
    path = tmp_path / "tia.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_dose_cli_writes_tidy_table_and_table2(kinetics_csv, tmp_path, capsys):
    out, t2 = tmp_path / "doses.csv", tmp_path / "table2.md"
    code = _run(["dose", str(kinetics_csv), "--nuclide", "I-124", "--phantom", "adult",
                 "-o", str(out), "--table2", str(t2)])  # fmt: skip
    assert code == 0
    df = pd.read_csv(out)
    assert list(df.columns[:6]) == ["subject", "quantity", "target", "value", "sd", "unit"]
    assert set(df["subject"]) == {"p1", "p2"}
    e = df[(df.quantity == "effective_dose") & (df.subject == "p1")]
    assert e["unit"].item() == "mSv/MBq" and e["target"].item() == "whole_body"
    # The CLI gives the same numbers as the library (kidney_left + kidney_right → kidneys).
    lib = organ_doses({"liver": 8.0, "heart_contents": 6.0, "kidneys": 2.1, "spleen": 1.5,
                       "urinary_bladder_contents": 0.8, "remainder": 40.0}, "I-124", "adult")  # fmt: skip
    lib_e = lib.loc[lib.quantity == "effective_dose", "value"].item()
    assert e["value"].item() == pytest.approx(lib_e, rel=1e-9)
    # Per-scan rows: × 74 MBq.
    e_scan = df[(df.quantity == "effective_dose_per_scan") & (df.subject == "p1")]["value"].item()
    assert e_scan == pytest.approx(74.0 * lib_e, rel=1e-9)
    # Doses scale with the TIACs: p2 = 1.2 × p1.
    e2 = df[(df.quantity == "effective_dose") & (df.subject == "p2")]["value"].item()
    assert e2 == pytest.approx(1.2 * lib_e, rel=1e-9)
    text = t2.read_text()
    assert "| Liver |" in text and "Effective dose" in text and "±" in text
    assert "effective dose" in capsys.readouterr().out


def test_dose_cli_bad_region_is_one_line_error(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"subject": ["a"], "region": ["livr"], "tiac_h": [1.0]}).to_csv(path, index=False)
    code = _run(["dose", str(path), "--nuclide", "F-18", "-o", str(tmp_path / "d.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert "livr" in err and "liver" in err and "Traceback" not in err


def test_dose_cli_needs_tiac_column(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"subject": ["a"], "region": ["liver"], "tia_bq_h": [1e6]}).to_csv(
        path, index=False
    )
    code = _run(["dose", str(path), "--nuclide", "F-18", "-o", str(tmp_path / "d.csv")])
    assert code == 2
    assert "tiac_h" in capsys.readouterr().err


def test_dose_cli_tia_with_injected_activity(tmp_path):
    path = tmp_path / "tia.csv"
    pd.DataFrame({"subject": ["a", "a"], "region": ["liver", "remainder"],
                  "tia_bq_h": [1e8, 5e8], "injected_activity_bq": [1e8, 1e8]}).to_csv(path, index=False)  # fmt: skip
    out = tmp_path / "d.csv"
    assert (
        _run(["dose", str(path), "--nuclide", "Zr-89", "--phantom", "adult-female", "-o", str(out)])
        == 0
    )
    df = pd.read_csv(out)
    lib = organ_doses({"liver": 1.0, "remainder": 5.0}, "Zr-89", "adult-female")
    got = df[(df.quantity == "absorbed_dose") & (df.target == "liver")]["value"].item()
    assert got == pytest.approx(
        lib[(lib.quantity == "absorbed_dose") & (lib.target == "liver")]["value"].item()
    )


def test_dose_cli_patient_phantom(tmp_path):
    import json

    import numpy as np

    from immunopet.core.volume import Volume

    shape = (12, 20, 20)
    z, y, x = np.indices(shape)
    hu = np.where((x - 10) ** 2 + (y - 10) ** 2 <= 8**2, 20.0, -1000.0).astype(np.float32)
    lab = np.zeros(shape, np.int16)
    lab[3:9, 6:12, 6:12] = 1
    lab[3:9, 6:12, 13:16] = 2
    ct = Volume(hu, (8.0, 8.0, 8.0), unit="HU")
    import SimpleITK as sitk

    sitk.WriteImage(ct.to_sitk(), str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(ct.with_array(lab, unit="label").to_sitk(), str(tmp_path / "labels.nii.gz"))
    (tmp_path / "names.json").write_text(json.dumps({"1": "liver", "2": "kidney_left"}))
    path = tmp_path / "tia.csv"
    pd.DataFrame({"subject": ["a"] * 3, "region": ["liver", "kidney_left", "remainder"],
                  "tiac_h": [10.0, 2.0, 20.0]}).to_csv(path, index=False)  # fmt: skip
    out = tmp_path / "d.csv"
    code = _run(["dose", str(path), "--nuclide", "I-124", "--phantom", "patient",
                 "--ct", str(tmp_path / "ct.nii.gz"), "--labels", str(tmp_path / "labels.nii.gz"),
                 "--label-names", str(tmp_path / "names.json"), "--histories", "5000", "-o", str(out)])  # fmt: skip
    assert code == 0
    df = pd.read_csv(out)
    d = dict(df.loc[df.quantity == "absorbed_dose", ["target", "value"]].values)
    assert set(d) >= {"liver", "kidneys", "muscle", "total_body"}
    assert d["liver"] > d["muscle"] > 0 and d["kidneys"] > d["muscle"]
    assert (df["phantom"] == "patient").all()
