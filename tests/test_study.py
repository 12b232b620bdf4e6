"""Tests of the study file: schema errors with YAML lines, semantic checks, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from immunopet.core.errors import StudyError
from immunopet.study import Study, load_study, parse_time_label_h
from immunopet.study.loader import StudyFileError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reference-study.yaml"

# Line numbers below are those of this text (1-based), so tests can check them exactly.
GOOD = """\
name: toy study
subjects:
  - id: P1
    sex: M
    weight_kg: 70
    groups: {her2: positive, ihc: "3+", fish: +}
    scans:
      - id: FDG
        path: data/P1/fdg
        tracer: FDG
        nuclide: 18F
        time: 1h
        lesion_reference: true
      - id: I24
        path: data/P1/i24
        tracer: 124I-trastuzumab
        nuclide: 124I
        time: 24h
        injected_activity_mbq: 74
  - id: P2
    groups: {her2: negative}
    scans:
      - {id: FDG, path: data/P2/fdg, tracer: FDG, nuclide: 18F, time: 1h, lesion_reference: true}
      - {id: I1, path: data/P2/i1, tracer: 124I-trastuzumab, nuclide: 124I, time: 1h}
"""


def _write(tmp_path: Path, text: str) -> Path:
    for sub in ("P1/fdg", "P1/i24", "P2/fdg", "P2/i1"):
        (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def _errors(tmp_path: Path, text: str) -> StudyFileError:
    with pytest.raises(StudyFileError) as info:
        load_study(_write(tmp_path, text))
    return info.value


def test_good_study_loads_and_resolves_paths(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, GOOD))
    assert [s.id for s in study.subjects] == ["P1", "P2"]
    p1 = study.subject("P1")
    assert p1.groups == {"her2": "positive", "ihc": "3+", "fish": "+"}
    assert p1.scans[1].time_h == 24.0 and p1.scans[1].injected_activity_mbq == 74
    assert study.resolve(p1.scans[0].path) == (tmp_path / "data/P1/fdg").resolve()
    # defaults of the analysis options
    assert study.analysis.lesions.min_diameter_mm == 10.0
    assert study.line_of(("subjects", 0, "scans", 1, "injected_activity_mbq")) == 19


def test_wrong_type_reports_line_and_field(tmp_path: Path) -> None:
    err = _errors(
        tmp_path, GOOD.replace("injected_activity_mbq: 74", "injected_activity_mbq: lots")
    )
    assert isinstance(err, StudyError)
    assert str(err).startswith(
        f"{tmp_path / 'study.yaml'}:19: subjects[0].scans[1].injected_activity_mbq: "
        "Input should be a valid number"
    )
    assert err.line == 19 and err.field == "subjects[0].scans[1].injected_activity_mbq"


def test_unknown_field_reports_its_line(tmp_path: Path) -> None:
    err = _errors(tmp_path, GOOD.replace("    sex: M\n", "    sex: M\n    wieght_kg: 70\n"))
    assert err.line == 5
    assert "subjects[0].wieght_kg: unknown field" in str(err)


def test_all_schema_errors_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("weight_kg: 70", "weight_kg: -3").replace("time: 24h", "time: tomorrow")
    err = _errors(tmp_path, text)
    lines = sorted(i.line for i in err.issues)
    assert lines == [5, 18]
    assert "greater than 0" in str(err)
    assert "number followed by min, h or d" in str(err)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    err = _errors(tmp_path, GOOD.replace("    sex: M\n", "    sex: [M\n"))
    assert err.line is not None and 4 <= err.line <= 6
    assert "not valid YAML" in str(err)


def test_missing_path(tmp_path: Path) -> None:
    err = _errors(tmp_path, GOOD.replace("path: data/P1/i24", "path: data/P1/nothere"))
    assert err.line == 15
    assert "subjects[0].scans[1].path" in str(err) and "does not exist" in str(err)


def test_subject_without_reference_scan(tmp_path: Path) -> None:
    text = GOOD.replace(
        "tracer: FDG, nuclide: 18F, time: 1h, lesion_reference: true}",
        "tracer: FDG, nuclide: 18F, time: 1h}",
    )
    err = _errors(tmp_path, text)
    assert "subject 'P2' has no lesion-reference scan" in str(err)
    assert err.line == 22  # the `scans:` key of P2
    # ...which is fine when lesion matching is not requested
    ok = text + "analysis:\n  lesions: {enabled: false}\n"
    assert load_study(_write(tmp_path, ok)).analysis.lesions.enabled is False


def test_two_scans_at_same_time_point(tmp_path: Path) -> None:
    text = GOOD.replace(
        "path: data/P2/i1, tracer: 124I-trastuzumab, nuclide: 124I, time: 1h}",
        "path: data/P2/i1, tracer: 124I-trastuzumab, nuclide: 124I, time: 1h}\n"
        "      - {id: I1b, path: data/P2/i1, tracer: 124I-trastuzumab, "
        "nuclide: 124I, time: 60min}",
    )
    err = _errors(tmp_path, text)
    assert "two 124I-trastuzumab scans of subject 'P2' at 60min" in str(err)
    assert err.line == 25


def test_fdg_and_iodine_at_same_time_are_allowed(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, GOOD))
    assert {sc.time_h for sc in study.subject("P2").scans} == {1.0}


def test_duplicate_subject_and_unknown_nuclide(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: P2\n", "  - id: P1\n").replace(
        "nuclide: 124I\n", "nuclide: 999Xx\n"
    )
    err = _errors(tmp_path, text)
    msgs = {i.field: i.message for i in err.issues}
    assert "used more than once" in msgs["subjects[1].id"]
    assert "subjects[0].scans[1].nuclide" in msgs


def test_label_map_of_another_patient_json_sidecar(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        GOOD.replace("        time: 24h\n", "        time: 24h\n        labels: lab/p1.nii.gz\n"),
    )
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab/p1.nii.gz").write_bytes(b"\x00")
    (tmp_path / "lab/p1.json").write_text(json.dumps({"PatientID": "P1"}))
    load_study(path)  # its own label map: fine
    (tmp_path / "lab/p1.json").write_text(json.dumps({"PatientID": "P7"}))
    with pytest.raises(
        StudyFileError, match="label map belongs to patient 'P7', not to subject 'P1'"
    ):
        load_study(path)


def test_label_map_of_another_patient_dicom(tmp_path: Path) -> None:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = pydicom.Dataset()
    ds.PatientID = "SOMEONE-ELSE"
    ds.Modality = "SEG"
    ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    (tmp_path / "seg").mkdir()
    ds.save_as(tmp_path / "seg" / "seg.dcm", enforce_file_format=True)
    text = GOOD.replace("        time: 24h\n", "        time: 24h\n        labels: seg/seg.dcm\n")
    err = _errors(tmp_path, text)
    assert "belongs to patient 'SOMEONE-ELSE'" in str(err)
    assert err.field == "subjects[0].scans[1].labels"


def test_comparison_with_unknown_group(tmp_path: Path) -> None:
    text = GOOD + (
        "analysis:\n  statistics:\n    comparisons:\n"
        "      - {name: x, a: {time: 24h, where: {her3: positive}}, b: {time: 24h}}\n"
    )
    err = _errors(tmp_path, text)
    assert "no subject has a group 'her3'" in str(err)
    assert err.line == 28


def test_time_labels() -> None:
    assert parse_time_label_h("24h") == 24.0
    assert parse_time_label_h("90 min") == 1.5
    assert parse_time_label_h("4d") == 96.0
    with pytest.raises(ValueError):
        parse_time_label_h("24")


def test_json_schema_forbids_unknown_fields() -> None:
    schema = Study.json_schema()
    assert schema["additionalProperties"] is False
    assert {"name", "subjects", "analysis", "preclinical"} <= set(schema["properties"])
    scan = schema["$defs"]["ScanEntry"]
    assert scan["additionalProperties"] is False
    assert {"injected_activity_mbq", "lesion_reference", "labels", "labels_from"} <= set(
        scan["properties"]
    )


def test_schema_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    from immunopet.cli import main

    try:
        main(["schema"])
    except SystemExit as exc:  # typer may or may not exit explicitly on success
        assert exc.code in (0, None)
    assert json.loads(capsys.readouterr().out)["title"] == "immunopet study"


def test_reference_study_example() -> None:
    """examples/reference-study.yaml restates Table 1 of the reference study
    (/work/shared/reference/reference-study.md): 6 patients, 18 HER2+ lesions
    (16 + 2), 12 HER2- lesions listed, FDG as the lesion reference, 1/24/48 h
    (patient 2 also 72 and 96 h), 3 preclinical groups x 5 mice."""
    study = load_study(EXAMPLE, check_files=False)
    assert [s.id for s in study.subjects] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    her2 = {s.id: s.groups["her2"] for s in study.subjects}
    assert [k for k, v in her2.items() if v == "positive"] == ["P1", "P3"]
    n_pos = sum(len(s.lesions) for s in study.subjects if her2[s.id] == "positive")
    n_neg = sum(len(s.lesions) for s in study.subjects if her2[s.id] == "negative")
    assert (n_pos, n_neg) == (18, 12)
    assert [s.cold_antibody_mg for s in study.subjects] == [5, 10, 10, 10, 10, 5]
    for s in study.subjects:
        refs = [sc for sc in s.scans if sc.lesion_reference]
        assert len(refs) == 1 and refs[0].tracer == "FDG"
        times = sorted(sc.time_h for sc in s.scans if sc.nuclide == "124I")
        assert times == ([1, 24, 48, 72, 96] if s.id == "P2" else [1, 24, 48])
    assert study.analysis.statistics.cutoffs[0].value == 4.0
    arm = study.preclinical
    assert arm is not None and len(arm.groups) == 3 and len(arm.animals) == 15
    assert arm.time_points == ["2h", "24h", "48h", "72h", "96h"]


def test_run_with_bad_study_exits_2_before_any_work(tmp_path: Path) -> None:
    from immunopet.cli import main

    path = _write(tmp_path, GOOD.replace("injected_activity_mbq: 74", "injected_activity_mbq: x"))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "-o", str(out), "--quiet"])
    assert info.value.code == 2
    assert not out.exists()
