"""CLI usage mistakes and run-time refusals: one line + the usage hint, exit 2, no traceback.

Rule (issue 11): typer ≥ 0.20 raises its own vendored click exceptions; every one of
them, and click's, ends in one ``immunopet error:`` line, a ``Try '… --help'.`` hint
and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from immunopet.core.version import __version__
from support.cli import run_cli as run

USAGE_MISTAKES = {
    "no arguments": [],
    "unknown command": ["bogus"],
    "unknown option": ["info", "--nope"],
    "missing -o": ["suv", "somewhere"],
    "missing argument": ["run"],
    "--workers not a number": ["run", "study.yaml", "--workers", "x"],
    "--workers < 0": ["run", "study.yaml", "--workers", "-1"],
    "--kind without value": ["suv", "p", "-o", "o.nii.gz", "--kind"],
}


@pytest.mark.parametrize("name", sorted(USAGE_MISTAKES))
def test_usage_mistakes_one_line_and_hint(capsys, name):
    code, _out, err = run(USAGE_MISTAKES[name], capsys)
    lines = err.strip().splitlines()
    assert code == 2
    assert "Traceback" not in err
    assert len(lines) == 2 and lines[0].startswith("immunopet error:")
    assert lines[1].startswith("Try 'immunopet") and lines[1].endswith("--help'.")


def test_version(capsys):
    code, out, err = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"immunopet {__version__}" and not err


STUDY = """\
name: cli errors
subjects:
  - id: A
    scans:
      - {id: FDG, path: data/A/fdg, tracer: FDG, nuclide: 18F, time: 1h, lesion_reference: true}
"""


def _study(tmp_path: Path) -> Path:
    (tmp_path / "data" / "A" / "fdg").mkdir(parents=True)
    study = tmp_path / "study.yaml"
    study.write_text(STUDY)
    return study


def test_run_output_onto_an_existing_file(tmp_path, capsys):
    study = _study(tmp_path)
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    code, _, err = run(["run", study, "-o", target, "--quiet"], capsys)
    assert code == 2 and str(target) in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "not a folder"


def test_unreachable_scheduler_one_line(tmp_path, capsys):
    # Port 9 (discard) on localhost: nothing listens; the connect fails fast or times out
    # after pipeline.executors.SCHEDULER_CONNECT_TIMEOUT_S.
    study = _study(tmp_path)
    code, _, err = run(
        ["run", study, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", "--quiet"],
        capsys,
    )
    assert code == 2 and "scheduler" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cohort_errors_carry_file_and_field(tmp_path, capsys):
    # Rule: errors.json carries the ImmunopetError text with its file and field.
    study = _study(tmp_path)
    bad = tmp_path / "data" / "A" / "fdg" / "IM0001.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")
    code, _, _ = run(
        ["run", study, "-o", tmp_path / "out", "--workers", "0", "--quiet", "--no-report"],
        capsys,
    )
    assert code == 3
    errors = json.loads((tmp_path / "out" / "errors.json").read_text())
    first = next(e for e in errors if e["subject"] == "A")
    assert first["file"] and str(tmp_path / "data" / "A" / "fdg") in first["file"]
    assert first["field"] == "Modality" and first["file"] in first["message"]


def test_unexpected_exception_reported_with_the_input_read():
    # Rule: a non-Immunopet exception in a subject names the file being read, not only
    # "ValueError: hour must be in 0..23".
    from immunopet.core.errors import InvalidValueError
    from immunopet.pipeline.failure import describe_failure

    try:
        raise ValueError("hour must be in 0..23")
    except ValueError as exc:
        failure = describe_failure(exc, {"path": "/data/A/fdg", "tracer": "FDG"})
    assert failure["file"] == "/data/A/fdg"
    assert "hour must be in 0..23" in failure["message"] and "/data/A/fdg" in failure["message"]
    known = describe_failure(
        InvalidValueError("bad", file="/data/x.dcm", field="AcquisitionTime"), {}
    )
    assert known == {
        "message": "/data/x.dcm: field AcquisitionTime: bad",
        "file": "/data/x.dcm",
        "field": "AcquisitionTime",
    }
