"""Work the simulation hands to other processes: file writing and independent arms.

:class:`Background` runs ``fn(*args)`` in a small process pool (or at once in
this process when it has no processes) and re-raises the first failure when
it is closed. The simulation draws every random number in the calling
process, in a fixed order, so what the background writes does not depend on
how many processes write it.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["Background"]


class _Done:
    """The result of a call run at once (the ``Future`` interface the callers use)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


class Background:
    """A context manager that runs calls in ``processes`` worker processes (0: here, now)."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = max(0, int(processes))
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: list[cf.Future[Any]] = []

    def __enter__(self) -> Background:
        if self.processes:
            from ..pipeline.worker_limits import pool_context  # fork unless numba ran here

            self._pool = cf.ProcessPoolExecutor(self.processes, mp_context=pool_context())
        return self

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)``; returns an object whose ``result()`` gives its value."""
        if self._pool is None:
            return _Done(fn(*args, **kwargs))
        future = self._pool.submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is None:
            return
        try:
            if exc is None:
                for future in self._futures:
                    future.result()  # re-raise the first failure of a background call
        finally:
            self._pool.shutdown(wait=True, cancel_futures=exc is not None)
            self._pool = None
