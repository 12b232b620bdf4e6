"""Voxel dosimetry in the recipe (:mod:`immunopet.workflow.voxel`) on a generated DICOM study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunopet.pipeline import run_study
from immunopet.study import load_study
from support.workload import write_dicom_study


@pytest.mark.slow
def test_voxel_doses_of_organs_and_lesions_with_a_predicted_therapy(tmp_path):
    """Dose maps of 124I and a predicted 131I: DVH statistics ordered, maps = table."""
    study = load_study(write_dicom_study(tmp_path, 1, dosimetry=True))
    options = study.analysis.model_dump()
    options["dosimetry"]["voxel"] = {"therapy_nuclides": ["I-131"]}
    study = study.model_copy(update={"analysis": type(study.analysis).model_validate(options)})
    out = tmp_path / "out"
    summary = run_study(study, out, workers=0, report=False)
    assert summary.exit_code == 0, summary.errors
    table = pd.read_parquet(out / "tables" / "voxel_doses.parquet")
    assert set(table["nuclide"]) == {"I-124", "I-131"}
    assert {"organ", "lesion"} <= set(table["region_kind"])
    wide = table.pivot_table(index=["nuclide", "region"], columns="metric", values="value")
    assert (wide["dose_mean_gy"] > 0).all() and np.isfinite(wide["dose_mean_gy"]).all()
    # D98 ≤ D50 ≤ D2 ≤ Dmax (ICRU 83: D_x is the least dose to the hottest x %).
    assert (wide["d98_gy"] <= wide["d50_gy"] + 1e-12).all()
    assert (wide["d50_gy"] <= wide["d2_gy"] + 1e-12).all()
    assert (wide["d2_gy"] <= wide["dose_max_gy"] + 1e-12).all()
    # Bounds from energy conservation for the 124I liver box (107 mL, unit density):
    # electrons (β+, Auger, IC) deposit locally in an organ this size, so the mean dose
    # is at least ~0.9 × Ã·Δ_e/m; even with every photon absorbed it cannot exceed
    # Ã·Δ_total/m by more than the cross-dose of its neighbours (≤ 20 % here).
    from immunopet.core.nuclides import emissions

    mev_to_j = 1.602176634e-13
    lines = emissions("I-124")
    delta_e = sum(lines[k].energy_per_decay_mev for k in ("beta+", "auger", "IE")) * mev_to_j
    delta = sum(v.energy_per_decay_mev for v in lines.values()) * mev_to_j
    tias = pd.read_parquet(out / "tables" / "tias.parquet").set_index("region")
    tia_bq_s = float(tias.loc["liver", "tia_bq_h"]) * 3600.0
    mass_kg = float(wide.loc[("I-124", "liver"), "volume_ml"]) / 1000.0
    liver = float(wide.loc[("I-124", "liver"), "dose_mean_gy"])
    assert 0.9 * tia_bq_s * delta_e / mass_kg <= liver <= 1.2 * tia_bq_s * delta / mass_kg
    # The lesion takes up more per mL than the liver: its mean dose is higher (same nuclide).
    i124 = wide.loc["I-124", "dose_mean_gy"]
    lesion = [r for r in i124.index if r.startswith("lesion")]
    assert lesion and i124[lesion].min() > i124["liver"]
