"""The report document: the run's tables → sections → one self-contained HTML page."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from ..core.errors import InputError
from .findings import key_findings
from .methods import ICRP107_NOTICE, RESEARCH_USE_NOTICE, methods_paragraphs
from .organs import dose_section, tac_section
from .preclinical import preclinical_section
from .sections import (
    Section,
    build_lesions,
    cohort_section,
    dot_plot_section,
    findings_section,
    lesion_section,
    mip_section,
    statistics_section,
    tnr_section,
)
from .voxel import voxel_section

__all__ = ["COLLAPSE_ROWS", "TABLE_NAMES", "render_report", "write_report"]

#: Tables longer than this many rows are collapsed (``<details>``), so the headline shows first.
COLLAPSE_ROWS = 15

#: Tables the report reads from ``OUT/tables/<name>.parquet``.
TABLE_NAMES = (
    "measurements", "lesions", "tacs", "tias", "doses", "statistics", "subjects", "preclinical",
    "voxel_doses", "voxel_dvh",
)  # fmt: skip


def _read_tables(out_dir: Path) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    folder = out_dir / "tables"
    for name in TABLE_NAMES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            try:
                tables[name] = pd.read_parquet(path)
            except Exception as exc:  # a corrupt table: report it, don't crash the report
                raise InputError(f"cannot read table: {exc}", file=path) from exc
    return tables


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", file=path) from exc


def _as_mapping(options: Any) -> Any:
    if options is None:
        return {}
    if hasattr(options, "model_dump"):
        return options.model_dump(mode="json")
    return options


def _group_key(options: Any, frames: Mapping[str, pd.DataFrame]) -> str | None:
    cutoffs = (
        (options.get("statistics") or {}).get("cutoffs") if isinstance(options, Mapping) else None
    )
    if cutoffs:
        return str(cutoffs[0].get("group", "her2"))
    subjects = frames.get("subjects")
    if subjects is not None and "her2" in subjects.columns:
        return "her2"
    return None


def render_report(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    run: Mapping[str, Any],
    options: Any,
    errors: Any = None,
) -> str:
    """The report's HTML text (see :func:`write_report`)."""
    from ..core.version import __version__

    version = str(run.get("version") or run.get("immunopet_version") or __version__)
    frames = {k: v for k, v in tables.items() if v is not None}
    measurements, subjects = frames.get("measurements"), frames.get("subjects")
    group_key = _group_key(options, frames)
    stats_options = options.get("statistics") if isinstance(options, Mapping) else None
    spread = str((stats_options or {}).get("dispersion", "sd"))
    spread = spread if spread in ("sd", "sem") else "sd"
    metric = str((stats_options or {}).get("metric") or "suv_max")
    lesions_wide = build_lesions(measurements, subjects, frames.get("lesions"))
    listed = None
    column = next((c for c in ("n_lesions_analysed", "n_lesions_known")
                   if subjects is not None and c in subjects), None)  # fmt: skip
    if column is not None:
        listed = {str(s): int(n) for s, n in zip(subjects["subject"], subjects[column],
                                                  strict=True)}  # fmt: skip
    reference = (options.get("lesions") or {}).get("reference_tracer") if isinstance(
        options, Mapping) else None  # fmt: skip
    findings = key_findings(frames, options if isinstance(options, Mapping) else {}, listed,
                            reference_tracer=reference or "FDG")  # fmt: skip
    sections: list[Section | None] = [
        findings_section(findings),
        cohort_section(subjects, lesions_wide),
        lesion_section(lesions_wide, group_key, metric),
        dot_plot_section(lesions_wide, group_key, spread=spread, metric=metric),  # type: ignore[arg-type]
        statistics_section(frames.get("statistics"), lesions_wide, group_key, spread=spread),  # type: ignore[arg-type]
        tac_section(measurements),
        tnr_section(lesions_wide, group_key),
        mip_section(out_dir / "mip"),
        dose_section(frames.get("doses"), frames.get("tias")),
        voxel_section(out_dir, frames, group_key, lesions_wide),
        preclinical_section(frames.get("preclinical")),
    ]
    sections = [s for s in sections if s is not None]  # voxel dosimetry only when run
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("immunopet.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        title=str(run.get("study") or run.get("name") or "immunopet report"),
        version=version,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        run=run,
        errors=errors or [],
        sections=sections,
        collapse_rows=COLLAPSE_ROWS,
        methods=methods_paragraphs(options, version=version),
        icrp_notice=ICRP107_NOTICE,
        research_notice=RESEARCH_USE_NOTICE,
    )


def write_report(
    out_dir: str | Path,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    options: Any = None,
) -> Path:
    """Write ``out_dir/report.html`` from a run's tables.

    Parameters
    ----------
    out_dir
        The run's output folder (``tables/``, ``run.json``, ``mip/`` inside).
    tables
        Tables to use instead of (or in addition to) those on disk, by name
        (:data:`TABLE_NAMES`).
    options
        Analysis options for the methods paragraph (mapping or ``AnalysisOptions``);
        default: ``run.json``'s ``options`` (or ``analysis``) entry.

    Returns
    -------
    pathlib.Path
        The report's path. Written atomically (temporary file, then rename).

    Raises
    ------
    InputError
        If ``out_dir`` does not exist or a table / run.json cannot be read.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError("the results folder does not exist; run `immunopet run` first", file=out)
    frames = _read_tables(out)
    frames.update({k: v for k, v in (tables or {}).items() if v is not None})
    run = _read_json(out / "run.json") or {}
    if not isinstance(run, Mapping):
        run = {}
    opts = _as_mapping(options if options is not None else run.get("options", run.get("analysis")))
    errors = _read_json(out / "errors.json")
    if isinstance(errors, Mapping):
        errors = errors.get("errors", [])
    html = render_report(out, frames, run, opts, errors if isinstance(errors, list) else [])
    path = out / "report.html"
    tmp = out / ".report.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
