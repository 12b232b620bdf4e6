"""Where tasks run: a local process pool, or a dask.distributed cluster.

Both take a batch of independent picklable calls and yield their outcomes as
they complete; the engine feeds them one dependency level at a time. No
scheduling of our own: :class:`concurrent.futures.ProcessPoolExecutor` or
dask's ``Client.submit`` + ``as_completed`` do the work.

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
    memory_per_worker_bytes,
    threads_per_worker,
)

__all__ = ["DaskExecutor", "Executor", "InlineExecutor", "LocalExecutor", "make_executor"]


class Executor(Protocol):
    """Runs ``fn(call)`` for each call; yields ``(call, result_or_exception)``."""

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...

    description: str


class InlineExecutor:
    """Runs the calls one after another in this process (``--workers 0``, debugging)."""

    description = "inline (this process)"

    def start(self) -> None:
        pass

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]:
        for call in calls:
            try:
                yield call, fn(call)
            except Exception as exc:
                yield call, exc

    def close(self) -> None:
        pass


class LocalExecutor:
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` with ``workers`` processes."""

    def __init__(
        self,
        workers: int,
        threads: int | None = None,
        memory_per_worker_gb: float | None = None,
    ) -> None:
        self.workers = max(1, int(workers))
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

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]:
        pool = self._get_pool()
        futures = {}
        for call in calls:
            try:
                check_scan_budget(getattr(call, "options", None), self.memory_budget_bytes)
            except Exception as exc:  # MemoryBudgetError: reported, never sent to a worker
                yield call, exc
                continue
            futures[pool.submit(fn, call)] = call
        broken = False
        try:
            for fut in cf.as_completed(futures):
                try:
                    yield futures[fut], fut.result()
                except Exception as exc:  # BrokenProcessPool: a worker died (OOM, segfault)
                    broken = broken or isinstance(exc, cf.process.BrokenProcessPool)
                    yield futures[fut], exc
        finally:
            for fut in futures:
                fut.cancel()
        if broken:
            # A dead worker breaks the whole pool: start a fresh one for the next level.
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


#: Seconds to wait for a remote dask scheduler before giving up with one line.
SCHEDULER_CONNECT_TIMEOUT_S = 5.0


class DaskExecutor:
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

    @classmethod
    def from_client(cls, client: Any) -> DaskExecutor:
        """Wrap an existing ``distributed.Client`` (e.g. a test's in-process cluster)."""
        self = cls.__new__(cls)
        self._cluster = None
        self._client = client
        self._owns_client = False
        self.description = f"dask.distributed client {client.scheduler.address}"
        return self

    def map_unordered(
        self, fn: Callable[[Any], Any], calls: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]:
        from distributed import as_completed

        run = uuid.uuid4().hex[:8]  # dask keys must not collide with an earlier run's
        futures = {
            self._client.submit(
                fn, call, key=f"{getattr(call, 'name', 'task')}-{run}", pure=False
            ): call
            for call in calls
        }
        for fut in as_completed(list(futures)):
            try:
                yield futures[fut], fut.result()
            except Exception as exc:  # KilledWorker and the like
                yield futures[fut], exc

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
