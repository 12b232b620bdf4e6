"""The execution engine: keyed, cached, atomic, failure-isolated tasks.

A :class:`Task` is ``(name, step, function, options, input files, upstream
tasks)``. The engine orders tasks by dependency depth (all per-scan tasks,
then per-subject tasks, then cohort tasks) and, as soon as a task's upstream
tasks are resolved (no barrier between levels: a cohort task runs while other
subjects' per-subject tasks still do):

1. computes its key (:func:`~immunopet.pipeline.store.task_key`);
2. skips it when its output ``OUT/.cache/<step>/<key>.*`` exists (cached);
3. else hands it to the executor (process pool or dask.distributed); the
   worker loads its upstream outputs, calls ``func(options, upstream)`` and
   writes the result atomically itself;
4. records failures — one subject's exception never stops the others; its
   downstream tasks are skipped, cohort tasks run on what succeeded.

At the end the DataFrame outputs are concatenated into ``OUT/tables/<table>.parquet``
and ``.csv`` (atomically, in task order, so every executor gives identical tables),
and ``OUT/errors.json`` lists each failure (subject, step, error type, message).

Exit codes of :attr:`RunSummary.exit_code`: 0 all done, 3 completed with errors
(2, bad input before any work, is raised by the study loader as a
:class:`~immunopet.core.errors.StudyError`).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .executors import Executor, make_executor
from .failure import describe_failure
from .progress import Reporter
from .schedule import ReadyQueue
from .store import (
    atomic_write_bytes,
    find_output,
    read_output,
    task_key,
    write_output,
)
from .tables import assemble_tables, write_errors

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_COMPLETED_WITH_ERRORS",
    "EXIT_OK",
    "RunSummary",
    "Task",
    "TaskCall",
    "TaskOutcome",
    "execute",
    "run_tasks",
]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_COMPLETED_WITH_ERRORS = 3


@dataclass(frozen=True)
class Task:
    """One unit of work of a study.

    Attributes
    ----------
    name
        Unique name, e.g. ``"measure/P1/I124-24h"``.
    step
        The step it belongs to (cache folder, progress bar, error records).
    func
        A module-level function ``func(options, upstream) -> DataFrame | dict | Bundle``;
        ``upstream`` maps upstream task names to their loaded outputs.
    options
        JSON-able keyword data of the call, hashed into the key.
    inputs
        Files or folders the function reads, fingerprinted into the key.
    deps
        Names of upstream tasks.
    subject
        The subject the task belongs to (``None`` for cohort tasks).
    table
        Name of the final table its DataFrame output (or ``Bundle.table``) joins.
    optional_deps
        Run even if some upstream tasks failed, on those that succeeded (cohort steps).
    """

    name: str
    step: str
    func: Callable[[Mapping[str, Any], Mapping[str, Any]], Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    subject: str | None = None
    table: str | None = None
    optional_deps: bool = False


@dataclass(frozen=True)
class TaskCall:
    """What a worker needs to run one task (picklable)."""

    name: str
    func: Callable[[Mapping[str, Any], Mapping[str, Any]], Any]
    options: Mapping[str, Any]
    upstream: Mapping[str, str]
    out_stem: str
    warnings_path: str | None = None


@dataclass(frozen=True)
class TaskOutcome:
    """Result of one task run in a worker."""

    name: str
    ok: bool
    path: str | None = None
    error_type: str | None = None
    message: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    #: The file and header field / option at fault (ImmunopetError), or the input read.
    file: str | None = None
    field: str | None = None
    #: Peak resident memory of the worker process so far (bytes; 0 where unknown).
    worker_peak_bytes: int = 0


def execute(call: TaskCall) -> TaskOutcome:
    """Run one task in a worker: load upstream outputs, call, store atomically.

    Never raises for an error of the task itself: it is returned as a failed
    :class:`TaskOutcome` (so errors cross process boundaries as plain text).
    Warnings raised by the task are captured (not printed by the worker),
    returned, and stored beside the output so that a cached rerun still reports them.
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            upstream = {name: read_output(path) for name, path in call.upstream.items()}
            value = call.func(call.options, upstream)
        except Exception as exc:
            failure = describe_failure(exc, call.options)
            return TaskOutcome(
                call.name,
                ok=False,
                error_type=type(exc).__name__,
                message=failure["message"],
                file=failure["file"],
                field=failure["field"],
                traceback=traceback.format_exc(),
                seconds=time.perf_counter() - t0,
                warnings=_unique_warnings(caught),
                worker_peak_bytes=peak_rss_bytes(),
            )
    found = _unique_warnings(caught)
    if found and call.warnings_path:
        atomic_write_bytes(call.warnings_path, json.dumps(list(found)).encode())
    path = write_output(call.out_stem, value)
    return TaskOutcome(
        call.name, ok=True, path=str(path), seconds=time.perf_counter() - t0, warnings=found,
        worker_peak_bytes=peak_rss_bytes(),
    )  # fmt: skip


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``getrusage`` ``ru_maxrss``; 0 where unknown).

    Linux reports kibibytes, macOS bytes (getrusage(2) manual pages).
    """
    try:
        import resource
    except ImportError:  # Windows
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _unique_warnings(caught: Sequence[warnings.WarningMessage]) -> tuple[str, ...]:
    seen = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
    return tuple(seen)


@dataclass
class RunSummary:
    """What a run did; ``exit_code`` is 0 (ok) or 3 (completed with errors).

    ``seconds`` is the wall time of the run, ``compute_seconds`` the sum of the
    computed tasks' own times (in the workers): their ratio shows the parallelism.
    ``worker_peak_bytes`` is the largest peak resident memory a worker reported
    after a task (the parent's own, for the inline executor).
    """

    out_dir: Path
    executor: str
    n_tasks: int = 0
    n_subjects: int = 0
    n_cached: int = 0
    n_computed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    compute_seconds: float = 0.0
    worker_peak_bytes: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_COMPLETED_WITH_ERRORS if self.errors or self.skipped else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "executor": self.executor,
            "tasks": self.n_tasks,
            "subjects": self.n_subjects,
            "cached": self.n_cached,
            "computed": self.n_computed,
            "failed": len(self.errors),
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
            "tables": {k: str(v) for k, v in self.tables.items()},
            "seconds": round(self.seconds, 3),
            "compute_seconds": round(self.compute_seconds, 3),
            "worker_peak_gb": round(self.worker_peak_bytes / 1e9, 3),
            "exit_code": self.exit_code,
        }


def run_tasks(
    tasks: Sequence[Task],
    out_dir: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    quiet: bool = True,
    log: IO[str] | None = None,
    version: str | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> RunSummary:
    """Run tasks with caching, atomic outputs and failure isolation.

    Parameters
    ----------
    tasks
        The task graph (names unique, deps by name).
    out_dir
        Output folder; ``.cache/``, ``tables/`` and ``errors.json`` go there.
    workers, scheduler
        ``workers`` local processes (0: inline), or a dask scheduler address /
        ``"local-cluster"``; ignored when ``executor`` is given.
    quiet, log
        No progress bars; JSON-lines events to ``log`` (e.g. ``sys.stderr``).
    version
        Code version hashed into the keys (default ``immunopet.__version__``).
    run_info
        Extra entries for ``OUT/run.json`` (study name, analysis options…).
    """
    if version is None:
        from .. import __version__ as version
    out = Path(out_dir)
    cache = out / ".cache"
    t0 = time.perf_counter()
    _remove_stale_temporaries(cache)
    queue = ReadyQueue(tasks)  # refuses unknown upstream names and cycles before any work
    own_executor = executor is None
    executor = executor or make_executor(workers, scheduler)
    summary = RunSummary(
        out_dir=out, executor=executor.description, n_tasks=len(tasks),
        n_subjects=len({t.subject for t in tasks if t.subject is not None}),
    )  # fmt: skip
    keys: dict[str, str] = {}
    failed: dict[str, str] = {}  # task name -> root cause task name
    if hasattr(executor, "start"):
        executor.start()
    reporter = Reporter(tasks, quiet, log)
    # The local pool runs `slots` tasks at a time: the engine keeps no more in flight, so
    # that it can choose the next task when a worker frees up (dask schedules its own).
    slots = getattr(executor, "slots", None)
    in_flight: dict[Any, Task] = {}
    try:
        while queue or in_flight:
            while queue and (slots is None or len(in_flight) < slots):
                task = queue.pop()
                call = _prepare(task, cache, version, keys, failed, summary, reporter)
                if call is None:  # cached or skipped: its dependents may be ready now
                    queue.resolve(task.name)
                else:
                    in_flight[executor.submit(execute, call)] = task
            if not in_flight:
                break
            for future in executor.wait_any(list(in_flight)):
                task = in_flight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker itself died (OOM, segfault), KilledWorker
                    result = TaskOutcome(
                        task.name, False, error_type=type(exc).__name__,
                        message=str(exc) or repr(exc),
                    )  # fmt: skip
                _record(task, result, summary, failed, reporter, log)
                queue.resolve(task.name)
    finally:
        reporter.close()
        if own_executor:
            executor.close()
    summary.errors.sort(key=lambda e: e["task"])
    summary.skipped.sort(key=lambda e: e["task"])
    summary.tables = assemble_tables(tasks, summary.outputs, out / "tables")
    write_errors(out / "errors.json", summary)
    atomic_write_bytes(out / "warnings.json", json.dumps(summary.warnings, indent=2).encode())
    summary.seconds = time.perf_counter() - t0
    info = {**dict(run_info or {}), **summary.as_dict()}
    atomic_write_bytes(out / "run.json", json.dumps(info, indent=2, default=str).encode())
    return summary


def _prepare(
    task: Task,
    cache: Path,
    version: str,
    keys: dict[str, str],
    failed: dict[str, str],
    summary: RunSummary,
    reporter: Reporter,
) -> TaskCall | None:
    """The call of a task whose upstream tasks are resolved, or None (skipped or cached)."""
    bad = [d for d in task.deps if d in failed]
    if bad and not task.optional_deps:
        failed[task.name] = failed[bad[0]]
        summary.skipped.append(
            {"task": task.name, "subject": task.subject, "step": task.step,
             "because": failed[bad[0]]}
        )  # fmt: skip
        reporter.event(task, "skipped", because=failed[bad[0]])
        return None
    good = {d: keys[d] for d in task.deps if d not in failed}
    key = task_key(task.func, task.options, task.inputs, good, version)
    keys[task.name] = key
    stem = cache / task.step / key
    warn_path = cache / ".warnings" / f"{key}.json"
    existing = find_output(stem)
    if existing is not None:
        summary.outputs[task.name] = existing
        summary.n_cached += 1
        if warn_path.is_file():
            _add_warnings(summary, task, json.loads(warn_path.read_text()))
        reporter.event(task, "cached", key=key)
        return None
    upstream = {d: str(summary.outputs[d]) for d in good}
    return TaskCall(task.name, task.func, dict(task.options), upstream, str(stem), str(warn_path))


def _record(
    task: Task,
    result: TaskOutcome,
    summary: RunSummary,
    failed: dict[str, str],
    reporter: Reporter,
    log: IO[str] | None,
) -> None:
    """Add a finished task's outcome (output, warnings, error) to the summary."""
    _add_warnings(summary, task, result.warnings)
    summary.compute_seconds += result.seconds
    summary.worker_peak_bytes = max(summary.worker_peak_bytes, result.worker_peak_bytes)
    if result.ok:
        summary.outputs[task.name] = Path(result.path)  # type: ignore[arg-type]
        summary.n_computed += 1
        reporter.event(task, "done", seconds=round(result.seconds, 4))
        return
    failed[task.name] = task.name
    summary.errors.append(
        {"subject": task.subject, "step": task.step, "task": task.name,
         "error_type": result.error_type, "message": result.message,
         "file": result.file, "field": result.field}
    )  # fmt: skip
    reporter.event(task, "error", error_type=result.error_type, message=result.message)
    if log is not None and result.traceback:
        record = {"event": "traceback", "task": task.name, "text": result.traceback}
        log.write(json.dumps(record) + "\n")


def _add_warnings(summary: RunSummary, task: Task, found: Sequence[str]) -> None:
    for text in found:
        category, _, message = text.partition(": ")
        summary.warnings.append(
            {"subject": task.subject, "step": task.step, "task": task.name,
             "category": category, "message": message}
        )  # fmt: skip


def _remove_stale_temporaries(cache: Path) -> None:
    """Delete temp files a killed run left (``.<name>.<random>.tmp``); outputs are intact."""
    if cache.is_dir():
        for tmp in [*cache.glob("*/.*.tmp"), *cache.glob(".warnings/.*.tmp")]:
            tmp.unlink(missing_ok=True)
