"""CLI commands for the dosimetry step (see immunopet.cli): ``immunopet dose``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..core.errors import InputError, InvalidValueError, MissingFieldError
from ..workflow import TiaTable, organ_doses
from ..workflow.dose_sets import resolve_svalues
from .study_options import STUDY_OPTION, analysis_of, override


def _read_table(path: Path):  # type: ignore[no-untyped-def]
    import pandas as pd

    if not path.exists():
        raise InputError("file not found", file=path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path, comment="#")


def _load_volume(path: Path, unit: str):  # type: ignore[no-untyped-def]
    """A CT or label map via ``immunopet.io.load_volume`` (DICOM/NIfTI), else SimpleITK."""
    if not path.exists():
        raise InputError("file not found", file=path)
    try:
        from ..io import load_volume  # the ingest step's public API
    except ImportError:
        import SimpleITK as sitk

        from ..core.volume import Volume

        try:
            return Volume.from_sitk(sitk.ReadImage(str(path)), unit)
        except RuntimeError as exc:
            raise InputError(f"cannot read image: {exc}", file=path) from exc
    return load_volume(path)


def _label_names(path: Path | None, labels_path: Path) -> dict[int, str]:
    """Label names from a JSON ``{"1": "liver", ...}`` or a CSV ``label,name`` file."""
    if path is None:
        for cand in (labels_path.with_suffix(".json"), Path(str(labels_path) + ".json")):
            if cand.exists():
                path = cand
                break
    if path is None:
        raise MissingFieldError(
            "give --label-names (JSON {label: name} or CSV label,name) for the label map",
            file=labels_path,
        )
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text())
        return {int(k): str(v) for k, v in raw.items()}
    df = _read_table(path)
    return {int(k): str(v) for k, v in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True)}


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("dose")
    def dose(
        tia: Path = typer.Argument(
            ...,
            help="Kinetics table (CSV/Parquet): subject, region, tiac_h (or tia_bq_h + injected_activity_bq).",
        ),
        nuclide: str | None = typer.Option(
            None, "--nuclide", help="Nuclide, e.g. I-124 (default: the study's or the table's)."
        ),
        phantom: str | None = typer.Option(
            None,
            "--phantom",
            help="adult | adult-male | adult-female | patient (default: the study's).",
        ),
        output: Path = typer.Option(
            Path("doses.csv"), "-o", "--output", help="Tidy dose table (CSV or .parquet)."
        ),
        table2: Path | None = typer.Option(
            None, "--table2", help="Write the Table-2-like summary (Markdown; .html for HTML)."
        ),
        ct: Path | None = typer.Option(None, "--ct", help="Patient CT (phantom patient)."),
        labels: Path | None = typer.Option(
            None, "--labels", help="Patient organ label map (phantom patient)."
        ),
        label_names: Path | None = typer.Option(
            None, "--label-names", help="JSON/CSV label → organ name."
        ),
        weighting: str = typer.Option(
            "icrp103", "--weighting", help="icrp103 | icrp60 tissue weighting factors."
        ),
        histories: int = typer.Option(
            200_000, "--histories", help="Photons per source (patient phantom)."
        ),
        svalues: Path | None = typer.Option(
            None,
            "--svalues",
            help="Imported S-values (OLINDA/EXM matrix CSV or long target,source,"
            "s_mgy_per_mbq_s table) in place of ours (default: the study's dosimetry.svalues).",
        ),
        uncertainty: str | None = typer.Option(
            None,
            "--uncertainty",
            help="Dose SD from TIA, mass and S-value SDs: analytic | monte_carlo | none "
            "(default: the study's, analytic).",
        ),
        marrow: str | None = typer.Option(
            None,
            "--marrow",
            help="Red marrow: auto | blood (EANM 2010, RMBLR x blood) | image "
            "(default: the study's, auto).",
        ),
        study_path: Path | None = STUDY_OPTION,
    ) -> None:
        """Organ absorbed doses and effective dose (MIRD schema) from TIACs.

        Runs :func:`immunopet.workflow.organ_doses`, the recipe of ``immunopet run``:
        regions the phantom does not know stay in the remainder of body (one warning
        names them), and the S-values must be of the nuclide the TIAs were integrated with.
        """
        from ..dosimetry.organ_dose import table2_html, table2_markdown, table2_summary
        from ..study import DosimetryOptions

        study, analysis = analysis_of(study_path)
        options = analysis.dosimetry
        if study is not None:
            options = resolve_svalues(options, study.base_dir)
        options = override(
            options,
            svalues=None if svalues is None else str(svalues),
            uncertainty=uncertainty,
            marrow=marrow,
        )
        if phantom is not None and phantom != "patient":
            options = override(options, phantom=phantom)
        kinetics = TiaTable.read(tia)
        kwargs: dict[str, object] = {"weighting": weighting}
        if phantom == "patient":
            if ct is None or labels is None:
                raise InvalidValueError(
                    "--phantom patient needs --ct and --labels", field="--phantom", value=phantom
                )
            kwargs.update(
                ct=_load_volume(ct, "HU"),
                labels=_load_volume(labels, "label"),
                label_names=_label_names(label_names, labels),
                n_histories=histories,
            )
            options = DosimetryOptions.model_construct(
                **{**options.model_dump(), "phantom": "patient"}
            )
        tracer = None
        if study is not None and study.subjects:
            from ..workflow import tac_tracer

            tracer = tac_tracer(study, study.subjects[0])
        try:
            doses = organ_doses(kinetics, options, nuclide=nuclide, tracer=tracer, **kwargs).frame
        except InputError as exc:
            if exc.file is None:
                exc.file = str(tia)
            raise
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() in (".parquet", ".pq"):
            doses.to_parquet(output, index=False)
        else:
            doses.to_csv(output, index=False)
        first = doses[(doses["nuclide"] == doses["nuclide"].iloc[0])]
        summary = table2_summary(first[first["source_set"] == first["source_set"].iloc[0]])
        if table2 is not None:
            table2.parent.mkdir(parents=True, exist_ok=True)
            used = nuclide or options.nuclide or ", ".join(kinetics.nuclides)
            text = (
                table2_html(summary)
                if table2.suffix.lower() in (".html", ".htm")
                else table2_markdown(
                    summary, title=f"{used} organ absorbed doses ({options.phantom})"
                )
            )
            table2.write_text(text)
        for key, part in doses.groupby(["nuclide", "source_set"], sort=False):
            e = table2_summary(part).loc[lambda t: t["target"] == "whole_body"]
            if len(e):
                typer.echo(
                    f"effective dose {e['mean'].iloc[0]:.4g} mSv/MBq ({key[0]}, {key[1]}, "
                    f"{len(set(part['subject']))} subject(s), S-values: "
                    f"{part['svalue_source'].iloc[0]}); wrote {output}"
                )
