"""``immunopet demo``: the reference trial as a digital twin, simulated and analysed end to end.

1. :func:`immunopet.simulate.simulate_trial` writes the cohort into ``DIR``
   (``dicom/``, ``labels/``, ``preclinical/``, ``study.yaml``, and the hidden
   ``truth.json`` that only the validation test reads); its analysis block is
   :data:`immunopet.simulate.study_file.REFERENCE_ANALYSIS` (lesion-core SUVmax,
   the paper's 4.0 cutoff at 1/24/48 h, detection rule, dynamic bladder);
2. the demo runs the same function as ``immunopet run``
   (:func:`immunopet.pipeline.run_study`) into ``DIR/results``;
3. it prints a summary read back from ``DIR/results/tables`` — never from the
   simulation's truth: FDG lesions found vs the lesions listed in the study
   file, HER2+ detection sensitivity per time point, HER2+ vs HER2− SUVmax at
   24 h, sensitivity/specificity at SUVmax 4.0, effective dose.

A rerun with the same ``--subjects``/``--seed`` reuses the simulated images
(``DIR/demo.json`` records them) and the pipeline's cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from .pipeline import throughput_line

__all__ = ["demo_summary", "prepare_demo_study", "register"]


def register(app: typer.Typer) -> None:
    """Add ``immunopet demo`` to ``app``."""
    app.command("demo")(demo)


def prepare_demo_study(out_dir: Path, n_subjects: int | None, seed: int, quiet: bool) -> Path:
    """Simulate the trial into ``out_dir`` (unless already there) and return its study file."""
    from ..simulate import simulate_trial

    out_dir.mkdir(parents=True, exist_ok=True)
    marker = out_dir / "demo.json"
    wanted = {"subjects": n_subjects, "seed": seed}
    study_path = out_dir / "study.yaml"
    done = marker.exists() and json.loads(marker.read_text()) == wanted and study_path.exists()
    if not done:
        console = Console(stderr=True, quiet=quiet)
        with console.status(f"simulating the trial into {out_dir} (DICOM PET/CT, labels)…"):
            study_path = simulate_trial(
                out_dir, n_subjects=n_subjects, seed=seed, background_processes=1
            ).study_path
        marker.write_text(json.dumps(wanted))
    return study_path


def demo(
    out: Path = typer.Option(Path("demo-output"), "-o", "--out", help="Output folder."),
    subjects: int | None = typer.Option(
        None, "--subjects", help="Cohort size (default: the reference study's patients)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulation."),
    workers: int = typer.Option(2, "--workers", "-w", help="Local worker processes."),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="dask.distributed scheduler (tcp://HOST:PORT, or local-cluster) instead of the "
        "local process pool.",
    ),  # fmt: skip
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    bids: Path | None = typer.Option(
        None, "--bids", help="Also write the simulated trial as a PET-BIDS dataset here."
    ),
) -> None:
    """Simulate the reference 124I-trastuzumab trial as DICOM and analyse it end to end."""
    from ..pipeline import run_study
    from ..study import load_study

    study_path = prepare_demo_study(out, subjects, seed, quiet)
    study = load_study(study_path)
    if bids is not None:
        from ..simulate.bids_twin import write_twin_bids

        write_twin_bids(out, bids)
    results = out / "results"
    summary = run_study(study, results, workers=workers, scheduler=scheduler, quiet=quiet)
    lines = demo_summary(results, study)
    console = Console()
    table = Table("", "result", title="immunopet demo (simulated trial, analysed blind)")
    for name, value in lines:
        table.add_row(name, value)
    console.print(table)
    console.print(f"{summary.executor}: {throughput_line(summary)}")
    console.print(f"report: {results / 'report.html'}")
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def demo_summary(results: Path, study: Any) -> list[tuple[str, str]]:
    """The demo's summary lines ``(what, value)``: the report's key findings of ``results``.

    Expected lesions are those the study file lists as analysed (the clinical
    record), never the simulation's truth.
    """
    from ..report.findings import key_findings

    tables = results / "tables"
    frames = {
        name: pd.read_parquet(tables / f"{name}.parquet")
        for name in ("lesions", "statistics", "doses")
        if (tables / f"{name}.parquet").exists()
    }
    listed = {s.id: sum(1 for les in s.lesions if les.analysed) for s in study.subjects}
    lines = key_findings(
        frames,
        study.analysis.model_dump(mode="json"),
        listed,
        reference_tracer=study.analysis.lesions.reference_tracer or "FDG",
        paper_effective_dose="paper: 0.30 (OLINDA/EXM, 5 patients; README)",
    )
    doses = frames.get("doses")
    if doses is not None and "source_set" in doses:
        # The paper excluded patient 6 (escaped thyroid) from its dose summary.
        ref = doses[
            (doses["quantity"] == "effective_dose") & (doses["source_set"] == "reference_study")
        ]
        five = ref[ref["subject"].astype(str) != "P06"]["value"].astype(float)
        if len(five) > 1:
            lines.append(("effective dose, paper's source organs, without P06",
                          f"{five.mean():.3f} ± {five.std(ddof=1):.3f} mSv/MBq (n={len(five)}, "
                          "as the paper's 5 patients; paper: 0.30)"))  # fmt: skip
    comparisons = tables / "preclinical_comparisons.parquet"
    if comparisons.exists():
        lines += _preclinical_lines(pd.read_parquet(comparisons))
    return lines


def _preclinical_lines(cmp: pd.DataFrame) -> list[tuple[str, str]]:
    """24 h micro-PET comparisons measured from the animal images (paper: 11.91 %ID/g, T/M 9.13)."""
    lines = []
    at24 = cmp[cmp["time_h"] == 24.0] if len(cmp) else cmp
    for r in at24.itertuples(index=False):
        unit = " %ID/g" if r.metric == "percent_id_per_g" else ""
        what = "tumour %ID/g" if r.metric == "percent_id_per_g" else "tumour/muscle"
        lines.append(
            (f"micro-PET 24 h {what}: {r.comparison}",
             f"{r.mean_a:.2f} ± {r.sd_a:.2f}{unit} vs {r.mean_b:.2f} ± {r.sd_b:.2f} "
             f"(n={int(r.n_a)}, {int(r.n_b)}), p = {r.p_value:.2g}")
        )  # fmt: skip
    return lines
