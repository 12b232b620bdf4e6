"""CLI commands for the kinetics step (see immunopet.cli): ``immunopet tac``."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer

from ..core.errors import InputError, InvalidValueError, MissingFieldError
from ..kinetics import (
    ICRP_VOIDING_INTERVAL_H,
    TimeActivityCurve,
    curves_from_table,
    kinetics_table,
)

__all__ = ["plot_curves", "read_measurements", "register"]


def read_measurements(path: Path) -> pd.DataFrame:
    """Read the tidy measurement table (CSV or Parquet)."""
    if not path.exists():
        raise InputError("measurement table not found", file=path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the measurement table ({exc})", file=path) from exc


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
        ax.legend(fontsize="small", ncol=2)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("tac")
    def tac(
        table: Path = typer.Argument(..., help="Tidy measurement table (CSV or Parquet)."),
        output: Path = typer.Option(..., "-o", "--output", help="Kinetics table to write (CSV)."),
        model: str = typer.Option("auto", help="auto | trapezoid | mono | bi | bi_sum."),
        tail: str = typer.Option("physical", help="Trapezoid tail: physical | fit | none."),
        head: str = typer.Option("linear", help="Trapezoid head: linear (from 0) | constant."),
        injected_mbq: float | None = typer.Option(
            None, "--injected-mbq", help="Injected activity (MBq) for every subject."
        ),
        cv: float | None = typer.Option(
            None, "--cv", help="Relative SD of each activity (e.g. 0.1) when no SD rows exist."
        ),
        tracer: str | None = typer.Option(None, help="Keep rows whose tracer contains this."),
        uncertainty: str = typer.Option("delta", help="delta | monte_carlo."),
        seed: int = typer.Option(0, help="Seed of the Monte Carlo uncertainty."),
        remainder: bool = typer.Option(True, help="Add total_body/remainder rows."),
        urinary_fraction: float | None = typer.Option(
            None, help="Fraction excreted in urine: adds the dynamic bladder model row."
        ),
        voiding_interval_h: float = typer.Option(
            ICRP_VOIDING_INTERVAL_H, help="Bladder voiding interval (h)."
        ),
        plot: Path | None = typer.Option(None, help="Write a TAC plot (PNG)."),
    ) -> None:
        """Time-activity curves → time-integrated activity per subject·region."""
        if injected_mbq is not None and not (math.isfinite(injected_mbq) and injected_mbq > 0):
            raise InvalidValueError(
                "injected activity must be positive", field="--injected-mbq", value=injected_mbq
            )
        frame = read_measurements(table)
        curves = curves_from_table(
            frame,
            injected_activity_bq=None if injected_mbq is None else injected_mbq * 1e6,
            relative_sd=cv,
            tracer=tracer,
        )
        missing = sorted({c.subject for c in curves if c.injected_activity_bq is None})
        if missing:
            raise MissingFieldError(
                f"no injected activity for subject(s) {missing}: add injected_activity_bq rows "
                "or pass --injected-mbq",
                file=table,
                field="injected_activity_bq",
            )
        result = kinetics_table(
            curves,
            model=model,
            head=head,
            tail=tail,
            uncertainty=uncertainty,
            seed=seed,
            remainder=remainder,
            urinary_fraction=urinary_fraction,
            voiding_interval_h=voiding_interval_h,
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() in (".parquet", ".pq"):
            result.to_parquet(output, index=False)
        else:
            result.to_csv(output, index=False)
        if plot is not None:
            plot.parent.mkdir(parents=True, exist_ok=True)
            plot_curves(curves, plot)
        typer.echo(f"wrote {len(result)} rows to {output}")
