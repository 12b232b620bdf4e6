"""``--study``: the single-step commands take their options from a study file.

``immunopet lesions|measure|tac|dose … --study study.yaml [--subject S] [--scan ID]``
applies exactly the options ``immunopet run`` would. Without ``--study`` the
defaults are the study model's (:class:`immunopet.study.AnalysisOptions`): one
source of defaults. An option given on the command line overrides the study's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from ..core.errors import InvalidValueError
from ..study import AnalysisOptions, Study, load_study

__all__ = ["STUDY_OPTION", "SUBJECT_OPTION", "SCAN_OPTION", "analysis_of", "override"]

STUDY_OPTION = typer.Option(
    None, "--study", help="Take the analysis options (and scan inputs) from this study file."
)
SUBJECT_OPTION = typer.Option(None, "--subject", help="Subject of the study (with --study).")
SCAN_OPTION = typer.Option(
    None, "--scan", help="Scan id of the subject (with --study; default: its lesion reference)."
)


def analysis_of(study_path: Path | None) -> tuple[Study | None, AnalysisOptions]:
    """The study (or None) and its analysis options (the model's defaults without a study)."""
    if study_path is None:
        return None, AnalysisOptions()
    study = load_study(study_path)
    return study, study.analysis


def override(options: Any, /, **given: Any) -> Any:
    """``options`` with the command-line values that were given (not None) replacing its own.

    The result is validated by the study model, so a bad value is refused as it would
    be in a study file (:class:`~immunopet.core.errors.InvalidValueError`, exit 2).
    """
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return options
    try:
        return type(options).model_validate({**options.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "option"
        raise InvalidValueError(
            f"--{name.replace('_', '-')}: {first['msg']}",
            field=f"--{name.replace('_', '-')}",
            value=first.get("input"),
        ) from None
