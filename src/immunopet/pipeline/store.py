"""The task-output store: content keys, atomic writes and output codecs.

A task's key is the SHA-256 of everything that can change its output
(:func:`task_key`): the function's qualified name, a fingerprint of its code
(:func:`code_fingerprint`: its source and that of the same-module helpers it
calls, so editing a step recomputes it and what depends on it), the immunopet
version, the canonicalised options, a fingerprint of each input file and the
keys of the upstream tasks. A step names the library modules whose code it runs
with :func:`covers` (immunopet's steps name the recipe, :mod:`immunopet.workflow`),
and their whole source joins the fingerprint. Other library code is covered by
the version only: after editing it without a version bump, delete
``OUT/.cache`` (or the affected ``OUT/.cache/<step>/``). Its output lives at
``OUT/.cache/<step>/<key>.<ext>`` and is written atomically (:func:`atomic_write`): a temporary file in the same folder,
``fsync``, then :func:`os.replace`. So a file that exists is complete, a rerun
skips it, and a killed run resumes where it stopped.

Outputs by type: a :class:`pandas.DataFrame` → Parquet, a JSON-able ``dict`` /
``list`` → JSON, a :class:`Bundle` (arrays + table + metadata, e.g. a lesion
mask and its lesion table) → ``.npz``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import marshal
import os
import tempfile
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

__all__ = [
    "Bundle",
    "atomic_write",
    "atomic_write_bytes",
    "canonical_json",
    "code_fingerprint",
    "covers",
    "find_output",
    "fingerprint",
    "read_output",
    "table_of",
    "task_key",
    "write_output",
]

#: Files up to this size are fingerprinted by content, larger ones by (size, mtime_ns).
CONTENT_HASH_MAX_BYTES = 1 << 20
OUTPUT_SUFFIXES = (".parquet", ".json", ".npz")


@dataclass(frozen=True)
class Bundle:
    """A task output made of named arrays, an optional table and JSON metadata."""

    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    table: pd.DataFrame | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


def table_of(value: Any) -> Any:
    """The table of an upstream output: a :class:`Bundle`'s ``table``, else the value."""
    return value.table if isinstance(value, Bundle) else value


def _default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"cannot canonicalise {type(obj).__name__} for a task key")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal options give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default)


def _file_fingerprint(path: Path, root: Path | None = None, *, content: bool = True) -> list[Any]:
    st = path.stat()
    name = str(path.relative_to(root)) if root is not None else str(path)
    if content and st.st_size <= CONTENT_HASH_MAX_BYTES:
        return [name, st.st_size, "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()]
    return [name, st.st_size, st.st_mtime_ns]


def fingerprint(path: str | Path) -> list[Any]:
    """A cheap identity of a file or folder (e.g. a DICOM series).

    A single small file (≤ 1 MiB: label-name JSON, CSV) by its content hash; a
    larger file by (size, mtime_ns); a folder by the (relative path, size,
    mtime_ns) of every file below it — never reading hundreds of DICOM slices.
    A path that does not exist fingerprints as ``[path, "missing"]`` (the task
    will fail and say so).
    """
    p = Path(path).resolve()
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file())
        return [str(p), [_file_fingerprint(q, p, content=False) for q in files]]
    if p.is_file():
        return _file_fingerprint(p)
    return [str(p), "missing"]


