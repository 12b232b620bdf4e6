"""Pipeline throughput: 1 vs 2 local workers, and dask LocalCluster = local pool.

Target (issue 6): a 20-subject generated cohort runs with 2 local workers at
≥ 1.6× the single-worker throughput, and the same run on a dask.distributed
LocalCluster gives identical tables.

Workloads (``--workload``):

``synthetic`` (default)
    :func:`support.workload.synthetic_tasks` — 20 subjects × 3 scans
    of generated 3-D images (blur + region statistics), per-subject TAC
    integration, a cohort summary: the engine's own overhead and scaling,
    independent of the science modules.
``dicom``
    :func:`support.workload.write_dicom_study` — 20 subjects × 4 real
    DICOM PET series (FDG + 124I at 1/24/48 h) run through the real steps
    (load → SUV → labels → lesions → measure → TAC → TIA → statistics).

Every run starts from an empty output folder (no cache). "Worker occupancy" is
the tasks' own time / (wall time × workers): how busy the engine keeps its
workers; on a shared machine the tasks' own time grows when two run at once. Prints one line per
run, the speed-up and the load average; exits 1 if the tables differ, or if the
speed-up is < 1.6 on an idle machine (on a busy one the verdict is "not judged").

Usage: ``python benchmarks/bench_pipeline.py [--workload synthetic|dicom] [--subjects 20]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from immunopet.pipeline import run_tasks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test-only workloads
from support.workload import synthetic_tasks, write_dicom_study

TARGET_SPEEDUP = 1.6


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted((out / "tables").glob("*.parquet"))}


def _same(a: Path, b: Path) -> bool:
    ta, tb = _tables(a), _tables(b)
    if set(ta) != set(tb):
        return False
    for name in ta:
        try:
            pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True)
        except AssertionError as exc:
            print(f"  table {name} differs: {str(exc).splitlines()[0]}")
            return False
    return True


def main() -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("synthetic", "dicom"), default="synthetic")
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--shape", type=int, default=80, help="synthetic image size (voxels)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    try:
        return _bench(args, work)
    finally:
        if args.keep:
            print(f"outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path) -> int:
    load_before = os.getloadavg()[0]  # before our own workers add to it
    print(f"cpu cores: {os.cpu_count()}  load average before the runs: {load_before:.1f}")

    if args.workload == "synthetic":

        def run(out: Path, **kw):  # type: ignore[no-untyped-def]
            return run_tasks(synthetic_tasks(args.subjects, shape=args.shape), out, **kw)

        n_scans = args.subjects * 3
    else:
        from immunopet.pipeline import run_study
        from immunopet.study import load_study

        t0 = time.perf_counter()
        study = load_study(write_dicom_study(work / "study", args.subjects))
        print(f"generated {args.subjects} subjects of DICOM in {time.perf_counter() - t0:.1f} s")

        def run(out: Path, **kw):  # type: ignore[no-untyped-def]
            return run_study(study, out, report=False, **kw)

        n_scans = sum(len(s.scans) for s in study.subjects)

    results = {}
    for label, kw in (("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})):
        out = work / label.replace(" ", "_")
        t0 = time.perf_counter()
        summary = run(out, **kw)
        dt = time.perf_counter() - t0
        results[label] = (dt, out)
        occupancy = summary.compute_seconds / (dt * kw["workers"])
        print(
            f"{label:>10}: {dt:6.2f} s  {n_scans / dt:6.2f} scans/s  "
            f"(tasks' own time {summary.compute_seconds:6.2f} s, worker occupancy "
            f"{occupancy:4.0%}; {summary.n_computed} tasks, {len(summary.errors)} errors)"
        )
    speedup = results["1 worker"][0] / results["2 workers"][0]
    print(f"speed-up 2 vs 1 workers: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)")
    ok = True
    if speedup >= TARGET_SPEEDUP:
        print("speed-up target: MET")
    elif load_before > 0.5 * (os.cpu_count() or 1):
        print(
            f"speed-up target: NOT JUDGED — the machine is busy (load average {load_before:.1f} on "
            f"{os.cpu_count()} cores): other processes take the second core. Rerun on an idle machine."
        )
    else:
        print("speed-up target: NOT MET")
        ok = False
    same = _same(results["1 worker"][1], results["2 workers"][1])
    print(f"tables 1 worker == 2 workers: {same}")
    ok &= same
    if not args.no_dask:
        out = work / "dask"
        t0 = time.perf_counter()
        summary = run(out, workers=2, scheduler="local-cluster")
        dt = time.perf_counter() - t0
        same = _same(results["1 worker"][1], out)
        print(
            f"dask LocalCluster (2 worker processes): {dt:6.2f} s (incl. cluster start)  "
            f"tables identical to local pool: {same}"
        )
        ok &= same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
