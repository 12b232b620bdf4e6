"""Tests of the pipeline engine with toy tasks (no science module involved):
keys, caching, atomic writes, failure isolation, SIGKILL + resume, dask = local pool."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunopet.pipeline import EXIT_COMPLETED_WITH_ERRORS, EXIT_OK, Bundle, Task, run_tasks
from immunopet.pipeline.schedule import levels as _levels
from immunopet.pipeline.store import (
    atomic_write,
    find_output,
    read_output,
    task_key,
    write_output,
)
from support.workload import scan_regions, synthetic_tasks, write_dicom_study

N_SUBJECTS = 4
N_TASKS = N_SUBJECTS * 3 + N_SUBJECTS + 1  # scans, TACs, cohort


def _calls(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted((out / "tables").glob("*.parquet"))}


def _assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = _tables(a), _tables(b)
    assert set(ta) == set(tb) == {"measurements", "tacs", "statistics"}
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True)


# --- keys and store ---------------------------------------------------------------------


def test_task_key_depends_on_everything_that_changes_the_output(tmp_path: Path) -> None:
    f = tmp_path / "scan.bin"
    f.write_bytes(b"abc")
    base = task_key(scan_regions, {"a": 1, "b": [1, 2]}, (str(f),), {"up": "k1"}, "0.1.0")
    assert base == task_key(scan_regions, {"b": [1, 2], "a": 1}, (str(f),), {"up": "k1"}, "0.1.0")
    assert base != task_key(scan_regions, {"a": 2, "b": [1, 2]}, (str(f),), {"up": "k1"}, "0.1.0")
    assert base != task_key(scan_regions, {"a": 1, "b": [1, 2]}, (str(f),), {"up": "k2"}, "0.1.0")
    assert base != task_key(scan_regions, {"a": 1, "b": [1, 2]}, (str(f),), {"up": "k1"}, "0.2.0")
    assert base != task_key(run_tasks, {"a": 1, "b": [1, 2]}, (str(f),), {"up": "k1"}, "0.1.0")
    f.write_bytes(b"abd")  # same size, other content: small files are hashed by content
    assert base != task_key(scan_regions, {"a": 1, "b": [1, 2]}, (str(f),), {"up": "k1"}, "0.1.0")
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "1.dcm").write_bytes(b"x")
    k1 = task_key(scan_regions, {}, (str(folder),), {}, "0")
    (folder / "2.dcm").write_bytes(b"y")
    assert k1 != task_key(scan_regions, {}, (str(folder),), {}, "0")


_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_options = st.dictionaries(st.text(min_size=1, max_size=5), _json_scalars, max_size=6)


@given(_options, st.randoms(use_true_random=False))
@settings(max_examples=50, deadline=None)
def test_task_key_ignores_option_order_but_not_values(options, rnd) -> None:  # type: ignore[no-untyped-def]
    items = list(options.items())
    rnd.shuffle(items)
    key = task_key(scan_regions, options, (), {}, "v")
    assert key == task_key(scan_regions, dict(items), (), {}, "v")
    changed = {**options, "__extra__": 1}
    assert key != task_key(scan_regions, changed, (), {}, "v")


def test_atomic_write_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    target.write_bytes(b"old complete content")

    def crash_halfway(fh):  # type: ignore[no-untyped-def]
        fh.write(b"half of the new")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash_halfway)
    assert target.read_bytes() == b"old complete content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]  # no temp left
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert target.read_bytes() == b"new"


def test_outputs_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    pd.testing.assert_frame_equal(read_output(write_output(tmp_path / "k1", df)), df)
    assert read_output(write_output(tmp_path / "k2", {"x": [1, 2]})) == {"x": [1, 2]}
    b = Bundle({"labels": np.arange(8, dtype=np.int16).reshape(2, 2, 2)}, df, {"names": {"1": "l"}})
    back = read_output(write_output(tmp_path / "k3", b))
    assert back.meta == {"names": {"1": "l"}}
    np.testing.assert_array_equal(back.arrays["labels"], b.arrays["labels"])
    pd.testing.assert_frame_equal(back.table, df)
    assert find_output(tmp_path / "k3").suffix == ".npz" and find_output(tmp_path / "k9") is None
    with pytest.raises(TypeError):
        write_output(tmp_path / "k4", 3.14)


def test_levels_order_and_graph_errors() -> None:
    tasks = synthetic_tasks(2)
    levels = _levels(tasks)
    assert [sorted({t.step for t in lv}) for lv in levels] == [["scan"], ["tac"], ["cohort"]]
    with pytest.raises(ValueError, match="unknown task"):
        _levels([Task("a", "s", scan_regions, deps=("zzz",))])
    with pytest.raises(ValueError, match="cycle"):
        _levels(
            [Task("a", "s", scan_regions, deps=("b",)), Task("b", "s", scan_regions, deps=("a",))]
        )


# --- caching, failures ----------------------------------------------------------------


def test_rerun_recomputes_nothing(tmp_path: Path) -> None:
    counter = tmp_path / "calls.txt"
    out = tmp_path / "out"
    first = run_tasks(synthetic_tasks(N_SUBJECTS, counter_file=str(counter)), out, workers=2)
    assert first.exit_code == EXIT_OK and first.n_computed == N_TASKS
    assert len(_calls(counter)) == N_TASKS
    before = _tables(out)
    second = run_tasks(synthetic_tasks(N_SUBJECTS, counter_file=str(counter)), out, workers=2)
    assert (second.n_cached, second.n_computed) == (N_TASKS, 0)
    assert len(_calls(counter)) == N_TASKS  # not one function called again
    for name, df in _tables(out).items():
        pd.testing.assert_frame_equal(df, before[name])
    m = before["measurements"]
    assert len(m) == N_SUBJECTS * 3 * 6 * 3  # subjects × scans × regions × metrics
    assert list(m.columns[:10]) == ["subject", "scan_id", "tracer", "nuclide", "time_h", "region",
                                   "region_kind", "metric", "value", "unit"]  # fmt: skip
    assert json.loads((out / "errors.json").read_text()) == []


def test_changed_option_reruns_only_what_depends_on_it(tmp_path: Path) -> None:
    counter = tmp_path / "calls.txt"
    out = tmp_path / "out"
    run_tasks(synthetic_tasks(3, counter_file=str(counter)), out, workers=0)
    counter.unlink()
    tasks = synthetic_tasks(3, counter_file=str(counter))
    i = next(i for i, t in enumerate(tasks) if t.name == "scan/S002/24h")
    tasks[i] = Task(**{**tasks[i].__dict__, "options": {**tasks[i].options, "shape": 40}})
    summary = run_tasks(tasks, out, workers=0)
    assert sorted(_calls(counter)) == ["cohort", "scan/S002/24h", "tac/S002"]
    assert summary.n_computed == 3


def test_failure_of_one_subject_is_isolated(tmp_path: Path) -> None:
    counter = tmp_path / "calls.txt"
    fail_dir = tmp_path / "fail"
    fail_dir.mkdir()
    (fail_dir / "S002").touch()
    out = tmp_path / "out"
    opts = {"counter_file": str(counter), "fail_dir": str(fail_dir)}
    summary = run_tasks(synthetic_tasks(N_SUBJECTS, **opts), out, workers=2)
    assert summary.exit_code == EXIT_COMPLETED_WITH_ERRORS == 3
    errors = json.loads((out / "errors.json").read_text())
    assert [(e["subject"], e["step"], e["error_type"]) for e in errors] == [
        ("S002", "scan", "ValueError")
    ] * 3
    assert "synthetic failure of subject S002" in errors[0]["message"]
    assert errors[0]["skipped_downstream"] == ["tac/S002"]
    tables = _tables(out)
    assert sorted(tables["measurements"].subject.unique()) == ["S001", "S003", "S004"]
    assert sorted(tables["tacs"].subject.unique()) == ["S001", "S003", "S004"]
    assert set(tables["statistics"]["n"]) == {3}  # the cohort step ran on the 3 that finished
    # fix the subject and rerun: only its tasks and the cohort step are computed
    (fail_dir / "S002").unlink()
    counter.unlink()
    again = run_tasks(synthetic_tasks(N_SUBJECTS, **opts), out, workers=2)
    assert again.exit_code == EXIT_OK
    assert sorted(_calls(counter)) == ["cohort", "scan/S002/1h", "scan/S002/24h", "scan/S002/48h",
                                       "tac/S002"]  # fmt: skip
    assert json.loads((out / "errors.json").read_text()) == []
    assert set(_tables(out)["statistics"]["n"]) == {4}


def test_tables_of_a_failed_rerun_are_not_left_stale(tmp_path: Path) -> None:
    run_tasks(synthetic_tasks(1), tmp_path / "out", workers=0)
    assert set(_tables(tmp_path / "out")) == {"measurements", "tacs", "statistics"}
    (tmp_path / "S001").touch()
    summary = run_tasks(synthetic_tasks(1, fail_dir=str(tmp_path)), tmp_path / "out", workers=0)
    assert summary.exit_code == 3
    assert _tables(tmp_path / "out") == {}
    assert not list((tmp_path / "out" / "tables").glob("*.csv"))


def test_json_log_events(tmp_path: Path) -> None:
    log = io.StringIO()
    run_tasks(synthetic_tasks(2), tmp_path / "out", workers=0, log=log)
    run_tasks(synthetic_tasks(2), tmp_path / "out", workers=0, log=log)
    events = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(events) == 2 * 9
    assert [e["status"] for e in events[:9]] == ["done"] * 9
    assert [e["status"] for e in events[9:]] == ["cached"] * 9
    assert {e["step"] for e in events} == {"scan", "tac", "cohort"}


def _warning_task(options, upstream):  # type: ignore[no-untyped-def]
    import warnings

    from immunopet.core.errors import ImmunopetWarning

    warnings.warn("label 'spleen' lost on the PET grid", ImmunopetWarning, stacklevel=1)
    warnings.warn("label 'spleen' lost on the PET grid", ImmunopetWarning, stacklevel=1)
    return pd.DataFrame({"x": [options["x"]]})


def test_task_warnings_are_collected_and_survive_caching(tmp_path: Path) -> None:
    tasks = [Task("w/1", "w", _warning_task, {"x": 1}, subject="S1", table="w")]
    first = run_tasks(tasks, tmp_path, workers=1)
    expected = [{"subject": "S1", "step": "w", "task": "w/1", "category": "ImmunopetWarning",
                 "message": "label 'spleen' lost on the PET grid"}]  # fmt: skip
    assert first.warnings == expected and first.exit_code == EXIT_OK
    again = run_tasks(tasks, tmp_path, workers=1)
    assert again.n_cached == 1 and again.warnings == expected
    assert json.loads((tmp_path / "warnings.json").read_text()) == expected


# --- SIGKILL halfway, then resume ------------------------------------------------------

_DRIVER = """
import sys
sys.path.insert(0, {tests_dir!r})
from immunopet.pipeline.engine import run_tasks
from support.workload import synthetic_tasks
tasks = synthetic_tasks({n}, counter_file=sys.argv[2], sleep_s=float(sys.argv[3]))
run_tasks(tasks, sys.argv[1], workers=1)
"""


def _finished(out: Path) -> set[str]:
    cache = out / ".cache"
    return {p.stem for p in cache.glob("[!.]*/[!.]*") if p.suffix in {".parquet", ".json", ".npz"}}


@pytest.mark.slow
def test_sigkill_halfway_then_resume(tmp_path: Path) -> None:
    out, counter = tmp_path / "out", tmp_path / "calls.txt"
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER.format(n=N_SUBJECTS, tests_dir=str(Path(__file__).parent)))
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(out), str(counter), "0.15"], start_new_session=True
    )
    deadline = time.monotonic() + 60
    while len(_finished(out)) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool worker, mid-task
    proc.wait()
    done_before = len(_finished(out))
    assert 5 <= done_before < N_TASKS, "the kill should land halfway"
    assert not (out / "tables").exists()
    calls_before = _calls(counter)
    # resume: the same command again
    subprocess.run([sys.executable, str(driver), str(out), str(counter), "0.15"], check=True)
    calls_after = _calls(counter)[len(calls_before) :]
    assert len(calls_after) == N_TASKS - done_before  # finished tasks not recomputed
    finished_names = set(calls_before[:done_before])
    assert finished_names.isdisjoint(calls_after)
    # identical final tables to an uninterrupted run
    ref = tmp_path / "ref"
    run_tasks(synthetic_tasks(N_SUBJECTS), ref, workers=1)
    _assert_same_tables(out, ref)
    assert not list((out / ".cache").glob("*/.*.tmp"))


# --- dask.distributed gives the same tables ------------------------------------------


def test_dask_in_process_cluster_gives_identical_tables(tmp_path: Path) -> None:
    """The same tasks through dask.distributed (client.submit + as_completed), reached
    by scheduler address as with ``--scheduler tcp://HOST:PORT``, and by a client."""
    distributed = pytest.importorskip("distributed")
    from immunopet.pipeline.executors import DaskExecutor

    run_tasks(synthetic_tasks(N_SUBJECTS), tmp_path / "local", workers=2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        by_address = run_tasks(
            synthetic_tasks(N_SUBJECTS), tmp_path / "dask", scheduler=cluster.scheduler_address
        )
        with distributed.Client(cluster) as client:
            by_client = run_tasks(
                synthetic_tasks(N_SUBJECTS), tmp_path / "dask2",
                executor=DaskExecutor.from_client(client),
            )  # fmt: skip
    assert by_address.n_computed == by_client.n_computed == N_TASKS
    assert by_address.executor.startswith("dask.distributed scheduler")
    _assert_same_tables(tmp_path / "local", tmp_path / "dask")
    _assert_same_tables(tmp_path / "local", tmp_path / "dask2")


@pytest.mark.slow
def test_dask_local_cluster_processes_gives_identical_tables(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    run_tasks(synthetic_tasks(N_SUBJECTS), tmp_path / "local", workers=1)
    summary = run_tasks(synthetic_tasks(N_SUBJECTS), tmp_path / "dask", workers=1,
                        scheduler="local-cluster")  # fmt: skip
    assert summary.executor.startswith("dask LocalCluster")
    _assert_same_tables(tmp_path / "local", tmp_path / "dask")


# --- the study pipeline through the CLI ------------------------------------------------

STUDY = """\
name: broken files
subjects:
  - id: A
    scans:
      - {id: FDG, path: data/A/fdg, tracer: FDG, nuclide: 18F, time: 1h, lesion_reference: true}
      - {id: I24, path: data/A/i24, tracer: 124I-trastuzumab, nuclide: 124I, time: 24h}
  - id: B
    scans:
      - {id: FDG, path: data/B/fdg, tracer: FDG, nuclide: 18F, time: 1h, lesion_reference: true}
"""


def test_cli_run_with_unreadable_scans_completes_with_errors(tmp_path: Path) -> None:
    """Valid study, but the scan folders hold no image: every subject fails in its own
    tasks, each failure is recorded, and the exit code is 3, not a crash."""
    from immunopet.cli import main

    for sub in ("A/fdg", "A/i24", "B/fdg"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    (tmp_path / "data/A/fdg/readme.txt").write_text("not an image")
    study = tmp_path / "study.yaml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "-o", str(out), "--workers", "0", "--quiet", "--no-report",
              "--log-file", str(tmp_path / "log.jsonl")])  # fmt: skip
    assert info.value.code == 3
    events = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    status = {e["task"]: e["status"] for e in events if e["event"] == "task"}
    assert status["lesions/A"] == "error" and status["measure/A/I24"] == "skipped"
    assert status["subjects"] == "done"
    errors = json.loads((out / "errors.json").read_text())
    assert {(e["subject"], e["step"]) for e in errors} >= {("A", "lesions"), ("B", "lesions")}
    a = next(e for e in errors if e["task"] == "lesions/A")
    assert set(a["skipped_downstream"]) >= {"measure/A/FDG", "measure/A/I24"}
    assert json.loads((out / "study.json").read_text())["study"]["name"] == "broken files"
    assert pd.read_parquet(out / "tables" / "subjects.parquet").subject.tolist() == ["A", "B"]


def test_cli_run_only_unknown_subject_is_bad_input(tmp_path: Path) -> None:
    from immunopet.cli import main

    for sub in ("A/fdg", "A/i24", "B/fdg"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    study = tmp_path / "study.yaml"
    study.write_text(STUDY)
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "-o", str(tmp_path / "out"), "--only", "Z", "--quiet"])
    assert info.value.code == 2


