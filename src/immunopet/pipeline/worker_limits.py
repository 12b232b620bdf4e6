"""What each worker process may use: threads, memory, and a life no longer than its parent's.

* **Threads.** ``workers × threads ≤ cores``: each worker's numba, OpenMP/BLAS
  (threadpoolctl) and scipy.fft thread counts are set to
  :func:`threads_per_worker` when it starts, so that two workers on a 2-core
  machine do not each start 2 threads (oversubscription makes them slower).
* **Parent death.** A worker ends when the process that started it dies: on
  Linux the kernel sends it SIGTERM (``prctl(PR_SET_PDEATHSIG)``), and a
  watchdog thread polling :func:`os.getppid` covers other systems and the
  race where the parent died before ``prctl`` ran.
* **Memory.** A scan task whose images would exceed the worker's budget
  (:func:`estimate_scan_bytes`, from the headers, before any pixel is read)
  fails with :class:`MemoryBudgetError` — reported in ``errors.json`` like any
  other error — instead of an out-of-memory kill of the whole pool.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import ImmunopetError

__all__ = [
    "BASE_WORKER_BYTES",
    "BYTES_PER_PET_VOXEL",
    "MemoryBudgetError",
    "available_cores",
    "check_scan_budget",
    "estimate_scan_bytes",
    "init_worker",
    "limit_threads",
    "memory_per_worker_bytes",
    "threads_per_worker",
]

#: Peak bytes per PET voxel of the per-scan recipe (find_lesions + measure_scan), measured by
#: ``benchmarks/bench_clinical_recipe.py`` on 440 × 440 × 645 voxels: (2.40 GB − 0.42 GB of
#: imports) / 125 M voxels = 15.8 B, rounded up.
BYTES_PER_PET_VOXEL = 16
#: Resident memory of a worker with immunopet imported (measured: 0.42 GB), rounded up.
BASE_WORKER_BYTES = 512 * 2**20
#: Bytes per CT or label-map voxel read beside the PET (int16/uint8 read, float32 resampled).
BYTES_PER_OTHER_VOXEL = 6


class MemoryBudgetError(ImmunopetError):
    """A task's images would not fit in its worker's memory budget."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, threads: int | None = None) -> int:
    """Threads each worker may use: ``threads``, or cores // workers (at least 1)."""
    if threads is not None and threads > 0:
        return int(threads)
    return max(1, available_cores() // max(1, int(workers)))


def _available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_per_worker_bytes(workers: int, memory_gb: float | None = None) -> int | None:
    """Each worker's budget: ``memory_gb``, or 90 % of the available memory shared equally."""
    if memory_gb is not None:
        return int(memory_gb * 1e9) if memory_gb > 0 else None
    avail = _available_memory_bytes()
    if avail is None:
        return None
    return int(0.9 * avail / max(1, int(workers)))


def limit_threads(threads: int) -> None:
    """Limit this process's (and, for numba and FFT, this thread's) compute threads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    # NUMBA_NUM_THREADS is left alone: numba re-reads it when it compiles, and a value
    # other than the one its thread pool was launched with (e.g. in a forked worker) is a
    # RuntimeError. set_num_threads limits the threads a parallel region uses instead.
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except Exception:  # noqa: BLE001 - numba absent or its threading layer unavailable
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except Exception:  # noqa: BLE001 - threadpoolctl is optional
        pass
    try:
        import scipy.fft

        # scipy.fft's default worker count is a context setting; make it this worker's.
        scipy.fft.set_workers(threads).__enter__()
    except Exception:  # noqa: BLE001
        pass


def _numba_threads_launched() -> bool:
    """Whether this process has started numba's parallel threading layer (None: unknown)."""
    if "numba" not in sys.modules:
        return False
    try:
        from numba.np.ufunc import parallel
    except ImportError:
        return True  # cannot tell: be safe
    return bool(getattr(parallel, "_is_initialized", True))


def pool_context() -> Any:
    """The multiprocessing context of the local pool.

    ``fork`` (Linux) while this process has not run numba's parallel code: the workers
    inherit its imports and start at once. Once it has (a notebook or a test session
    that computed something before starting a run), a forked child of numba's OpenMP
    threading layer is terminated by numba (GNU libgomp is not fork-safe: numba
    documentation, "The Threading Layers", fork safety), so the workers come from a
    ``forkserver``: a fresh process that has run nothing. Elsewhere the platform's
    default (spawn on Windows and macOS).
    """
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux") and not _numba_threads_launched():
        return mp.get_context("fork")
    if "forkserver" in methods:
        return mp.get_context("forkserver")
    return mp.get_context()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (a reused pid): treat as gone
        return False
    return True


def _watch_parent(parent_pid: int, run_pid: int, interval_s: float) -> None:
    while True:
        if os.getppid() != parent_pid or not _alive(run_pid):
            os._exit(1)  # re-parented, or the run's process is gone
        time.sleep(interval_s)


def init_worker(threads: int, run_pid: int, interval_s: float = 0.5) -> None:
    """Process-pool initializer: thread limits, and death with the run's process.

    ``run_pid`` is the process that started the pool. The worker's own parent is that
    process (fork) or the fork server (:func:`pool_context`), which exits when the run's
    process does; either way a worker whose parent changes, or whose run's process is
    gone, exits within ``interval_s`` (and at once by ``PR_SET_PDEATHSIG`` on Linux).
    """
    limit_threads(threads)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    parent_pid = os.getppid()
    if not _alive(run_pid) or parent_pid == 1:
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid, run_pid, interval_s), name="parent-watchdog",
        daemon=True,
    ).start()  # fmt: skip


