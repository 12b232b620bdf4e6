"""Validation of the built-in demo against the paper and the simulation's truth (issue 7).

``immunopet demo`` simulates the six patients of the reference study (29 FDG
lesions ≥ 1 cm; seed 0) and analyses them blind; only these tests read
``truth.json``. They check what a physicist would publish for a digital-twin
validation:

* the paper's findings, read from the pipeline's own statistics table
  (reference-study.md, "Published results to reproduce"): HER2+ detection
  highest at 24 h (paper 14/18, 18/18, 16/18 at 1/24/48 h); HER2+ vs HER2−
  lesion SUVmax at 24 h p < 0.001 (paper p < 0.0001); SUVmax 4.0 at 24 h with
  sensitivity ≥ 90 % and specificity 100 % (paper 94.4 % / 100 %); every FDG
  lesion SUVmax > 4 (paper: all 29 > 4); total-body dose and effective dose of
  the paper's order (paper 0.201 mGy/MBq and 0.30 mSv/MBq, 5 patients);
* organ SUVs inside the published 1/24/48 h ranges, widened by the
  partial-volume loss measured against the simulation's truth;
* detection: every truth lesion ≥ 10 mm is found on FDG, centroid within
  1.5 PET voxels (6 mm at 4 mm voxels), and nothing else is found;
* recovery coefficient RC = measured SUVmax / true lesion SUV (the activity the
  simulation put in the lesion, ``truth.json`` ``lesion_scans.true_suv``), per
  lesion size. Bounds: 0.65 ≤ RC ≤ 1.30 for 10–15 mm lesions (partial-volume
  loss at ~5 mm FWHM and 4 mm voxels: seed 0 gives RC ≈ 0.75–0.82 there),
  0.85 ≤ RC ≤ 1.30 from 15 mm (≈ 0.96–1.14), and mean RC growing with size.
  The upper bound allows the upward bias of SUVmax in a noisy image (it is the
  maximum of noisy voxels; Boellaard et al., J Nucl Med 2004;45:1519);
* organ SUVmean: liver within 10 % and blood (pool in the heart) within 5 % of
  the simulated truth at every scan (liver loses a little to lesions and
  partial volume at its edges).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from immunopet.cli import main

pytestmark = pytest.mark.slow

VOXEL_MM = 4.0


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = 0
    try:
        main(["demo", "-o", str(out), "--seed", "0", "--quiet"])
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    return out


def _tables(out):
    tables = out / "results" / "tables"
    names = ("lesions", "measurements", "statistics", "doses")
    return {n: pd.read_parquet(tables / f"{n}.parquet") for n in names}


def test_demo_prints_summary_from_results(demo_dir, capsys):
    from immunopet.cli.demo import demo_summary
    from immunopet.study import load_study

    lines = dict(demo_summary(demo_dir / "results", load_study(demo_dir / "study.yaml")))
    assert lines["FDG lesions found / expected"].startswith("29/29")
    assert lines["HER2+ detection 24 h"].startswith("18/18")
    assert "mSv/MBq" in lines["effective dose (ICRP 103)"]
    assert (demo_dir / "results" / "report.html").stat().st_size > 10_000


def test_fdg_lesions_found_and_recovery_by_size(demo_dir):
    truth = json.loads((demo_dir / "truth.json").read_text())
    lesions = _tables(demo_dir)["lesions"]
    true_suv = {
        (r["subject"], r["lesion"]): r["true_suv"]
        for r in truth["lesion_scans"]
        if r["tracer"] == "FDG"
    }
    rows = []
    for s in truth["subjects"]:
        found = lesions[lesions.subject == s["subject"]]
        xyz = found[["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]].to_numpy(float)
        big = [t for t in s["lesions"] if t["diameter_mm"] >= 10.0]
        assert len(found) == len(big), s["subject"]  # no false positives, none missed
        for t in big:
            dist = np.linalg.norm(xyz - np.asarray(t["centre_lps_mm"]), axis=1)
            j = int(dist.argmin())
            true = true_suv[(s["subject"], t["id"])]
            rows.append(
                dict(subject=s["subject"], lesion=t["id"], diameter_mm=t["diameter_mm"],
                     distance_mm=dist[j], true_suv=true, suv_max=found.suv_max.iloc[j],
                     rc=found.suv_max.iloc[j] / true)
            )  # fmt: skip
    table = pd.DataFrame(rows)
    table["size"] = pd.cut(table.diameter_mm, [10, 15, 20, 40], right=False)
    by_size = table.groupby("size", observed=True)["rc"].agg(["count", "mean", "min", "max"])
    print("\nFDG lesions (truth vs recovered):\n", table.round(2).to_string(index=False))
    print("\nrecovery coefficient SUVmax / true SUV by diameter (mm):\n", by_size.round(3))
    assert (table.distance_mm <= 1.5 * VOXEL_MM).all()
    small = table.diameter_mm < 15.0
    assert table.rc[small].between(0.65, 1.30).all()  # partial-volume loss at 10–15 mm
    assert table.rc[~small].between(0.85, 1.30).all()
    assert by_size["mean"].iloc[0] < by_size["mean"].iloc[-1]  # recovery grows with size


def test_organ_suv_mean_recovered(demo_dir):
    truth = json.loads((demo_dir / "truth.json").read_text())
    m = _tables(demo_dir)["measurements"]
    m = m[m.metric == "suv_mean"].set_index(["subject", "scan_id", "region"])["value"]
    rows = []
    for s in truth["subjects"]:
        for sc in s["scans"]:
            true = sc["organ_true_suv"]
            key = (s["subject"], sc["scan_id"])
            rows.append(
                dict(subject=s["subject"], scan=sc["scan_id"],
                     liver=m[(*key, "liver")], liver_true=true["liver"],
                     blood=m[(*key, "blood")], blood_true=true["heart_contents"])
            )  # fmt: skip
    table = pd.DataFrame(rows)
    print("\norgan SUVmean, recovered vs truth:\n", table.round(2).to_string(index=False))
    assert np.allclose(table.liver, table.liver_true, rtol=0.10)
    assert np.allclose(table.blood, table.blood_true, rtol=0.05)


#: Published organ SUV ranges at 1 / 24 / 48 h in the 5 patients other than patient 6
#: (reference-study.md, "Organ SUVmax ranges"; the Methods call them mean SUVs of
#: ROIs, which is what is compared here). Blood is the pool in the cardiac ventricles.
PUBLISHED_ORGAN_SUV = {
    "blood": ((7.3, 11.2), (3.6, 11.9), (2.2, 8.2)),
    "liver": ((4.6, 7.4), (2.6, 5.4), (2.5, 3.9)),
    "kidneys": ((0.9, 3.3), (0.5, 4.5), (0.4, 3.6)),
    "urinary_bladder_contents": ((0.4, 2.8), (3.3, 14.7), (3.9, 19.5)),
    "spleen": ((4.6, 6.9), (2.2, 6.3), (0.8, 4.6)),
    "thyroid": ((1.9, 2.3), (4.1, 8.4), (4.8, 11.0)),
}


def _statistics(demo_dir, kind):
    s = _tables(demo_dir)["statistics"]
    return s[(s.kind == kind) & ~s.tracer_a.astype(str).str.contains("FDG")]


def test_paper_findings_reproduced_blind(demo_dir):
    """The paper's lesion findings, from the pipeline's statistics (never the truth)."""
    det = _statistics(demo_dir, "detection")
    det = det[det.group_a == "her2=positive"].set_index("time_a_h")["estimate"]
    print("\nHER2+ detection by time point:\n", det)
    assert det[24.0] == 1.0 and det[24.0] > det[1.0] and det[24.0] > det[48.0]
    cmp = _statistics(demo_dir, "comparison")
    her2 = cmp[(cmp.time_a_h == 24.0) & (cmp.time_b_h == 24.0) & (cmp.test == "student")
               & (cmp.group_a == "her2=positive") & (cmp.group_b == "her2=negative")]  # fmt: skip
    assert len(her2) == 1 and her2.p_value.iloc[0] < 1e-3
    assert her2.mean_a.iloc[0] > 2.0 * her2.mean_b.iloc[0]
    late = cmp[(cmp.group_a == "her2=positive") & (cmp.time_a_h == 24.0)
               & (cmp.time_b_h == 48.0) & (cmp.test == "student")]  # fmt: skip
    assert late.mean_a.iloc[0] > late.mean_b.iloc[0]  # paper: 7.83 vs 5.73 (p = 0.0065)
    cut = _statistics(demo_dir, "cutoff")
    cut = cut[cut.time_a_h == 24.0]
    cut = cut.set_index(cut["analysis"].str.split(" of ").str[0])
    print("\ncutoff at 24 h:\n", cut[["metric", "statistic", "n_a", "estimate"]])
    assert cut.loc["sensitivity", "estimate"] >= 0.90
    assert cut.loc["specificity", "estimate"] == 1.0
    fdg = _tables(demo_dir)["lesions"]
    assert (fdg.suv_max > 4.0).all()  # paper: every FDG lesion > 4


def test_doses_of_the_papers_order(demo_dir):
    """Total-body and effective dose vs OLINDA/EXM's (paper, 5 patients; patient 6 left out).

    The effective dose is higher than the paper's 0.30 mSv/MBq (about 1.5–2×) for
    reasons the README states: immunopet counts the lungs, stomach, colon, marrow and
    thyroid seen in the images as sources, where OLINDA spread everything outside
    heart, liver, spleen, kidneys and bladder over the whole body; the thyroid, still
    rising at 48 h, keeps a physical-decay tail. The total-body dose, which depends on
    the whole-body retention only, is within 30 % of the paper's 0.201 mGy/MBq.
    """
    d = _tables(demo_dir)["doses"]
    d = d[(d.subject != "P06") & d.unit.str.endswith("/MBq") & (d.source_set == "all_segmented")]
    effective = d[d.quantity == "effective_dose"].value.to_numpy(float)
    total_body = d[(d.quantity == "absorbed_dose") & (d.target == "total_body")].value
    print("\neffective dose (mSv/MBq):", effective.round(3), "total body (mGy/MBq):",
          total_body.round(3).to_numpy())  # fmt: skip
    assert len(effective) == 5
    assert np.all((effective > 0.5 * 0.3011) & (effective < 2.5 * 0.3011))
    assert np.all(np.abs(total_body.to_numpy(float) / 0.201 - 1) < 0.30)
    # The paper's source organs (dosimetry.source_organs: heart, liver, spleen, kidneys,
    # bladder + remainder, its OLINDA/EXM run) take the effective dose to the paper's order:
    # measured 0.295 mSv/MBq (5 patients); held to ±30 % of 0.30, the spread of the
    # paper's own per-organ agreement being wider than that.
    all_d = _tables(demo_dir)["doses"]
    ref = all_d[(all_d.subject != "P06") & (all_d.source_set == "reference_study")
                & (all_d.quantity == "effective_dose")].value.to_numpy(float)  # fmt: skip
    print("reference-study sources, effective dose (mSv/MBq):", ref.round(3), ref.mean())
    assert len(ref) == 5 and abs(ref.mean() / 0.3011 - 1) < 0.30
    assert ref.mean() < effective.mean()


def test_organ_suvs_inside_published_ranges(demo_dir):
    """Measured organ SUVmean inside the paper's ranges, widened by the measured PVE.

    The widening is the partial-volume recovery of each organ (measured SUVmean /
    simulated true SUVmean, from the truth): thin or small organs (kidney cortex,
    thyroid) lose counts to their surroundings, and this is what explains a value
    below the published low end.
    """
    truth = json.loads((demo_dir / "truth.json").read_text())
    m = _tables(demo_dir)["measurements"]
    m = m[m.metric == "suv_mean"].set_index(["subject", "scan_id", "region"])["value"]
    rows = []
    for s in truth["subjects"]:
        if s["subject"] == "P06":  # the paper's curves leave patient 6 out
            continue
        for sc in s["scans"]:
            if sc["tracer"] == "FDG" or round(sc["time_h"]) not in (1, 24, 48):
                continue
            k = (1, 24, 48).index(round(sc["time_h"]))
            for organ, ranges in PUBLISHED_ORGAN_SUV.items():
                true_organ = "heart_contents" if organ == "blood" else organ
                measured = m[(s["subject"], sc["scan_id"], organ)]
                rows.append(dict(organ=organ, time_h=(1, 24, 48)[k], subject=s["subject"],
                                 measured=measured, rc=measured / sc["organ_true_suv"][true_organ],
                                 low=ranges[k][0], high=ranges[k][1]))  # fmt: skip
    table = pd.DataFrame(rows)
    rc = table.groupby("organ")["rc"].agg(["min", "max"])
    print("\norgan partial-volume recovery (measured / true SUVmean):\n", rc.round(3))
    table = table.join(rc, on="organ")
    low = table.low * np.minimum(table["min"], 1.0) * 0.97
    high = table.high * np.maximum(table["max"], 1.0) * 1.03
    table["inside"] = table.measured.between(low, high)
    print(table.round(2).to_string(index=False))
    assert table.inside.all()
    # The widening is a partial-volume loss, not a free fudge: it grows as the organ
    # shrinks — blood pool and liver ≥ 90 %, spleen and kidneys (~120 mL, ~250 mL of
    # thin cortex) ≥ 80 %, the 20 mL thyroid ≥ 60 %; nothing gains more than 10 %.
    assert (rc.loc[["blood", "liver"], "min"] > 0.9).all()
    assert (rc.loc[["spleen", "kidneys"], "min"] > 0.8).all()
    assert (rc["min"] > 0.6).all() and (rc["max"] < 1.1).all()


# --- one recipe: the single-step CLI on the run's own outputs (issue "One recipe") ----------


def _cli(argv):
    from immunopet.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_chained_cli_with_study_gives_the_runs_effective_doses(demo_dir, tmp_path):
    """`tac` then `dose` on the run's measurement table, with --study, equal the run to 1e-6."""
    results, study = demo_dir / "results", str(demo_dir / "study.yaml")
    tias, doses = tmp_path / "tias.csv", tmp_path / "doses.csv"
    measurements = str(results / "tables" / "measurements.csv")
    assert _cli(["tac", measurements, "--study", study, "-o", str(tias)]) == 0
    assert _cli(["dose", str(tias), "--study", study, "-o", str(doses)]) == 0
    run = pd.read_parquet(results / "tables" / "doses.parquet")
    chained = pd.read_csv(doses)

    def effective(d):
        d = d[d["source_set"] == "all_segmented"]
        return d[d["quantity"] == "effective_dose"].set_index("subject")["value"].sort_index()

    assert list(effective(chained).index) == list(effective(run).index)
    np.testing.assert_allclose(effective(chained), effective(run), rtol=1e-6)
    # Without --study the documented chain runs too (the run's NaN rows, unknown regions).
    plain = tmp_path / "plain.csv"
    argv = ["tac", measurements, "--tracer", "trastuzumab", "-o", str(plain)]
    assert _cli(argv) == 0
    assert _cli(["dose", str(plain), "--nuclide", "I-124", "--phantom", "adult",
                 "-o", str(tmp_path / "d.csv")]) == 0  # fmt: skip


