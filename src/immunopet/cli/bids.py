"""CLI commands for PET-BIDS: ``immunopet study from-bids`` and ``immunopet export-bids``.

``immunopet run BIDS_ROOT`` is handled by :func:`study_file_for` (called from
``immunopet run``): a folder with ``dataset_description.json`` is turned into
``OUT/study.yaml`` first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..core.errors import InvalidValueError

__all__ = ["is_bids_root", "parse_sets", "register", "study_file_for"]

study_app = typer.Typer(help="Study files: infer one from a BIDS dataset.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``immunopet study from-bids`` and ``immunopet export-bids`` to ``app``."""
    app.add_typer(study_app, name="study")
    app.command("export-bids")(export_bids)


def is_bids_root(path: Path) -> bool:
    """True for a folder holding ``dataset_description.json``."""
    return path.is_dir() and (path / "dataset_description.json").is_file()


def study_file_for(path: Path, out: Path) -> Path:
    """``path`` itself, or for a BIDS root the study inferred from it, written as ``OUT/study.yaml``."""
    if not is_bids_root(path):
        return path
    from ..study.bids import write_study_yaml

    written = write_study_yaml(path, out / "study.yaml")
    Console(stderr=True).print(f"BIDS dataset {path}: study inferred into {written}")
    return written


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["ReconFilterSize=5", "AcquisitionMode=static"]`` → ``{..: 5.0, ..: "static"}``.

    Values are JSON when they parse as JSON (numbers, lists, true/false), else text.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidValueError(
                f"--set needs KEY=VALUE, got {item!r}", field="--set", value=item
            )
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


@study_app.command("from-bids")
def from_bids(
    bids_root: Path = typer.Argument(..., help="Root of a PET-BIDS dataset."),
    out: Path = typer.Option(Path("study.yaml"), "-o", "--out", help="Study file to write."),
) -> None:
    """Infer a study file from a PET-BIDS dataset (to see and edit before `immunopet run`)."""
    from ..core.errors import InputError
    from ..study.bids import write_study_yaml

    if not is_bids_root(bids_root):
        raise InputError("not a BIDS dataset (no dataset_description.json)", file=bids_root)
    path = write_study_yaml(bids_root, out)
    Console(stderr=True).print(f"study file: {path}")


def export_bids(
    source: Path = typer.Argument(
        ..., help="A DICOM folder, a study YAML file, or the output folder of `immunopet run`."
    ),
    out: Path = typer.Option(..., "-o", "--out", help="BIDS dataset folder to write."),
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        help="PET-BIDS sidecar KEY=VALUE for keys the DICOM headers lack (repeatable), "
        "e.g. --set AcquisitionMode=static.",
    ),
) -> None:
    """Write DICOM PET/CT (a folder, or every scan of a study file) as a PET-BIDS dataset.

    Given the output folder of `immunopet run` (it holds tables/ and run.json), write its
    results as the derivative dataset OUT/derivatives/immunopet instead.
    """
    overrides = parse_sets(sets)
    if source.is_dir() and (source / "tables").is_dir() and (source / "run.json").is_file():
        from ..pipeline.bids_derivatives import write_derivatives

        root = write_derivatives(source, out)
        Console(stderr=True).print(f"BIDS derivatives: {root}")
        return
    if source.is_file() and source.suffix.lower() in {".yaml", ".yml"}:
        from ..study import load_study
        from ..study.bids import export_study_bids

        export_study_bids(load_study(source), out, overrides=overrides)
    else:
        from ..io.bids_write import export_dicom_bids

        export_dicom_bids(source, out, overrides=overrides)
    Console(stderr=True).print(f"PET-BIDS dataset: {out}")