def test_report_without_run_is_bad_input(tmp_path: Path) -> None:
    from immunopet.cli import main

    with pytest.raises(SystemExit) as info:
        main(["report", str(tmp_path)])
    assert info.value.code == 2


def test_reference_study_graph() -> None:
    """One lesion task per patient on FDG; every scan measured after it; TAC → TIA → dose."""
    from immunopet.pipeline.plan import build_tasks
    from immunopet.study import load_study

    example = Path(__file__).resolve().parents[1] / "examples" / "reference-study.yaml"
    tasks = build_tasks(load_study(example, check_files=False))
    steps = pd.Series([t.step for t in tasks]).value_counts().to_dict()
    assert steps == {"measure": 26, "mips": 26, "lesions": 6, "tacs": 6, "tias": 6, "doses": 6, "subjects": 1,
                     "statistics": 1, "preclinical": 1}  # fmt: skip
    by = {t.name: t for t in tasks}
    assert by["measure/P2/I124-96h"].deps == ("lesions/P2",)
    assert by["lesions/P1"].options["policy"]["method"] == "relative:0.41"
    assert by["lesions/P1"].options["scan"]["path"].endswith("data/P1/fdg-1h")
    assert by["tacs/P1"].options["tracer"] == "124I-trastuzumab"
    assert len(by["tacs/P2"].deps) == 6
    assert by["statistics"].optional_deps and len(by["statistics"].deps) == 26 + 6
    assert [lv[0].step for lv in _levels(tasks)][:2] == ["lesions", "measure"]


