"""The order of a task graph: dependency levels and critical-path heights.

:func:`levels` groups tasks by dependency depth (and refuses unknown upstream
names and cycles); :func:`heights` gives each task the length of its longest
downstream chain, by which the engine picks among ready tasks (longest first:
the critical path of a list schedule, Hu, Operations Research 1961;9:841).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Task

__all__ = ["heights", "levels"]


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


def heights(tasks: Sequence[Task]) -> dict[str, int]:
    """Tasks below each task on its longest downstream chain (0: nothing depends on it)."""
    below: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            below[d].append(t.name)
    height: dict[str, int] = {}
    for level in reversed(levels(tasks)):
        for t in level:
            height[t.name] = 1 + max((height[n] for n in below[t.name]), default=-1)
    return height
