"""Where tasks run: a local process pool, or a dask.distributed cluster.

Each executor submits one picklable call and returns a future; ``wait_any``
blocks until at least one of the given futures is done. The engine submits a task
as soon as its upstream tasks are done (no barrier between dependency levels), so
a long cohort task never leaves the other workers idle while per-subject work is
left. No scheduling of our own beyond that: :class:`concurrent.futures.ProcessPoolExecutor`
or dask's ``Client.submit`` + ``wait`` do the work. ``map_unordered`` runs a batch.

With a remote scheduler (``tcp://HOST:PORT``) the output folder must be on a
file system the workers share, because each worker writes its task's output
there itself (atomically) and reads its upstream outputs from there.

Each local worker gets ``threads`` threads for numba / BLAS / scipy.fft
(default: cores // workers, so ``workers × threads ≤ cores``), ends when its
parent dies, and a scan task whose images would exceed the worker's memory
budget fails with :class:`~.worker_limits.MemoryBudgetError` before it is
sent (:mod:`.worker_limits`).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from .worker_limits import (
    check_scan_budget,
    init_worker,
    limit_threads,
    memory_per_worker_bytes,
    pool_context,
    threads_per_worker,
)

__all__ = ["DaskExecutor", "Executor", "InlineExecutor", "LocalExecutor", "make_executor"]


class Executor(Protocol):
    """Runs ``fn(call)``: one at a time (``submit`` / ``wait_any``) or a batch."""

    def submit(self, fn: Callable[[Any], Any], call: Any) -> Any:
        """A future of ``fn(call)`` (``result()`` gives the value or raises)."""
        ...

    def wait_any(self, futures: Sequence[Any]) -> list[Any]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        ...

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...

    description: str


def _with_thread_limit(fn: Callable[[Any], Any], call: Any, threads: int) -> Any:
    """Run ``fn(call)`` in a dask worker with numba / BLAS / FFT limited to ``threads``."""
    limit_threads(threads)
    return fn(call)


def _refused(call: Any, budget_bytes: int | None) -> cf.Future[Any] | None:
    """A failed future when the call's scan would exceed a worker's memory, else None.

    The :class:`~.worker_limits.MemoryBudgetError` is reported, never sent to a worker.
    """
    try:
        check_scan_budget(getattr(call, "options", None), budget_bytes)
    except Exception as exc:
        return _done_future(error=exc)
    return None


def _done_future(value: Any = None, error: BaseException | None = None) -> cf.Future[Any]:
    future: cf.Future[Any] = cf.Future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
    return future


class _Batches:
    """``map_unordered`` for an executor with ``submit`` / ``wait_any``."""

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]:
        """``fn(call)`` for each call, as they complete: ``(call, result_or_exception)``."""
        pending = {self.submit(fn, call): call for call in calls}  # type: ignore[attr-defined]
        try:
            while pending:
                for fut in self.wait_any(list(pending)):  # type: ignore[attr-defined]
                    call = pending.pop(fut)
                    try:
                        yield call, fut.result()
                    except Exception as exc:  # a worker died (OOM, segfault), KilledWorker…
                        yield call, exc
        finally:
            for fut in pending:
                fut.cancel()


class InlineExecutor(_Batches):
    """Runs the calls one after another in this process (``--workers 0``, debugging)."""

    description = "inline (this process)"

    def start(self) -> None:
        pass

    def submit(self, fn: Callable[[Any], Any], call: Any) -> cf.Future[Any]:
        try:
            return _done_future(fn(call))
        except Exception as exc:
            return _done_future(error=exc)

    def wait_any(self, futures: Sequence[Any]) -> list[Any]:
        return list(futures)  # all done when submitted

    def close(self) -> None:
        pass


class LocalExecutor(_Batches):
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` with ``workers`` processes."""

    def __init__(
        self,
        workers: int,
        threads: int | None = None,
        memory_per_worker_gb: float | None = None,
    ) -> None:
        self.workers = max(1, int(workers))
        #: Tasks the engine keeps in flight: two per worker, one running and one queued
        #: (so that no worker waits on the parent), the engine choosing the rest itself.
        self.slots = 2 * self.workers
        self.threads = threads_per_worker(self.workers, threads)
        self.memory_budget_bytes = memory_per_worker_bytes(self.workers, memory_per_worker_gb)
        budget = (
            "" if self.memory_budget_bytes is None
            else f", {self.memory_budget_bytes / 1e9:.1f} GB each"
        )  # fmt: skip
        self.description = (
            f"local process pool, {self.workers} worker(s) × {self.threads} thread(s){budget}"
        )
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=pool_context(),
                initializer=init_worker,
                initargs=(self.threads, os.getpid()),
            )
            # Fork the workers now, before the caller starts threads (rich's progress
            # refresh): a fork while another thread holds a lock could hang a worker.
            list(self._pool.map(abs, range(self.workers)))
        return self._pool

    def start(self) -> None:
        """Start the worker processes (done before any progress display starts)."""
        self._get_pool()

    def submit(self, fn: Callable[[Any], Any], call: Any) -> cf.Future[Any]:
        refused = _refused(call, self.memory_budget_bytes)
        if refused is not None:
            return refused
        try:
            return self._get_pool().submit(fn, call)
        except cf.process.BrokenProcessPool:
            # A worker died (OOM, segfault) and broke the pool: start a fresh one.
            self.close()
            return self._get_pool().submit(fn, call)

    def wait_any(self, futures: Sequence[Any]) -> list[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        broken = any(
            isinstance(f.exception(), cf.process.BrokenProcessPool) for f in done
        )  # fmt: skip
        if broken:
            self.close()  # the next submit starts a fresh pool
        return list(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


#: Seconds to wait for a remote dask scheduler before giving up with one line.
SCHEDULER_CONNECT_TIMEOUT_S = 5.0


class DaskExecutor(_Batches):
    """A dask.distributed ``Client``: ``"local-cluster"`` or a scheduler address."""

    def __init__(self, scheduler: str, workers: int = 2) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if scheduler in {"local-cluster", "local"}:
            self._cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)
            self.description = f"dask LocalCluster, {max(1, workers)} worker process(es)"
        else:
            try:
                self._client = Client(scheduler, timeout=SCHEDULER_CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                from ..core.errors import InputError

                raise InputError(
                    f"cannot reach the dask scheduler within {SCHEDULER_CONNECT_TIMEOUT_S:g} s "
                    f"({type(exc).__name__}); check the address tcp://HOST:PORT and that the "
                    "scheduler is running",
                    field="--scheduler",
                    value=scheduler,
                ) from None
            self.description = f"dask.distributed scheduler {scheduler}"
        self._limits_from_workers()

    def _limits_from_workers(self) -> None:
        """Threads and memory budget per task from the cluster's workers (their smallest).

        A dask worker's own ``--nthreads`` and ``--memory-limit`` set them: each task
        limits numba / BLAS / FFT threads to the worker's thread count (so that tasks ×
        threads ≤ cores), and a scan that would not fit the memory limit is reported
        (``MemoryBudgetError``) before it is sent, as on the local pool.
        """
        try:
            workers = list(self._client.scheduler_info().get("workers", {}).values())
        except Exception:  # noqa: BLE001 - an older or a busy scheduler: no limits
            workers = []
        threads = [int(w.get("nthreads") or 0) for w in workers]
        memory = [int(w.get("memory_limit") or 0) for w in workers]
        self.threads = max(1, min((t for t in threads if t > 0), default=1))
        self.memory_budget_bytes = min((m for m in memory if m > 0), default=None)

    @classmethod
    def from_client(cls, client: Any) -> DaskExecutor:
        """Wrap an existing ``distributed.Client`` (e.g. a test's in-process cluster)."""
        self = cls.__new__(cls)
        self._cluster = None
        self._client = client
        self._owns_client = False
        self.description = f"dask.distributed client {client.scheduler.address}"
        self._limits_from_workers()
        return self

    def submit(self, fn: Callable[[Any], Any], call: Any) -> Any:
        refused = _refused(call, self.memory_budget_bytes)
        if refused is not None:
            return refused
        # dask keys must not collide with an earlier run's
        key = f"{getattr(call, 'name', 'task')}-{uuid.uuid4().hex[:8]}"
        return self._client.submit(_with_thread_limit, fn, call, self.threads, key=key, pure=False)

    def wait_any(self, futures: Sequence[Any]) -> list[Any]:
        from distributed import wait

        refused = [f for f in futures if isinstance(f, cf.Future)]  # done before sending
        if refused:
            return refused
        return list(wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        if getattr(self, "_owns_client", True):
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()


def make_executor(
    workers: int = 1,
    scheduler: str | None = None,
    *,
    threads: int | None = None,
    memory_per_worker_gb: float | None = None,
) -> Executor:
    """The executor for ``--workers`` / ``--scheduler`` / ``--threads`` (module docstring).

    ``threads`` (default: cores // workers) and ``memory_per_worker_gb``
    (default: 90 % of the available memory shared equally) apply to the local pool.
    """
    if scheduler:
        return DaskExecutor(scheduler, workers=workers)
    if workers <= 0:
        return InlineExecutor()
    return LocalExecutor(workers, threads=threads, memory_per_worker_gb=memory_per_worker_gb)