def test_lesions_cli_with_study_finds_the_runs_lesions(demo_dir, tmp_path):
    """`immunopet lesions … --study` applies the run's lesion policy: same lesions, same volumes."""
    from immunopet.study import load_study

    study = load_study(demo_dir / "study.yaml")
    subject = study.subjects[0]
    ref = next(s for s in subject.scans if s.lesion_reference)
    out = tmp_path / "lesions.nii.gz"
    argv = ["lesions", str(study.resolve(ref.path)), "--study", str(demo_dir / "study.yaml"),
            "--subject", subject.id, "--scan", ref.id, "-o", str(out)]  # fmt: skip
    assert _cli(argv) == 0
    cli = pd.read_csv(tmp_path / "lesions.csv")
    run = _tables(demo_dir)["lesions"]
    run = run[run["subject"] == subject.id]
    assert len(cli) == len(run) > 0
    np.testing.assert_allclose(cli["volume_ml"], run["volume_ml"], rtol=1e-12)
    np.testing.assert_allclose(cli["suv_max"], run["suv_max"], rtol=1e-12)


def test_micropet_arm_earns_the_published_numbers_from_images(demo_dir):
    """Issue 15: the micro-PET arm is measured from its 75 images, never from a table.

    Bounds (the issue's acceptance numbers, fixed before the run): at 24 h,
    124I-trastuzumab HER2+ tumour %ID/g within 20 % of 11.91 (paper, Results
    "micro-PET imaging", mean of n = 5), T/M of the published order (9.13:
    within a factor 1.5), trastuzumab vs hIgG1 and HER2+ vs HER2- p < 0.01
    (paper 0.0002 and 0.0004). Recovery, measured tumour %ID/g / the twin's true
    uptake, between 0.35 and 0.65 (a 5-8 mm tumour under the 124I positron range;
    the partial-volume loss the paper's ROI values also carry).
    """
    tables = demo_dir / "results" / "tables"
    pre = pd.read_parquet(tables / "preclinical.parquet")
    cmp = pd.read_parquet(tables / "preclinical_comparisons.parquet")
    assert pre["animal"].nunique() == 15 and pre["time_h"].nunique() == 5
    at24 = pre[(pre.time_h == 24.0) & (pre.group == "trastuzumab_her2pos")]
    tumour = at24[(at24.region == "tumour") & (at24.metric == "percent_id_per_g")]["value"]
    ratio = at24[at24.metric == "tumour_to_muscle"]["value"]
    assert tumour.mean() == pytest.approx(11.91, rel=0.20)
    assert 9.13 / 1.5 < ratio.mean() < 9.13 * 1.5
    c24 = cmp[(cmp.time_h == 24.0) & (cmp.metric == "percent_id_per_g")]
    assert set(c24.group_b) == {"higg1_her2pos", "trastuzumab_her2neg"}
    assert (c24.p_value < 0.01).all() and (c24.mean_a > c24.mean_b).all()
    truth = pd.read_csv(demo_dir / "preclinical" / "micropet_truth.csv")
    m = pre[pre.metric == "percent_id_per_g"].merge(
        truth, on=["animal", "group", "time_h", "region"]
    )
    rc = m[m.region == "tumour"].eval("value / true_percent_id_per_g")
    print(f"micro-PET tumour recovery: {rc.mean():.3f} ± {rc.std():.3f}")
    assert 0.35 < rc.mean() < 0.65
