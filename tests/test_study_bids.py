"""`immunopet run` on the PET-BIDS export of a simulated trial = the run on its DICOM.

One simulated subject (FDG + three 124I time points, DICOM PET/CT, organ labels) is
exported with :func:`write_twin_bids` (what ``immunopet demo --bids`` writes) and run
twice through :func:`run_study`: from its study YAML (DICOM) and from the BIDS root via
the ``immunopet run`` hook. Tolerances fixed before looking, from what the NIfTI keeps:
voxels are float32, so each voxel is rounded by at most 2^-24 ≈ 6e-8 relative: lesion
SUVmax within 1e-7 relative; doses integrate many voxels (rounding averages out)
within 1e-6 relative. Geometry is exact (NIfTI-2 float64 affine), so the lesions, the
resampled organ masks and the tables have the same rows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from immunopet.cli import main
from immunopet.simulate import simulate_trial
from immunopet.simulate.bids_twin import write_twin_bids

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("twin")
    trial = simulate_trial(root / "demo", n_subjects=1, seed=0)
    write_twin_bids(root / "demo", root / "bids")
    for name, source in (("run-dicom", trial.study_path), ("run-bids", root / "bids")):
        main(["run", str(source), "-o", str(root / name), "--workers", "0", "--quiet",
              "--no-report"])  # fmt: skip
    return root


def _t(root, run, name):
    return pd.read_parquet(root / run / "tables" / f"{name}.parquet")


def test_lesion_suvmax_and_doses_equal(runs):
    a, b = _t(runs, "run-dicom", "measurements"), _t(runs, "run-bids", "measurements")
    assert len(a) == len(b) > 0
    key = ["subject", "scan_id", "region", "metric"]
    m = a.merge(b, on=key, suffixes=("_dcm", "_bids"))
    assert len(m) == len(a)
    lesion_max = m[m.region.str.startswith("lesion") & (m.metric == "suv_max")]
    assert len(lesion_max) > 0
    rel = (lesion_max.value_bids / lesion_max.value_dcm - 1).abs().max()
    print(f"lesion SUVmax: {len(lesion_max)} values, max relative difference {rel:.2g}")
    assert rel <= 1e-7
    da, db = _t(runs, "run-dicom", "doses"), _t(runs, "run-bids", "doses")
    keys = [c for c in ("subject", "quantity", "target", "phantom", "source_set", "nuclide")
            if c in da.columns]  # fmt: skip
    d = da.merge(db, on=keys, suffixes=("_dcm", "_bids"))
    assert len(d) == len(da) == len(db)
    eff = d[d.quantity == "effective_dose"]
    assert len(eff) == len(da[da.quantity == "effective_dose"]) >= 1
    rel = (d.value_bids / d.value_dcm - 1).abs().max()
    print(f"doses: {len(d)} values, max relative difference {rel:.2g}")
    assert rel <= 1e-6


def test_bids_run_keeps_groups_and_study_file(runs):
    sa, sb = _t(runs, "run-dicom", "subjects"), _t(runs, "run-bids", "subjects")
    assert sb["her2"].tolist() == sa["her2"].tolist()
    assert (runs / "run-bids" / "study.yaml").is_file()
    assert not (runs / "bids" / "study.yaml").exists()  # the dataset is not written to
