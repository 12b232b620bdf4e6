"""CLI commands of the pipeline: ``immunopet run``, ``immunopet report``, ``immunopet schema``.

Exit codes of ``immunopet run``:

* 0 — every task finished;
* 2 — bad input found before any work (study file schema or semantics);
* 3 — completed with errors: some subjects failed (see ``OUT/errors.json``),
  every other subject finished and the tables hold their results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("run")(run)
    app.command("report")(report)
    app.command("schema")(schema)


def run(
    study_file: Path = typer.Argument(..., help="The study YAML file, or a BIDS dataset root."),
    out: Path = typer.Option(Path("results"), "-o", "--out", help="Output folder."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        min=0,
        help="Local worker processes (0: inline in this process). Default: CPU cores, at most 4.",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="dask.distributed scheduler tcp://HOST:PORT, or 'local-cluster'."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        help="Threads per local worker (numba, BLAS, FFT). Default: cores // workers.",
    ),
    memory_per_worker_gb: float | None = typer.Option(
        None,
        "--memory-per-worker-gb",
        help="A scan whose images would need more is reported, not run. Default: 90 % of the "
        "available memory / workers.",
    ),
    only: list[str] | None = typer.Option(
        None, "--only", help="Run only this subject (repeatable)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary."),
    log_json: bool = typer.Option(False, "--log-json", help="JSON-lines task events on stderr."),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="JSON-lines task events to this file."
    ),
    no_report: bool = typer.Option(False, "--no-report", help="Do not write report.html."),
) -> None:
    """Run the whole analysis of a study: tables in OUT/tables, report in OUT/report.html.

    Exit code 0: all done; 2: bad input (nothing was run); 3: completed with
    errors (failed subjects listed in OUT/errors.json, the others finished).
    """
    _refuse_file_as_output(out)
    from ..pipeline import run_study
    from ..pipeline.progress import open_log
    from ..study import load_study
    from .bids import is_bids_root, study_file_for

    from_bids = is_bids_root(study_file)
    study_file = study_file_for(study_file, out)  # a BIDS root -> OUT/study.yaml
    study = load_study(study_file)  # raises StudyError -> exit 2 before any work
    run_opts = study.execution  # the study's `execution:` section; the flags win
    workers = workers if workers is not None else run_opts.workers
    threads = threads if threads is not None else run_opts.threads
    memory_per_worker_gb = (
        memory_per_worker_gb if memory_per_worker_gb is not None
        else run_opts.memory_per_worker_gb
    )  # fmt: skip
    scheduler = scheduler if scheduler is not None else run_opts.scheduler
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    log = open_log(str(log_file) if log_file else ("-" if log_json else None))
    executor = None
    if scheduler is None and workers > 0 and (threads or memory_per_worker_gb):
        from ..pipeline.executors import make_executor

        executor = make_executor(
            workers, threads=threads, memory_per_worker_gb=memory_per_worker_gb
        )
    try:
        summary = run_study(
            study,
            out,
            workers=workers,
            scheduler=scheduler,
            executor=executor,
            only=only or None,
            quiet=quiet,
            log=log,
            report=not no_report,
        )
    finally:
        if executor is not None:
            executor.close()
        if log_file and log is not None:
            log.close()
    if from_bids and (out / "tables").is_dir():
        # The run's BIDS derivatives, beside its tables (the input dataset is not written
        # to; `immunopet export-bids OUT -o BIDS_ROOT` puts them into it).
        from ..pipeline.bids_derivatives import write_derivatives

        write_derivatives(out, out)
    if not quiet:
        _print_summary(summary)
    if summary.exit_code:
        # SystemExit, not typer.Exit: click (standalone_mode=False) would swallow the code.
        raise SystemExit(summary.exit_code)


def throughput_line(summary) -> str:  # type: ignore[no-untyped-def]
    """``N subjects in X s (Y s per subject); peak memory per worker Z GB``."""
    n = max(1, summary.n_subjects)
    return (
        f"{summary.n_subjects} subject(s) in {summary.seconds:.1f} s "
        f"({summary.seconds / n:.2f} s per subject, {summary.compute_seconds:.1f} s of task "
        f"compute); peak memory per worker {summary.worker_peak_bytes / 1e9:.2f} GB"
    )


def _print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    console = Console(stderr=True)
    console.print(
        f"{summary.n_tasks} tasks: {summary.n_computed} computed, {summary.n_cached} cached, "
        f"{len(summary.errors)} failed, {len(summary.skipped)} skipped, "
        f"{len(summary.warnings)} warnings (OUT/warnings.json) "
        f"({summary.executor}, {summary.seconds:.1f} s)"
    )
    console.print(throughput_line(summary))
    if summary.errors:
        table = Table("subject", "step", "error", "message", title="errors (OUT/errors.json)")
        for e in summary.errors:
            table.add_row(str(e["subject"]), e["step"], str(e["error_type"]), str(e["message"]))
        console.print(table)
        console.print("[yellow]completed with errors (exit code 3)[/yellow]")
    for name, path in sorted(summary.tables.items()):
        console.print(f"  {name}: {path}")


def report(out: Path = typer.Argument(..., help="Output folder of `immunopet run`.")) -> None:
    """(Re)write OUT/report.html from the tables of a finished run."""
    from ..core.errors import InputError

    if not (out / "tables").is_dir():
        raise InputError("no tables/ folder here; run `immunopet run` first", file=out)
    try:
        from ..report import write_report
    except ImportError as exc:
        raise InputError(f"the report module is not available ({exc})", file=out) from None
    path = write_report(out)
    Console(stderr=True).print(f"report: {path}")


def schema() -> None:
    """Print the JSON Schema of the study file."""
    from ..study import Study

    typer.echo(json.dumps(Study.json_schema(), indent=2))


def _refuse_file_as_output(out: Path) -> None:
    """``-o`` naming an existing file (not a folder) is bad input: exit 2 before any work."""
    from ..core.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError("the output folder is an existing file; give a folder", file=out)