def _dicom_voxels(folder: Path) -> int | None:
    import pydicom

    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for f in files:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not DICOM: try the next file
            continue
        if "Rows" in ds and "Columns" in ds:
            frames = int(ds.get("NumberOfFrames") or 1)
            return int(ds.Rows) * int(ds.Columns) * max(frames, len(files))
    return None


def _nifti_voxels(path: Path) -> int | None:
    import nibabel as nib

    try:
        shape = nib.load(str(path)).header.get_data_shape()
    except Exception:  # noqa: BLE001 - unreadable: the task itself reports it
        return None
    return int(math.prod(shape[:3])) if len(shape) >= 3 else None


def _voxels(path: str | None) -> int:
    if not path:
        return 0
    p = Path(path)
    if p.is_dir():
        return _dicom_voxels(p) or 0
    if p.name.lower().endswith((".nii", ".nii.gz")):
        return _nifti_voxels(p) or 0
    return 0


def estimate_scan_bytes(scan: Mapping[str, Any]) -> int:
    """Peak bytes a scan task needs, from its files' headers (no pixel is read).

    ``scan`` is a :class:`~immunopet.workflow.ScanInput` as a dict (``path``,
    ``ct``, ``labels``). PET voxels × :data:`BYTES_PER_PET_VOXEL` + CT and
    label voxels × :data:`BYTES_PER_OTHER_VOXEL` + :data:`BASE_WORKER_BYTES`.
    """
    pet = _voxels(scan.get("path"))
    other = _voxels(scan.get("ct")) + _voxels(scan.get("labels"))
    return BASE_WORKER_BYTES + pet * BYTES_PER_PET_VOXEL + other * BYTES_PER_OTHER_VOXEL


def check_scan_budget(options: Mapping[str, Any], budget_bytes: int | None) -> None:
    """Raise :class:`MemoryBudgetError` when a scan task's images exceed ``budget_bytes``."""
    scan = options.get("scan") if isinstance(options, Mapping) else None
    if not budget_bytes or not isinstance(scan, Mapping):
        return
    need = estimate_scan_bytes(scan)
    if need > budget_bytes:
        raise MemoryBudgetError(
            f"scan {scan.get('subject')}/{scan.get('scan_id')} needs about {need / 1e9:.1f} GB "
            f"(from its headers) but a worker has {budget_bytes / 1e9:.1f} GB: run fewer "
            "workers (--workers) or give each more memory (--memory-per-worker-gb)",
            file=scan.get("path"),
            field="memory",
            value=round(need / 1e9, 2),
        )
