"""The order of a task graph: dependency levels and critical-path heights.

:func:`levels` groups tasks by dependency depth (and refuses unknown upstream
names and cycles); :func:`heights` gives each task the length of its longest
downstream chain, by which :class:`ReadyQueue` orders the ready tasks (longest
first: the critical path of a list schedule, Hu, Operations Research 1961;9:841).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Task

__all__ = ["ReadyQueue", "heights", "levels"]


def levels(tasks: Sequence[Task]) -> list[list[Task]]:
    """Tasks grouped by dependency depth (0: no upstream task), in their given order.

    Raises
    ------
    ValueError
        Duplicate names, an unknown upstream task, or a dependency cycle.
    """
    by_name = {t.name: t for t in tasks}
    if len(by_name) != len(tasks):
        raise ValueError("task names must be unique")
    depth: dict[str, int] = {}

    def level(t: Task, stack: tuple[str, ...] = ()) -> int:
        if t.name in depth:
            return depth[t.name]
        if t.name in stack:
            raise ValueError(f"dependency cycle through {t.name}")
        for d in t.deps:
            if d not in by_name:
                raise ValueError(f"task {t.name} depends on unknown task {d}")
        depth[t.name] = 1 + max((level(by_name[d], (*stack, t.name)) for d in t.deps), default=-1)
        return depth[t.name]

    for t in tasks:
        level(t)
    out: list[list[Task]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for t in tasks:
        out[depth[t.name]].append(t)
    return out


def _dependents(tasks: Sequence[Task]) -> dict[str, list[str]]:
    """Upstream task name → the names of the tasks that depend on it (once per edge)."""
    below: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            below[d].append(t.name)
    return below


def _heights(grouped: list[list[Task]], below: Mapping[str, list[str]]) -> dict[str, int]:
    height: dict[str, int] = {}
    for level in reversed(grouped):
        for t in level:
            height[t.name] = 1 + max((height[n] for n in below[t.name]), default=-1)
    return height


def heights(tasks: Sequence[Task]) -> dict[str, int]:
    """Tasks below each task on its longest downstream chain (0: nothing depends on it)."""
    return _heights(levels(tasks), _dependents(tasks))


class ReadyQueue:
    """The tasks whose upstream tasks are all resolved, best first.

    Order: the longest chain of downstream tasks first (critical path, counted in tasks),
    then cohort tasks (a long statistics task starts as soon as it can, beside the
    per-subject rest), then dependency level and the graph's order. Each task counts
    its unresolved upstream tasks, so resolving one costs only its own edges (Kahn's
    topological sort, Comm ACM 1962;5:558) — never a scan of every waiting task.

    Raises
    ------
    ValueError
        Duplicate names, an unknown upstream task, or a cycle (:func:`levels`).
    """

    def __init__(self, tasks: Sequence[Task]) -> None:
        grouped = levels(tasks)
        self._below = _dependents(tasks)
        height = _heights(grouped, self._below)
        ordered = [t for level in grouped for t in level]
        self._task = {t.name: t for t in ordered}
        self._key = {
            t.name: (-height[t.name], t.subject is not None, i) for i, t in enumerate(ordered)
        }
        self._missing = {t.name: len(t.deps) for t in ordered}
        self._heap: list[tuple[tuple[int, bool, int], str]] = []
        for t in ordered:
            if not t.deps:
                heapq.heappush(self._heap, (self._key[t.name], t.name))

    def __bool__(self) -> bool:
        return bool(self._heap)

    def pop(self) -> Task:
        """The best ready task (the queue must not be empty)."""
        return self._task[heapq.heappop(self._heap)[1]]

    def resolve(self, name: str) -> None:
        """``name`` is done, cached, failed or skipped: its dependents may become ready."""
        for dependent in self._below[name]:
            self._missing[dependent] -= 1
            if self._missing[dependent] == 0:
                heapq.heappush(self._heap, (self._key[dependent], dependent))
