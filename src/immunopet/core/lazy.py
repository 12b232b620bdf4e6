"""Lazy re-exports for package ``__init__`` modules (PEP 562 module ``__getattr__``).

A package re-exports the names its users type (``immunopet.load_scan``,
``immunopet.regions.LabelMap``) without importing the modules that define them
until a name is first used: ``immunopet --help``, the engine's parent process and
each task import only what they run (the regions package alone imports 0.8 s of
SciPy and SimpleITK).

Example
-------
>>> # in a package's __init__.py
>>> __getattr__, __dir__ = lazy_exports(__name__, {"LabelMap": ".labels"}, [])  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], eager: Iterable[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a name to its module.

    Modules are given absolute or relative to ``package`` (``".labels"``); a name is
    imported on first access and then cached in the package's namespace.
    ``eager`` lists the names defined in the package itself (for ``dir()``).
    """
    listed = sorted({*names, *eager})

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
