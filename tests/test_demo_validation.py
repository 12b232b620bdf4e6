"""Validation of the built-in demo against the simulation's truth (issue 7).

``immunopet demo`` simulates a 2-subject cohort (19 FDG lesions, all ≥ 1 cm)
and analyses it blind; only this test reads ``truth.json``. It checks what a
physicist would publish for a digital-twin validation:

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
        main(["demo", "-o", str(out), "--subjects", "2", "--seed", "0", "--quiet"])
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    return out


def _tables(out):
    tables = out / "results" / "tables"
    return {n: pd.read_parquet(tables / f"{n}.parquet") for n in ("lesions", "measurements")}


def test_demo_prints_summary_from_results(demo_dir, capsys):
    from immunopet.cli.demo import demo_summary
    from immunopet.study import load_study

    lines = dict(demo_summary(demo_dir / "results", load_study(demo_dir / "study.yaml")))
    assert lines["FDG lesions found / expected"].startswith("19/19")
    assert lines["HER2+ detection 24 h"].startswith("16/16")
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
