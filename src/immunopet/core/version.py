"""The immunopet version: one place, read by the package metadata (pyproject) and the run manifests."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
