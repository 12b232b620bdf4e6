"""Worker limits (issue 16): threads per worker, death with the parent, the memory guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from immunopet.pipeline.engine import TaskCall
from immunopet.pipeline.executors import LocalExecutor
from immunopet.pipeline.worker_limits import (
    BASE_WORKER_BYTES,
    BYTES_PER_PET_VOXEL,
    MemoryBudgetError,
    available_cores,
    check_scan_budget,
    estimate_scan_bytes,
    threads_per_worker,
)


def test_threads_per_worker_never_oversubscribe() -> None:
    cores = available_cores()
    for workers in (1, 2, 3, cores, 2 * cores):
        t = threads_per_worker(workers)
        assert t >= 1
        assert workers * t <= max(cores, workers)
    assert threads_per_worker(2, threads=3) == 3


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            state = next(line for line in fh if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return False
    return "Z" not in state.split()[1]  # a zombie has ended


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from immunopet.pipeline.executors import LocalExecutor
            ex = LocalExecutor(2, threads=1)
            ex.start()
            pids = [p.pid for p in ex._pool._processes.values()]
            print(" ".join(map(str, pids)), flush=True)
            time.sleep(120)
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)  # no cleanup code of the parent runs
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "pool workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_worker_thread_limit_is_applied() -> None:
    ex = LocalExecutor(1, threads=1)
    try:
        assert ex.threads == 1
        results = list(ex.map_unordered(_call_numba_threads, [None]))
        assert results[0][1] == 1
    finally:
        ex.close()


def _call_numba_threads(_call: object) -> int:
    return _numba_threads()


def _write_pet(folder: Path, shape: tuple[int, int, int]) -> None:
    from datetime import datetime

    from immunopet.core.nuclides import Nuclide
    from immunopet.core.scan import Acquisition
    from immunopet.core.volume import Volume
    from immunopet.io.dicom_write import write_pet_series

    acq = Acquisition(
        nuclide=Nuclide.from_name("F-18"), units="BQML", decay_correction="START",
        scan_start_datetime=datetime(2026, 1, 1, 10), injection_datetime=datetime(2026, 1, 1, 9),
        injected_activity_bq=3e8, patient_weight_kg=70.0,
    )  # fmt: skip
    write_pet_series(Volume(np.ones(shape), (2.0, 2.0, 2.0)), acq, folder)


def test_memory_guard_estimates_from_headers_and_refuses_before_running(tmp_path: Path) -> None:
    _write_pet(tmp_path / "pet", (5, 8, 6))
    scan = {"subject": "S1", "scan_id": "A", "path": str(tmp_path / "pet")}
    need = estimate_scan_bytes(scan)
    assert need == BASE_WORKER_BYTES + 5 * 8 * 6 * BYTES_PER_PET_VOXEL
    check_scan_budget({"scan": scan}, need)  # fits exactly: no error
    with pytest.raises(MemoryBudgetError, match="S1/A needs about"):
        check_scan_budget({"scan": scan}, need - 1)
    ran = tmp_path / "ran"
    call = TaskCall("scan/S1/A", _touch, {"scan": scan, "flag": str(ran)}, {}, str(tmp_path / "o"))
    ex = LocalExecutor(1, threads=1, memory_per_worker_gb=(need - 1) / 1e9)
    try:
        [(got_call, result)] = list(ex.map_unordered(_run_call, [call]))
    finally:
        ex.close()
    assert got_call is call and isinstance(result, MemoryBudgetError)
    assert not ran.exists()  # never sent to a worker


def _touch(options: dict, upstream: dict) -> None:  # type: ignore[type-arg]
    Path(options["flag"]).touch()


def _run_call(call: TaskCall) -> None:
    call.func(call.options, call.upstream)


def _double(x: int) -> int:
    return 2 * x


def test_pool_after_numba_parallel_code_uses_a_fork_server() -> None:
    """A parent that ran numba's parallel (OpenMP) code forks no workers: numba would
    terminate them (a BrokenProcessPool); the pool then comes from a fork server."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import numpy as np
        from numba import njit, prange
        from immunopet.pipeline.executors import LocalExecutor
        from immunopet.pipeline.worker_limits import pool_context
        print(pool_context().get_start_method())
        @njit(parallel=True)
        def total(a):
            s = 0.0
            for i in prange(a.size):
                s += a[i]
            return s
        total(np.ones(100))
        print(pool_context().get_start_method())
        from test_pipeline_worker_limits import _double
        if __name__ == "__main__":
            ex = LocalExecutor(2, threads=1)
            print(sorted(r for _, r in ex.map_unordered(_double, [1, 2, 3])))
            ex.close()
        """
    )
    tests = str(Path(__file__).resolve().parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tests, *sys.path]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert out.stdout.split("\n")[:3] == ["fork", "forkserver", "[2, 4, 6]"], out.stderr[-2000:]


def _numba_threads_in_task(_call: object) -> int:
    return _numba_threads()


def test_dask_workers_get_the_memory_guard_and_thread_limit(tmp_path: Path) -> None:
    """On dask, the worker's --memory-limit is the budget (a scan too big is refused before it
    is sent) and each task runs with the worker's thread count."""
    distributed = pytest.importorskip("distributed")
    from immunopet.pipeline.executors import DaskExecutor

    _write_pet(tmp_path / "pet", (5, 8, 6))
    scan = {"subject": "S1", "scan_id": "A", "path": str(tmp_path / "pet")}
    need = estimate_scan_bytes(scan)
    ran = tmp_path / "ran"
    call = TaskCall("scan/S1/A", _touch, {"scan": scan, "flag": str(ran)}, {}, str(tmp_path / "o"))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
        memory_limit=need - 1,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        ex = DaskExecutor.from_client(client)
        assert ex.threads == 1 and ex.memory_budget_bytes == need - 1
        [(got, result)] = list(ex.map_unordered(_run_call, [call]))
        assert got is call and isinstance(result, MemoryBudgetError)
        assert not ran.exists()
        [(_, threads)] = list(ex.map_unordered(_numba_threads_in_task, [None]))
        assert threads == 1
