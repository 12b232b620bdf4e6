"""Running a study: keyed, cached, atomic, failure-isolated tasks, locally or on dask.

``run_study(study, out_dir)`` turns a validated :class:`~immunopet.study.Study`
into tasks (:mod:`immunopet.pipeline.steps`) and runs them with the engine
(:mod:`immunopet.pipeline.engine`): per subject·scan tasks in parallel, then
per subject, then cohort steps. See :func:`~immunopet.pipeline.engine.run_tasks`
for caching, atomic outputs, ``errors.json`` and the exit codes.
"""

from __future__ import annotations

from .engine import (
    EXIT_BAD_INPUT,
    EXIT_COMPLETED_WITH_ERRORS,
    EXIT_OK,
    RunSummary,
    Task,
    run_tasks,
)
from .store import Bundle, atomic_write, task_key

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_COMPLETED_WITH_ERRORS",
    "EXIT_OK",
    "Bundle",
    "RunSummary",
    "Task",
    "atomic_write",
    "run_study",
    "run_tasks",
    "task_key",
]


def run_study(study, out_dir, **kwargs):  # type: ignore[no-untyped-def]
    """Run the whole analysis of ``study`` into ``out_dir`` (see :mod:`.steps`)."""
    from .plan import run_study as _run

    return _run(study, out_dir, **kwargs)
