"""CLI commands for the kinetics step (see immunopet.cli): ``immunopet tac``."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer

from ..core.errors import InvalidValueError, MissingFieldError
from ..core.schema import RegionKind
from ..kinetics import TimeActivityCurve
from ..workflow import MeasurementTable, integrate, tac_tracer
from .study_options import STUDY_OPTION, SUBJECT_OPTION, analysis_of, override

__all__ = ["plot_curves", "register"]


def plot_curves(curves: list[TimeActivityCurve], path: Path) -> None:
    """SUV (when measured for every curve) or activity (MBq) vs time, one panel per subject."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subjects = sorted({c.subject for c in curves})
    use_suv = all(c.suv is not None for c in curves)
    fig, axes = plt.subplots(
        len(subjects), 1, figsize=(7, 3.2 * len(subjects)), squeeze=False, constrained_layout=True
    )
    for ax, subject in zip(axes[:, 0], subjects, strict=True):
        for c in (c for c in curves if c.subject == subject):
            y = c.suv if use_suv else c.activity_bq / 1e6
            ax.plot(c.time_h, y, marker="o", label=c.region)
        ax.set_title(subject)
        ax.set_xlabel("time post-injection (h)")
        ax.set_ylabel("SUV mean" if use_suv else "activity at scan time (MBq)")
        # Outside the panel, so that no curve hides under it.
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("tac")
    def tac(
        table: Path = typer.Argument(..., help="Tidy measurement table (CSV or Parquet)."),
        output: Path = typer.Option(..., "-o", "--output", help="Kinetics table to write (CSV)."),
        model: str | None = typer.Option(
            None, help="auto | trapezoid | mono_exp | bi_exp (default: the study's)."
        ),
        tail: str | None = typer.Option(
            None, help="Trapezoid tail: fit | physical | none (default: the study's)."
        ),
        head: str = typer.Option("linear", help="Trapezoid head: linear (from 0) | constant."),
        injected_mbq: float | None = typer.Option(
            None, "--injected-mbq", help="Injected activity (MBq) for every subject."
        ),
        cv: float | None = typer.Option(
            None, "--cv", help="Relative SD of each activity (e.g. 0.1) when no SD rows exist."
        ),
        tracer: str | None = typer.Option(None, help="Keep rows whose tracer contains this."),
        nuclide: str | None = typer.Option(
            None, "--nuclide", help="Nuclide, when the table has no nuclide column."
        ),
        uncertainty: str = typer.Option("delta", help="delta | monte_carlo."),
        seed: int = typer.Option(0, help="Seed of the Monte Carlo uncertainty."),
        remainder: bool = typer.Option(
            False, help="Add OLINDA-style total_body/remainder rows (export to other tools)."
        ),
        urinary_fraction: float | None = typer.Option(
            None, help="Fraction excreted in urine: adds the dynamic bladder model row."
        ),
        voiding_interval_h: float | None = typer.Option(
            None, help="Bladder voiding interval (h) (default: the study's, 3.5 h)."
        ),
        therapy_nuclide: str | None = typer.Option(
            None,
            "--therapy-nuclide",
            help="Also write the TIAs this therapy nuclide would give on the same carrier "
            "(e.g. I-131 from I-124 images): imaging decay removed, therapy decay applied.",
        ),
        therapy_tail: str | None = typer.Option(
            None,
            "--therapy-tail",
            help="Therapy TIA after the last image: fit (fitted clearance) | physical "
            "(therapy decay only, the upper bound) (default: the study's, fit).",
        ),
        plot: Path | None = typer.Option(None, help="Write a TAC plot (PNG)."),
        study_path: Path | None = STUDY_OPTION,
        subject: str | None = SUBJECT_OPTION,
    ) -> None:
        """Time-activity curves → time-integrated activity per subject·region.

        The curves are integrated by :func:`immunopet.workflow.integrate`, the recipe
        ``immunopet run`` uses; with ``--study`` its kinetics options and TAC tracer.
        Missing points (a region outside a scan's field of view) are skipped with a
        warning that counts them.
        """
        if injected_mbq is not None and not (math.isfinite(injected_mbq) and injected_mbq > 0):
            raise InvalidValueError(
                "injected activity must be positive", field="--injected-mbq", value=injected_mbq
            )
        study, analysis = analysis_of(study_path)
        kinetics = override(
            analysis.kinetics,
            model={"mono": "mono_exp", "bi": "bi_exp"}.get(str(model), model),
            tail=tail,
            urinary_fraction=urinary_fraction,
            voiding_interval_h=voiding_interval_h,
            therapy_nuclide=therapy_nuclide,
            therapy_tail=therapy_tail,
        )
        measurements = MeasurementTable.read(table, nuclide=nuclide)
        frame = measurements.frame
        if subject is not None:
            frame = frame[frame["subject"].astype(str) == subject]
        tracers: dict[str, str | None] = {}
        for sid in dict.fromkeys(frame["subject"].astype(str)):
            chosen = tracer
            if chosen is None and study is not None:
                entry = next((s for s in study.subjects if s.id == sid), None)
                chosen = None if entry is None else tac_tracer(study, entry)
            tracers[sid] = chosen
        parts, curves = [], []
        for sid, chosen in tracers.items():
            mine = MeasurementTable(frame[frame["subject"].astype(str) == sid], str(table))
            kinds = (*RegionKind.organ_curve_kinds(), RegionKind.LESION)
            theirs = mine.curves(tracer=chosen, kinds=kinds,
                                 injected_activity_bq=_bq(injected_mbq), relative_sd=cv)  # fmt: skip
            curves += theirs
            missing = [c.subject for c in theirs if c.injected_activity_bq is None]
            if missing:
                raise MissingFieldError(
                    f"no injected activity for subject(s) {sorted(set(missing))}: add "
                    "injected_activity_bq rows or pass --injected-mbq",
                    file=table,
                    field="injected_activity_bq",
                )
            parts.append(
                integrate(
                    mine, kinetics, tracer=chosen, injected_activity_bq=_bq(injected_mbq),
                    relative_sd=cv, head=head, uncertainty=uncertainty, seed=seed,
                    remainder=remainder, curves=theirs, warn=True,
                ).frame
            )  # fmt: skip
        result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() in (".parquet", ".pq"):
            result.to_parquet(output, index=False)
        else:
            result.to_csv(output, index=False)
        if plot is not None:
            plot.parent.mkdir(parents=True, exist_ok=True)
            plot_curves(curves, plot)
        typer.echo(f"wrote {len(result)} rows to {output}")
        if kinetics.therapy_nuclide is not None and "tail_fraction" in result:
            pred = result[result["nuclide"] == kinetics.therapy_nuclide]
            typer.echo(
                f"{kinetics.therapy_nuclide}: {len(pred)} predicted TIAs; after the last image "
                f"({kinetics.therapy_tail} tail) lies a median "
                f"{100 * pred['tail_fraction'].median():.0f} % (max "
                f"{100 * pred['tail_fraction'].max():.0f} %) of each TIA; caveat: "
                f"{pred['labelling_caveat'].iloc[0]}",
                err=True,
            )


def _bq(mbq: float | None) -> float | None:
    return None if mbq is None else mbq * 1e6