# --- end to end on a small generated DICOM study ---------------------------------------


@pytest.mark.slow
def test_end_to_end_generated_study(tmp_path: Path) -> None:
    """`immunopet run` on generated DICOM recovers the SUVs written into the images."""
    pytest.importorskip("immunopet.io")
    from immunopet.cli import main

    study = write_dicom_study(tmp_path, 2, dosimetry=True)
    out = tmp_path / "out"
    try:
        main(["run", str(study), "-o", str(out), "--workers", "2", "--quiet"])
    except SystemExit as exc:
        errors = (out / "errors.json").read_text() if (out / "errors.json").exists() else ""
        assert exc.code in (0, None), errors
    t = _tables(out)
    assert {"measurements", "lesions", "tacs", "tias", "statistics", "subjects"} <= set(t)
    m = t["measurements"]
    liver = m[(m.region == "liver") & (m.metric == "suv_mean")]
    assert len(liver) == 8  # 2 subjects × 4 scans
    np.testing.assert_allclose(liver.value, 3.0, rtol=0.01)  # int16 rescale error only
    les = t["lesions"]
    assert les.subject.tolist() == ["G001", "G002"] and les.truth_id.tolist() == ["L1", "L1"]
    np.testing.assert_allclose(les.equivalent_diameter_mm, 24.0, rtol=0.1)
    lm = m[(m.region_kind == "lesion") & (m.metric == "suv_max") & (m.subject == "G001")]
    got = dict(zip(lm.scan_id, lm.value, strict=True))
    assert got["FDG-1h"] == pytest.approx(9.0, rel=0.01)
    assert got["I124-24h"] == pytest.approx(8.0, rel=0.01)
    assert got["I124-48h"] == pytest.approx(6.0, rel=0.01)
    tias = t["tias"]
    assert {"liver", "whole_body"} <= set(tias[tias.subject == "G001"].region)
    assert (tias.tia_bq_h > 0).all()
    d = t["doses"].set_index(["subject", "quantity", "target"])["value"]
    e_per_mbq = d[("G001", "effective_dose", "whole_body")]
    assert e_per_mbq > 0
    # the injected activity (74 MBq, from the DICOM headers) reaches the per-scan dose
    assert d[("G001", "effective_dose_per_scan", "whole_body")] == pytest.approx(74 * e_per_mbq)
    mips = sorted((out / "mip").glob("*.png"))
    assert len(mips) == 8 and mips[0].name == "G001_FDG-1h.png"  # one per scan, drawn as tasks
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in mips)
    first = json.loads((out / "run.json").read_text())
    assert first["subjects"] == 2 and 0.05 < first["worker_peak_gb"] < 8.0  # a worker's own RSS
    html = (out / "report.html").read_text()  # the report module's page of this run
    assert "generated study" in html and "data:image/png;base64" in html
    (out / "report.html").unlink()
    try:
        main(["report", str(out)])  # `immunopet report OUT` rewrites it from the tables
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert "generated study" in (out / "report.html").read_text()
    # a rerun is all cached and writes the same tables
    try:
        main(["run", str(study), "-o", str(out), "--quiet", "--no-report"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    run = json.loads((out / "run.json").read_text())
    assert run["computed"] == 0 and run["cached"] == run["tasks"]
    assert sorted((out / "mip").glob("*.png")) == mips  # copied from the cached figure tasks
    for name, df in _tables(out).items():
        pd.testing.assert_frame_equal(df, t[name])


# --- step adapters that need no image ---------------------------------------------------


def test_lesions_are_paired_with_their_truth_by_centroid() -> None:
    from immunopet.workflow import match_truth as _match_truth

    detected = pd.DataFrame(
        {"lesion_id": [1, 2, 3], "centroid_x_mm": [0.0, 50.0, 200.0],
         "centroid_y_mm": [0.0, 0.0, 0.0], "centroid_z_mm": [0.0, 0.0, 0.0]}
    )  # fmt: skip
    truth = [
        {"id": "liver-1", "site": "liver", "her2": "positive", "center_mm": [48.0, 3.0, 0.0]},
        {"id": "node-1", "site": "lymph_node", "her2": "negative", "center_mm": [1.0, 1.0, 1.0],
         "analysed": False},
        {"id": "far", "site": "sacrum", "her2": None, "center_mm": [120.0, 0.0, 0.0]},
        {"id": "no-position", "site": "spine", "her2": None},
    ]  # fmt: skip
    out = _match_truth(detected, truth, max_mm=15.0)
    assert out.truth_id.tolist() == ["node-1", "liver-1", None]
    assert out.her2.tolist() == ["negative", "positive", None]
    assert out.analysed.tolist() == [False, True, True]


def test_preclinical_table_from_csv_and_study_values(tmp_path: Path) -> None:
    from immunopet.pipeline.steps import preclinical_uptake

    csv = tmp_path / "uptake.csv"
    pd.DataFrame(
        {"animal": ["m1", "m1", "m1"], "group": ["tras", "tras", "tras"],
         "time": ["24h", "24h", "24h"], "region": ["tumour", "muscle", "tumour_to_muscle"],
         "percent_id_per_g": [11.9, 1.3, np.nan]}
    ).to_csv(csv, index=False)  # fmt: skip
    options = {
        "uptake": [{"animal": "m2", "group": "igg", "time_h": 2.0, "region": "tumour",
                    "value": 3.8}],
        "uptake_table": str(csv),
        "animals": [{"id": "m1", "group": "tras"}],
    }  # fmt: skip
    df = preclinical_uptake(options, {})
    assert df[["animal", "time_h", "region", "value"]].values.tolist() == [
        ["m2", 2.0, "tumour", 3.8],
        ["m1", 24.0, "muscle", 1.3],
        ["m1", 24.0, "tumour", 11.9],
    ]  # T/M rows of the CSV (NaN %ID/g) are left to the report, which derives them
    assert set(df.unit) == {"%ID/g"} and set(df.metric) == {"percent_id_per_g"}


def test_tac_step_keeps_the_tac_tracer_and_activity_metrics() -> None:
    from immunopet.pipeline.steps import subject_tacs

    rows = []
    for tracer, t in (("FDG", 1.0), ("124I-trastuzumab", 1.0), ("124I-trastuzumab", 24.0)):
        for metric in ("activity_bq", "suv_max", "voxels"):
            rows.append(("S1", f"{tracer}@{t}", tracer, "x", t, "liver", "organ", metric, 1.0, "u"))
    cols = ["subject", "scan_id", "tracer", "nuclide", "time_h", "region", "region_kind",
            "metric", "value", "unit"]  # fmt: skip
    m = pd.DataFrame(rows, columns=cols)
    tac = subject_tacs({"tracer": "124I-trastuzumab"}, {"measure/S1/a": m})
    assert set(tac.tracer) == {"124I-trastuzumab"}
    assert sorted(set(tac.metric)) == ["activity_bq", "suv_max"]
    assert tac[tac.metric == "activity_bq"].time_h.tolist() == [1.0, 24.0]


def test_critical_path_heights_order_ready_tasks() -> None:
    """Per-subject chains before their leaves: a lesion task (3 below it) outranks a figure."""
    from immunopet.pipeline.schedule import heights

    tasks = [
        Task("lesions/A", "lesions", scan_regions),
        Task("measure/A", "measure", scan_regions, deps=("lesions/A",)),
        Task("mips/A", "mips", scan_regions, deps=("measure/A",)),
        Task("tacs/A", "tacs", scan_regions, deps=("measure/A",)),
        Task("tias/A", "tias", scan_regions, deps=("tacs/A",)),
        Task("statistics", "statistics", scan_regions, deps=("measure/A",)),
    ]
    h = heights(tasks)
    assert h == {"lesions/A": 3, "measure/A": 2, "tacs/A": 1, "mips/A": 0, "tias/A": 0,
                 "statistics": 0}  # fmt: skip


def _echo_task(options, upstream):  # type: ignore[no-untyped-def]
    return {"name": options["name"], "upstream": sorted(upstream)}


def test_ready_tasks_run_by_critical_path_without_level_barriers(tmp_path: Path) -> None:
    """One task slot: the chain C0 → C1 → C2 goes first, its C1 (level 1) before the
    independent X (level 0) — no barrier between dependency levels."""
    import io

    from immunopet.pipeline.engine import run_tasks
    from immunopet.pipeline.executors import InlineExecutor

    def t(name, *deps):  # type: ignore[no-untyped-def]
        return Task(name, "step", _echo_task, {"name": name}, deps=deps)

    tasks = [t("C0"), t("X"), t("C1", "C0"), t("C2", "C1")]
    executor = InlineExecutor()
    executor.slots = 1  # type: ignore[attr-defined]
    log = io.StringIO()
    summary = run_tasks(tasks, tmp_path, executor=executor, log=log)
    assert summary.n_computed == len(tasks)
    order = [json.loads(line)["task"] for line in log.getvalue().splitlines()]
    assert order == ["C0", "C1", "X", "C2"]  # level by level would be C0, X, C1, C2


def test_study_execution_section_sets_the_run_and_the_flags_win(tmp_path: Path) -> None:
    """`execution: {workers: 0}` runs inline; `--workers 1` overrides it; keys unchanged."""
    import yaml

    from immunopet.cli import main

    study = write_dicom_study(tmp_path / "s", 1)
    doc = yaml.safe_load(study.read_text())
    doc["execution"] = {"workers": 0, "threads": 1}
    study.write_text(yaml.safe_dump(doc))
    for args, executor in (
        (["--no-report"], "inline"),
        (["--workers", "1", "--no-report"], "local"),
    ):
        out = tmp_path / f"out_{executor}"
        try:
            main(["run", str(study), "-o", str(out), "--quiet", *args])
        except SystemExit as exc:
            assert exc.code in (0, None)
        run = json.loads((out / "run.json").read_text())
        assert run["executor"].startswith(executor), run["executor"]
    doc["execution"] = {"wokers": 2}
    study.write_text(yaml.safe_dump(doc))
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "-o", str(tmp_path / "bad"), "--quiet"])
    assert info.value.code == 2
