"""What a failed task reports: the error text with its file and field, or where a crash happened.

An :class:`~immunopet.core.errors.ImmunopetError` already names its file, field and
value. Any other exception (a bug, or a library error on input nobody foresaw)
gets the innermost immunopet source line it came from and the input paths of the
task, so that ``errors.json`` never says only ``ValueError: hour must be in 0..23``.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from typing import Any

from ..core.errors import ImmunopetError

__all__ = ["describe_failure"]


def _input_paths(options: Mapping[str, Any], limit: int = 3) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, str):
            if ("/" in value or os.sep in value or value.endswith((".dcm", ".nii", ".gz"))) and (
                len(value) < 400
            ):
                found.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(options)
    return found


def describe_failure(exc: BaseException, options: Mapping[str, Any]) -> dict[str, Any]:
    """``message``, ``file``, ``field`` of a failed task, for ``errors.json`` and the report."""
    if isinstance(exc, ImmunopetError):
        return {"message": str(exc), "file": exc.file, "field": exc.field}
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "immunopet" in f.filename.replace("\\", "/")
    ]
    where = ""
    if frames:
        f = frames[-1]
        tail = f.filename.replace("\\", "/").split("immunopet/", 1)[-1]
        where = f" at immunopet/{tail}:{f.lineno} ({f.name})"
    paths = _input_paths(options)
    reading = f" while reading {', '.join(paths)}" if paths else ""
    text = str(exc) or repr(exc)
    return {
        "message": f"{type(exc).__name__}: {text}{where}{reading} — an unexpected error, "
        "please report it",
        "file": paths[0] if paths else None,
        "field": None,
    }
