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
import math
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

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
            study_path = simulate_trial(out_dir, n_subjects=n_subjects, seed=seed).study_path
        marker.write_text(json.dumps(wanted))
    return study_path


def demo(
    out: Path = typer.Option(Path("demo-output"), "-o", "--out", help="Output folder."),
    subjects: int | None = typer.Option(
        None, "--subjects", help="Cohort size (default: the reference study's patients)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulation."),
    workers: int = typer.Option(2, "--workers", "-w", help="Local worker processes."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Simulate the reference 124I-trastuzumab trial as DICOM and analyse it end to end."""
    from ..pipeline import run_study
    from ..study import load_study

    study_path = prepare_demo_study(out, subjects, seed, quiet)
    study = load_study(study_path)
    results = out / "results"
    summary = run_study(study, results, workers=workers, quiet=quiet)
    lines = demo_summary(results, study)
    console = Console()
    table = Table("", "result", title="immunopet demo (simulated trial, analysed blind)")
    for name, value in lines:
        table.add_row(name, value)
    console.print(table)
    console.print(f"report: {results / 'report.html'}")
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def _pct(k: float, n: float, lo: float, hi: float) -> str:
    return f"{int(k)}/{int(n)} = {100 * k / n:.0f} % (95 % CI {100 * lo:.0f}–{100 * hi:.0f} %)"


def demo_summary(results: Path, study: Any) -> list[tuple[str, str]]:
    """The demo's summary lines ``(what, value)`` from the result tables of ``results``.

    Expected lesions are those the study file lists as analysed (the clinical
    record), never the simulation's truth.
    """
    from ..report.sections import metric_label

    tables = results / "tables"
    lines: list[tuple[str, str]] = []

    def read(name: str) -> pd.DataFrame:
        path = tables / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()

    lesions = read("lesions")
    found = lesions.groupby("subject").size() if len(lesions) else pd.Series(dtype=int)
    listed = {s.id: sum(1 for les in s.lesions if les.analysed) for s in study.subjects}
    per = [f"{sid} {int(found.get(sid, 0))}/{n}" for sid, n in listed.items()]
    expected = sum(listed.values())
    lines.append(
        ("FDG lesions found / expected", f"{int(found.sum())}/{expected}  ({', '.join(per)})")
    )
    stats = read("statistics")
    if len(stats):
        main = stats[(stats["tracer_a"].astype(str) != "FDG") & stats["tracer_a"].notna()]
        det = main[(main["kind"] == "detection") & (main["group_a"] == "her2=positive")]
        for _, r in det.sort_values("time_a_h").iterrows():
            if r["time_a_h"] in (1.0, 24.0, 48.0):
                lines.append(
                    (f"HER2+ detection {r['time_a_h']:g} h",
                     _pct(r["statistic"], r["n_a"], r["ci_low"], r["ci_high"]))
                )  # fmt: skip
        cmp = main[
            (main["kind"] == "comparison")
            & (main["time_a_h"] == 24.0)
            & (main["time_b_h"] == 24.0)
            & (main["group_a"] == "her2=positive")
            & (main["group_b"] == "her2=negative")
        ]
        for _, r in cmp[cmp["test"].isin(["student", "welch"])].iterrows():
            lines.append(
                (f"{metric_label(str(r['metric']))} 24 h HER2+ vs HER2− ({r['test']})",
                 f"{r['mean_a']:.2f} ± {r['sd_a']:.2f} (n={int(r['n_a'])}) vs "
                 f"{r['mean_b']:.2f} ± {r['sd_b']:.2f} (n={int(r['n_b'])}) mean ± SD, "
                 f"p = {r['p_value']:.2g}")
            )  # fmt: skip
        cut = main[(main["kind"] == "cutoff") & (main["time_a_h"] == 24.0)]
        values = {c.metric: c.value for c in study.analysis.statistics.cutoffs if c.time == "24h"}
        for _, r in cut.iterrows():
            what = str(r["analysis"]).split(" of ")[0]
            metric = str(r["metric"])
            lines.append(
                (f"{what} of {metric_label(metric)} ≥ {values.get(metric, 4.0):g} at 24 h",
                 _pct(r["statistic"], r["n_a"], r["ci_low"], r["ci_high"]))
            )  # fmt: skip
    doses = read("doses")
    if len(doses):
        every = doses[doses["quantity"] == "effective_dose"]
        sets = every["source_set"] if "source_set" in every else pd.Series("all_segmented",
                                                                            index=every.index)  # fmt: skip
        eff = every.loc[sets == "all_segmented", "value"].astype(float)
        sd = eff.std(ddof=1) if len(eff) > 1 else math.nan
        lines.append(
            ("effective dose (ICRP 103)",
             f"{eff.mean():.3f} ± {sd:.3f} mSv/MBq (mean ± SD, n={len(eff)}); "
             "paper: 0.30 (OLINDA/EXM, 5 patients; README)")
        )  # fmt: skip
        ref = every[sets == "reference_study"]
        if len(ref):
            five = ref[ref["subject"].astype(str) != "P06"]["value"].astype(float)
            lines.append(
                ("effective dose, the paper's source organs",
                 f"{ref['value'].mean():.3f} ± {ref['value'].std(ddof=1):.3f} mSv/MBq (n="
                 f"{len(ref)}; {five.mean():.3f} without P06, as the paper's 5 patients); heart, "
                 "liver, spleen, kidneys, bladder + remainder, as the paper's OLINDA/EXM run")
            )  # fmt: skip
    return lines
