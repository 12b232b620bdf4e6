"""Benchmark: cohort throughput with 1 and 2 local workers on the DICOM workload (issue 16).

The DICOM study of ``tests/support/workload.py`` (``write_dicom_study``: per
subject an FDG and three ¹²⁴I scans, organ labels, one lesion) is analysed by
``immunopet run`` (:func:`immunopet.pipeline.run_study`, no report) with 1
and then 2 local worker processes, each run in a fresh process and a fresh
output folder (nothing cached). Printed: wall time, time per subject,
throughput ratio, and the peak memory of one worker (the largest ``ru_maxrss``
a worker reported with a task, ``RunSummary.worker_peak_bytes``) — the
memory-per-worker figure of the cluster rule of thumb.
The floor is the 1-worker run's own compute time divided by the number of
cores: the best a perfect pool could do.

Target (issue 16): 2 workers ≥ 1.8 × the throughput of 1 worker. The
machine must be otherwise idle for the ratio to mean anything. Each run
pays a fixed start (~1.4 s here: Python, NumPy/SciPy, pydicom, SimpleITK and
numba's first dispatch, in the parent and in every worker at once), printed as
"first task done after"; at 6 small subjects it caps the ratio near 1.6×, at
24 (``--subjects 24``) it is amortised.

Run::

    PYTHONPATH=src python benchmarks/bench_cohort.py [--subjects 6 24] [--voxels 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(study_path: Path, out: Path, workers: int) -> dict[str, float]:
    from immunopet.pipeline import run_study
    from immunopet.study import load_study

    import io

    study = load_study(study_path)
    log = io.StringIO()
    t0, t0_epoch = time.perf_counter(), time.time()
    summary = run_study(study, out, workers=workers, quiet=True, report=False, log=log)
    done = [json.loads(line) for line in log.getvalue().splitlines()]
    first = min(e["time"] for e in done if e.get("status") == "done") - t0_epoch
    return {
        "wall_s": time.perf_counter() - t0,
        "first_done_s": first,
        "compute_s": summary.compute_seconds,
        "failed": len(summary.errors),
        "worker_peak_gb": summary.worker_peak_bytes / 1e9,
        "parent_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
    }


def run(study_path: Path, out: Path, workers: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(study_path), str(out), str(workers)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[6, 24],
                        help="Cohort sizes, each run with 1 and 2 workers (default 6 24).")  # fmt: skip
    parser.add_argument("--voxels", type=int, default=40)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        study_path, out, workers = args.child
        print(json.dumps(child(Path(study_path), Path(out), int(workers))))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from support.workload import write_dicom_study

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for n in args.subjects:
        with tempfile.TemporaryDirectory() as tmp:
            study = write_dicom_study(Path(tmp) / "study", n, voxels=args.voxels)
            res = {w: run(study, Path(tmp) / f"out{w}", w) for w in (1, 2)}
        print(f"== {n} subjects")
        for w, r in res.items():
            print(f"{w} worker(s): {r['wall_s']:6.1f} s for {n} subjects ({r['wall_s'] / n:5.2f} s "
                  f"per subject), failed {r['failed']}, worker peak RSS "
                  f"{r['worker_peak_gb']:.2f} GB, parent {r['parent_peak_gb']:.2f} GB; first task "
                  f"done after {r['first_done_s']:.1f} s (each process's fixed start)")  # fmt: skip
        floor = res[1]["compute_s"] / max(1, cores or 1)
        print(
            f"floor (1-worker compute {res[1]['compute_s']:.1f} s / {cores} cores): {floor:.1f} s"
        )
        print(f"throughput 2 vs 1 worker at {n} subjects: "
              f"{res[1]['wall_s'] / res[2]['wall_s']:.2f}× (target ≥ 1.8×)")  # fmt: skip


if __name__ == "__main__":
    main()
