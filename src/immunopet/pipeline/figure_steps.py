"""Figure tasks: each measured scan's MIP drawn to PNG in the worker pool (engine adapter).

Drawing with matplotlib takes ~0.1 s a scan. As a task of the graph it runs in
the same workers as the measurements, in parallel and cached with a key of its
own (a rerun redraws nothing), instead of a serial tail after the run that
would cap the throughput of N workers (Amdahl). The parent only copies the PNG
bytes into ``OUT/mip/`` (:func:`write_mip_files`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .store import Bundle, atomic_write_bytes, covers, read_output

__all__ = ["draw_mip", "mip_file_name", "write_mip_files"]


def mip_file_name(measure_task: str) -> str:
    """``measure/P01/I124-24h`` → ``P01_I124-24h.png``."""
    return f"{measure_task.removeprefix('measure/').replace('/', '_')}.png"


@covers("immunopet.report.mip")
def draw_mip(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """The PNG (as uint8 bytes) of the MIP arrays the measure task stored; empty when none."""
    from ..report.mip import mip_png

    value = upstream[options["measure_task"]]
    if not (isinstance(value, Bundle) and "mip" in value.arrays):
        return Bundle(arrays={"png": np.zeros(0, np.uint8)})
    table = value.table
    title = ""
    if table is not None and len(table):
        row = table.iloc[0]
        title = f"{row['subject']} {row['tracer']} {float(row['time_point_h']):g} h"
    png = mip_png(dict(value.arrays), dict(value.meta.get("mip", {})), title=title)
    return Bundle(arrays={"png": np.frombuffer(png, np.uint8)})


def write_mip_files(out: Path, outputs: Mapping[str, Path]) -> list[str]:
    """Copy the drawn MIPs (outputs of ``mips/…`` tasks) to ``out/mip/``; drop stale PNGs."""
    written = []
    for name, path in sorted(outputs.items()):
        if not name.startswith("mips/"):
            continue
        value = read_output(path)
        png = np.asarray(value.arrays.get("png", ()), np.uint8) if isinstance(value, Bundle) else ()
        if len(png):
            target = out / "mip" / mip_file_name(name.replace("mips/", "measure/", 1))
            atomic_write_bytes(target, png.tobytes())
            written.append(target.name)
    for stale in (out / "mip").glob("*.png"):
        if stale.name not in written:  # a scan of an earlier run, not of this one
            stale.unlink()
    return written