def _source_text(obj: Any) -> str:
    """The source of a function or class; for a function without source (defined in
    ``exec``, a REPL or a zip without sources) the digest of its marshalled bytecode;
    else its qualified name (the key then changes only with the version)."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        pass
    code = getattr(obj, "__code__", None)
    if isinstance(code, types.CodeType):
        try:
            return "bytecode:" + hashlib.sha256(marshal.dumps(code)).hexdigest()
        except ValueError:  # a constant marshal cannot write
            pass
    return "name:" + f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def _global_names(code: types.CodeType) -> set[str]:
    """Names a code object (and the functions/comprehensions nested in it) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def covers(*modules: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a step as running the code of ``modules`` (dotted names): their source is keyed.

    Example
    -------
    >>> @covers("json")
    ... def step(options, upstream): ...
    """

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__fingerprint_modules__ = tuple(modules)  # type: ignore[attr-defined]
        return func

    return mark


@functools.cache
def _module_source(name: str) -> str:
    """The source text of module ``name``, found without importing it or its packages.

    (``importlib.util.find_spec("a.b")`` imports package ``a``; importing to read the
    source made the parent load e.g. matplotlib for the figure tasks' keys: 1 s, serial,
    before any of them could start.) The path finder is asked level by level instead.
    """
    from importlib.machinery import PathFinder

    parts = name.split(".")
    spec = PathFinder.find_spec(parts[0])
    for part in parts[1:]:
        locations = getattr(spec, "submodule_search_locations", None)
        if not locations:
            spec = None
            break
        spec = PathFinder.find_spec(part, list(locations))
    origin = getattr(spec, "origin", None)
    if origin and origin.endswith(".py") and Path(origin).is_file():
        return Path(origin).read_text(encoding="utf-8")
    return "version-only:" + name


def code_fingerprint(func: Callable[..., Any]) -> str:
    """SHA-256 of the source of ``func`` and of the code it covers (:func:`_code_fingerprint`).

    Computed once per function and process: a run keys hundreds of tasks of a few steps.
    """
    while isinstance(func, functools.partial):
        func = func.func
    try:
        return _cached_code_fingerprint(func)
    except TypeError:  # an unhashable callable
        return _code_fingerprint(func)


@functools.lru_cache(maxsize=256)
def _cached_code_fingerprint(func: Callable[..., Any]) -> str:
    return _code_fingerprint(func)


def _code_fingerprint(func: Callable[..., Any]) -> str:
    """SHA-256 of the source of ``func`` and of the same-module functions it calls.

    The module-level functions and classes of ``func``'s own module that it names
    (e.g. a step's private helpers), and those they name in turn, are included, and
    the whole source of the modules a function declares with :func:`covers`; other
    imported code is not (it is covered by the package version in :func:`task_key`). Decorated functions are unwrapped (``functools.wraps``) and a
    :func:`functools.partial` is fingerprinted by its function. Where no source can be
    read, the bytecode stands in (see :func:`_source_text`).
    """
    while isinstance(func, functools.partial):
        func = func.func
    func = inspect.unwrap(func)
    module = getattr(func, "__module__", None)
    seen: dict[str, str] = {}
    todo: list[Any] = [func]
    while todo:
        obj = todo.pop()
        name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        if name in seen:
            continue
        seen[name] = _source_text(obj)
        for covered in getattr(obj, "__fingerprint_modules__", ()):
            seen.setdefault(f"module:{covered}", _module_source(covered))
        code = getattr(obj, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        scope = getattr(obj, "__globals__", {})
        for ref in sorted(_global_names(code)):
            target = scope.get(ref)
            if (
                isinstance(target, (types.FunctionType, type))
                and getattr(target, "__module__", None) == module
            ):
                todo.append(target)
    return hashlib.sha256(canonical_json(seen).encode()).hexdigest()


def task_key(
    func: Callable[..., Any],
    options: Mapping[str, Any],
    inputs: tuple[str, ...],
    upstream_keys: Mapping[str, str],
    version: str,
) -> str:
    """SHA-256 of function name and code, version, options, input fingerprints and upstream keys.

    The code fingerprint (:func:`code_fingerprint`) makes an edited step recompute
    instead of reusing its stale cached output.
    """
    payload = {
        "func": f"{func.__module__}.{func.__qualname__}",
        "code": code_fingerprint(func),
        "version": version,
        "options": options,
        "inputs": [fingerprint(p) for p in inputs],
        "upstream": dict(sorted(upstream_keys.items())),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file atomically: ``write(fh)`` into a temp file beside it, then rename.

    A crash (or SIGKILL) at any moment leaves either the old file or the new
    complete one, never a partial file; the temp file is removed on error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data))


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def write_output(stem: str | Path, value: Any) -> Path:
    """Store a task output at ``stem`` + the suffix its type calls for; returns the path."""
    stem = Path(stem)
    if isinstance(value, pd.DataFrame):
        return atomic_write_bytes(stem.with_suffix(".parquet"), _parquet_bytes(value))
    if isinstance(value, Bundle):
        arrays = {k: np.asarray(v) for k, v in value.arrays.items()}
        if any(k.startswith("__") for k in arrays):
            raise ValueError("Bundle array names may not start with '__'")
        arrays["__meta__"] = np.frombuffer(canonical_json(dict(value.meta)).encode(), np.uint8)
        if value.table is not None:
            arrays["__table__"] = np.frombuffer(_parquet_bytes(value.table), np.uint8)
        return atomic_write(stem.with_suffix(".npz"), lambda fh: np.savez_compressed(fh, **arrays))
    if isinstance(value, (dict, list)) or value is None:
        return atomic_write_bytes(stem.with_suffix(".json"), canonical_json(value).encode())
    raise TypeError(
        f"a task returned {type(value).__name__}; return a DataFrame, a dict/list or a Bundle"
    )


def read_output(path: str | Path) -> Any:
    """Load a stored task output (the inverse of :func:`write_output`)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        table = arrays.pop("__table__", None)
        df = None if table is None else pd.read_parquet(io.BytesIO(table.tobytes()))
        return Bundle(arrays=arrays, table=df, meta=meta)
    raise ValueError(f"{path}: not a task output")


def find_output(stem: str | Path) -> Path | None:
    """The complete stored output for ``stem`` (any suffix), or ``None``."""
    stem = Path(stem)
    for suffix in OUTPUT_SUFFIXES:
        p = stem.with_suffix(suffix)
        if p.is_file():
            return p
    return None
