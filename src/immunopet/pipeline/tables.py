"""The run's final files: tables assembled from cached task outputs, ``errors.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .store import Bundle, atomic_write, atomic_write_bytes, read_output

if TYPE_CHECKING:
    from .engine import RunSummary, Task

__all__ = ["assemble_tables", "write_errors"]


def assemble_tables(
    tasks: Sequence[Task], outputs: Mapping[str, Path], tables_dir: Path
) -> dict[str, Path]:
    """Concatenate the tables of finished tasks (in task order) into Parquet + CSV."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for task in tasks:
        if task.table is None or task.name not in outputs:
            continue
        value = read_output(outputs[task.name])
        df = value.table if isinstance(value, Bundle) else value
        if isinstance(df, pd.DataFrame):
            frames.setdefault(task.table, []).append(df)
    written: dict[str, Path] = {}
    for name in {t.table for t in tasks if t.table} - set(frames):
        # No task of this table finished this time: a table left by an earlier run is stale.
        for suffix in (".parquet", ".csv"):
            (tables_dir / f"{name}{suffix}").unlink(missing_ok=True)
    for name, dfs in frames.items():
        non_empty = [d for d in dfs if len(d)] or dfs[:1]
        table = pd.concat(non_empty, ignore_index=True)
        parquet = tables_dir / f"{name}.parquet"
        atomic_write(parquet, lambda fh, t=table: t.to_parquet(fh, index=False))
        atomic_write_bytes(tables_dir / f"{name}.csv", table.to_csv(index=False).encode())
        written[name] = parquet
    return written


def write_errors(path: Path, summary: RunSummary) -> None:
    """``errors.json``: one record per failed task, and the tasks skipped because of it."""
    records = []
    for err in summary.errors:
        rec = dict(err)
        rec["skipped_downstream"] = [
            s["task"] for s in summary.skipped if s["because"] == err["task"]
        ]
        records.append(rec)
    atomic_write_bytes(path, json.dumps(records, indent=2).encode())
