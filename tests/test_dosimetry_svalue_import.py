"""Imported S-values (:mod:`immunopet.dosimetry.svalue_import`): OLINDA matrix and long table.

Reference rows: OLINDA/EXM 2-style Lu-177 S-values, ICRP-89 adult male, mGy/(MBq·s),
rows = targets, columns = sources (file ``Lu177-Male-Svalues.csv`` of
github.com/qurit/PyTheranostics, ``pytheranostics/dosimetry/phantomdata/``, commit
cc3b720bc1617e48da336c4c40a342892064f1d1; the repository states no citation for the
numbers, whose organ labels are OLINDA/EXM 2's; units inferred, see the project's
reference PROVENANCE). Only the rows and columns these tests need are copied.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from immunopet.core.errors import ImmunopetWarning, InvalidValueError, MissingFieldError
from immunopet.dosimetry.organ_dose import organ_doses
from immunopet.dosimetry.svalue_import import read_svalue_table
from immunopet.study import DosimetryOptions
from immunopet.workflow import TiaTable
from immunopet.workflow import organ_doses as workflow_doses

#: OLINDA 2 Lu-177 adult male, a sub-matrix (see module docstring), mGy/(MBq·s).
OLINDA_LU177_MALE = """Target,HeartCon,Kidneys ,Liver,Spleen,UB Cont,Tot Body
Kidneys,2.2e-08,7.76e-05,1.2e-07,2.65e-07,1.18e-08,3.58e-07
Liver,1.07e-07,1.18e-07,1.37e-05,3.12e-08,3.78e-09,3.58e-07
Red Marrow,3.6e-08,3.35e-08,3.09e-08,3.67e-08,3.96e-08,2.74e-07
Spleen,3.83e-08,2.58e-07,3.03e-08,0.00016,3.47e-09,3.58e-07
Urinary Bladder Wall,1.05e-09,1.18e-08,3.78e-09,3.47e-09,5.78e-05,3.62e-07
Total Body,3.38e-07,3.49e-07,3.4e-07,3.46e-07,3.52e-07,3.54e-07
"""

#: TIACs (h) of the reference study's OLINDA source organs (illustrative values).
TIAC_H = {"HeartCon": 6.0, "Kidneys ": 1.5, "Liver": 9.0, "Spleen": 0.8, "UB Cont": 0.4}
OURS = {"HeartCon": "heart_contents", "Kidneys ": "kidneys", "Liver": "liver",
        "Spleen": "spleen", "UB Cont": "urinary_bladder_contents"}  # fmt: skip
TARGETS = {"Kidneys": "kidneys", "Liver": "liver", "Red Marrow": "red_marrow",
           "Spleen": "spleen", "Urinary Bladder Wall": "urinary_bladder_wall",
           "Total Body": "total_body"}  # fmt: skip


@pytest.fixture()
def olinda_csv(tmp_path: Path) -> Path:
    path = tmp_path / "Lu177-Male-Svalues.csv"
    path.write_text(OLINDA_LU177_MALE)
    return path


def _sum_s_a(matrix: pd.DataFrame, target: str, tiac_h: dict[str, float]) -> float:
    """Σ_S S(T ← S) Ã_S in mGy/MBq, straight from the matrix (TIAC h → s)."""
    row = matrix.set_index("Target").loc[target]
    return sum(float(row[s]) * tiac * 3600.0 for s, tiac in tiac_h.items())


def test_olinda_matrix_doses_equal_the_mird_sum(olinda_csv):
    """Issue 13's number: with the OLINDA 2 Lu-177 male matrix, doses = Σ S·Ã to 1e-6."""
    table = read_svalue_table(olinda_csv, sex="male")
    assert table.nuclide == "Lu-177"  # from the file name
    tiac = {OURS[k]: v for k, v in TIAC_H.items()}
    doses = organ_doses(tiac, "Lu-177", "adult-male", svalues={"male": table})
    got = doses[doses.quantity == "absorbed_dose"].set_index("target")["value"]
    matrix = pd.read_csv(olinda_csv)
    for label, ours in TARGETS.items():
        assert got[ours] == pytest.approx(_sum_s_a(matrix, label, TIAC_H), rel=1e-6), ours


def test_total_body_source_becomes_the_olinda_remainder(olinda_csv):
    """A whole-body TIAC beside organs is the remainder of body, MIRD Pamphlet 11 rule."""
    table = read_svalue_table(olinda_csv, sex="male")
    tiac = {"liver": 9.0, "total_body": 40.0}
    doses = organ_doses(tiac, "Lu-177", "adult-male", svalues={"male": table})
    got = doses[doses.quantity == "absorbed_dose"].set_index("target")["value"]
    m_tb, m_liver = 73.0, 1.8  # ICRP 89 adult male, kg
    s = pd.read_csv(olinda_csv).set_index("Target")
    s_rb = (s.loc["Kidneys", "Tot Body"] * m_tb - s.loc["Kidneys", "Liver"] * m_liver) / (
        m_tb - m_liver
    )
    expect = 3600.0 * (9.0 * s.loc["Kidneys", "Liver"] + 31.0 * s_rb)
    assert got["kidneys"] == pytest.approx(expect, rel=1e-9)


