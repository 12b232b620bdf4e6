"""The HTML report of a run: one self-contained, offline-readable file.

:func:`write_report` reads ``OUT/tables/*.parquet`` (measurements, lesions, tacs,
tias, doses, statistics, subjects, preclinical — each optional) and ``OUT/run.json``,
and writes ``OUT/report.html``: CSS inline, figures as base64 PNG, no external
resources. Sections whose tables are missing say so instead of failing.
"""

from __future__ import annotations

from ..core.lazy import lazy_exports

__all__ = ["TABLE_NAMES", "mip_figure", "mip_png", "render_report", "write_report"]

#: Public names → the module defining them, imported on first use (PEP 562): a figure
#: task needs :mod:`.mip` (matplotlib only), not the whole report (jinja2, statistics).
_LAZY = {
    "TABLE_NAMES": "immunopet.report.document",
    "render_report": "immunopet.report.document",
    "write_report": "immunopet.report.document",
    "mip_figure": "immunopet.report.mip",
    "mip_png": "immunopet.report.mip",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
