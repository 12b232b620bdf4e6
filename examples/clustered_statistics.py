"""Lesion-level and patient-clustered statistics of an analysed study, side by side.

Usage (after ``immunopet run`` or ``immunopet demo``)::

    python examples/clustered_statistics.py demo-output/results/tables demo-output/study.yaml

It reads the measurement, subject and lesion tables, runs
:func:`immunopet.stats.clustered_study_statistics` with the study file's
``analysis.statistics`` options, prints the 24 h rows and the report's sentence,
and writes ``statistics_clustered.parquet`` beside the tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from immunopet.stats import clustered_study_statistics, clustering_sentence
from immunopet.study import load_study


def main(tables: Path, study_file: Path) -> None:
    measurements = pd.read_parquet(tables / "measurements.parquet")
    subjects = pd.read_parquet(tables / "subjects.parquet")
    lesions = pd.read_parquet(tables / "lesions.parquet").rename(columns={"lesion_id": "lesion"})
    lesions = lesions.drop(columns=["scan_id", "tracer"], errors="ignore")
    options = load_study(study_file, check_files=False).analysis.statistics
    table = clustered_study_statistics(measurements, subjects, options=options, lesions=lesions)
    columns = ["analysis", "method", "groups", "estimate", "ci_low", "ci_high", "p",
               "n_lesions", "n_patients", "design_effect", "icc"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.loc[table["time_h"] == 24.0, columns].round(3).to_string(index=False))
    print()
    print(clustering_sentence(table, analysis="detection sensitivity", time_h=24.0))
    table.to_parquet(tables / "statistics_clustered.parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