def test_long_table_with_sd_and_names_of_any_vocabulary(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({
        "target": ["liver", "Liver", "kidney_left"], "source": ["liver", "Kidneys", "kidneys"],
        "s_mgy_per_mbq_s": [2e-5, 1e-7, 8e-5], "sd_mgy_per_mbq_s": [1e-6, 0, 0],
        "nuclide": ["177Lu"] * 3,
    }).drop(index=2).to_csv(path, index=False)  # fmt: skip
    table = read_svalue_table(path)
    assert table.nuclide == "Lu-177" and table.targets == ("liver",)
    assert table.s("liver", "kidneys") == pytest.approx(1e-16)
    assert table.sd_gy_per_bq_s[0, 0] == pytest.approx(1e-15)


def test_bad_tables_are_refused_naming_the_field(tmp_path, olinda_csv):
    with pytest.raises(InvalidValueError, match="not I-131"):
        read_svalue_table(olinda_csv, nuclide="I-131")
    bad = tmp_path / "s.csv"
    pd.DataFrame({"target": ["livr"], "source": ["liver"], "s_mgy_per_mbq_s": [1.0]}).to_csv(
        bad, index=False
    )
    with pytest.raises(InvalidValueError, match="livr"):
        read_svalue_table(bad, nuclide="Lu-177")
    with pytest.raises(MissingFieldError, match="nuclide"):
        read_svalue_table(bad)
    neg = tmp_path / "n.csv"
    pd.DataFrame({"target": ["liver"], "source": ["liver"], "s_mgy_per_mbq_s": [-1.0]}).to_csv(
        neg, index=False
    )
    with pytest.raises(InvalidValueError, match="finite"):
        read_svalue_table(neg, nuclide="Lu-177")


def _tias() -> TiaTable:
    rows = [dict(subject="S1", region=OURS[k], tiac_h=v, nuclide="Lu-177")
            for k, v in TIAC_H.items()]  # fmt: skip
    rows.append(dict(subject="S1", region="lungs", tiac_h=1.0, nuclide="Lu-177"))
    return TiaTable(pd.DataFrame(rows))


def test_workflow_and_cli_name_the_svalue_source(olinda_csv, tmp_path):
    options = DosimetryOptions(phantom="adult-male", svalues=str(olinda_csv))
    with pytest.warns(ImmunopetWarning, match="lungs"):  # no lungs column: left out, said so
        doses = workflow_doses(_tias(), options).frame
    assert set(doses["svalue_source"]) == {"imported: Lu177-Male-Svalues.csv (male)"}
    ours = workflow_doses(_tias(), DosimetryOptions(phantom="adult-male")).frame
    assert ours["svalue_source"].str.startswith("immunopet").all()
    tia_csv, out = tmp_path / "t.csv", tmp_path / "d.csv"
    _tias().frame.to_csv(tia_csv, index=False)
    from immunopet.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)
        try:
            main(["dose", str(tia_csv), "--phantom", "adult-male", "--svalues", str(olinda_csv),
                  "-o", str(out)])  # fmt: skip
        except SystemExit as exc:
            assert not exc.code
    cli = pd.read_csv(out)
    liver = cli[(cli.quantity == "absorbed_dose") & (cli.target == "liver")]["value"].item()
    matrix = pd.read_csv(olinda_csv)
    assert liver == pytest.approx(_sum_s_a(matrix, "Liver", TIAC_H), rel=1e-6)


def test_study_svalues_are_resolved_against_the_study_and_fingerprinted(olinda_csv):
    from immunopet.pipeline.plan import build_tasks
    from immunopet.study import load_study

    example = Path(__file__).resolve().parents[1] / "examples" / "reference-study.yaml"
    study = load_study(example, check_files=False)
    relative = os.path.relpath(olinda_csv, example.parent)  # as written in a study file
    dosimetry = study.analysis.dosimetry.model_copy(update={"svalues": relative})
    study = study.model_copy(
        update={"analysis": study.analysis.model_copy(update={"dosimetry": dosimetry})}
    )
    task = next(t for t in build_tasks(study) if t.step == "doses")
    assert task.options["dosimetry"]["svalues"] == str(olinda_csv.resolve())
    assert str(olinda_csv.resolve()) in [str(p) for p in task.inputs]
