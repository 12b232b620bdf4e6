"""Progress of a run: rich progress bars per step, and JSON-lines task events."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Task

__all__ = ["Reporter", "open_log"]


class Reporter:
    """Rich progress bars per step and/or JSON-lines events."""

    def __init__(self, tasks: Sequence[Task], quiet: bool, log: IO[str] | None) -> None:
        self.log = log
        self.progress = None
        self.bars: dict[str, Any] = {}
        if not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            counts: dict[str, int] = {}
            for t in tasks:
                counts[t.step] = counts.get(t.step, 0) + 1
            for step, n in counts.items():
                self.bars[step] = self.progress.add_task(step, total=n)
            self.progress.start()

    def event(self, task: Task, status: str, **extra: Any) -> None:
        if self.progress is not None:
            self.progress.advance(self.bars[task.step])
        if self.log is not None:
            record = {"time": time.time(), "event": "task", "task": task.name, "step": task.step}
            record.update(subject=task.subject, status=status, **extra)
            self.log.write(json.dumps(record, default=str) + "\n")
            self.log.flush()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def open_log(target: str | None) -> IO[str] | None:
    """The JSON-lines log stream: ``"-"`` → stderr, a path → that file (appended)."""
    if target is None:
        return None
    if target == "-":
        return sys.stderr
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    return open(os.fspath(target), "a", encoding="utf-8")  # noqa: SIM115
