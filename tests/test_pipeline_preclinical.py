"""The micro-PET arm through `immunopet run`: images → preclinical tables → report section."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from immunopet.simulate.micropet_arm import simulate_micropet_arm


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    from immunopet.pipeline.plan import build_tasks, run_study
    from immunopet.study import load_study

    root = tmp_path_factory.mktemp("arm")
    arm = simulate_micropet_arm(root / "preclinical", seed=5, rel_to=root, n_per_group=3)
    doc = {"name": "mice only", "subjects": [{"id": "S", "scans": []}],
           "preclinical": arm.study_section}  # fmt: skip
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    study = load_study(path)
    steps = [t.step for t in build_tasks(study) if t.step.startswith("preclinical")]
    out = root / "results"
    run_study(study, out)
    return steps, out, arm


def test_image_arm_gives_tidy_tables_and_report_tables(run) -> None:
    steps, out, arm = run
    assert steps == ["preclinical", "preclinical_comparisons"]
    pre = pd.read_parquet(out / "tables" / "preclinical.parquet")
    assert list(pre.columns[:7]) == ["group", "animal", "time_h", "region", "metric", "value",
                                     "unit"]  # fmt: skip
    assert len(pre.animal.unique()) == 9 and sorted(pre.time_h.unique()) == [2, 24, 48, 72, 96]
    assert set(pre.region) == {"tumour", "muscle", "liver"}
    cmp = pd.read_parquet(out / "tables" / "preclinical_comparisons.parquet")
    assert len(cmp) == 2 * 2 * 5  # two pairs x (tumour %ID/g, T/M) x five time points
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Tumour uptake (%ID/g)" in html and "Tumour/muscle (T/M)" in html
    assert "HER2+ vs HER2- (124I-trastuzumab)" in html


def test_image_arm_separates_specific_from_control_antibody(run) -> None:
    """Even with 3 animals per group, 24 h trastuzumab HER2+ reads well above hIgG1 (p < 0.01)."""
    _, out, _ = run
    cmp = pd.read_parquet(out / "tables" / "preclinical_comparisons.parquet")
    row = cmp[(cmp.time_h == 24) & (cmp.metric == "percent_id_per_g")
              & (cmp.group_b == "higg1_her2pos")].iloc[0]  # fmt: skip
    assert row.mean_a > 2 * row.mean_b and row.p_value < 0.01
