"""Lesion absorbed doses from each lesion's own TAC (:mod:`immunopet.dosimetry.lesion_dose`)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from immunopet.dosimetry.lesion_dose import lesion_dose_table, lesion_s_value
from immunopet.dosimetry.sphere import sphere_self_dose_gy_per_bq_s
from immunopet.pipeline.dose_steps import subject_tias
from immunopet.study import DosimetryOptions, KineticsOptions
from immunopet.workflow import MeasurementTable, TiaTable, organ_doses

A0_BQ = 70e6
LAM_124 = math.log(2) / 100.224


def _tacs() -> pd.DataFrame:
    rows = []
    curves = {("lesion_001", "lesion"): (0.002, 12.0), ("liver", "organ"): (0.1, 1800.0),
              ("whole_body", "whole_body"): (0.9, 70000.0)}  # fmt: skip
    for t in (1.0, 24.0, 48.0):
        for (region, kind), (f, vol) in curves.items():
            a = A0_BQ * f * math.exp(-(LAM_124 + math.log(2) / 80.0) * t)
            for metric, v in (("activity_bq", a), ("volume_ml", vol),
                              ("injected_activity_bq", A0_BQ)):  # fmt: skip
                rows.append(dict(subject="S1", scan_id=f"s{t:g}", tracer="124I-trastuzumab",
                                 nuclide="I-124", time_h=t, region=region, region_kind=kind,
                                 metric=metric, value=v, unit=""))  # fmt: skip
    return pd.DataFrame(rows)


def test_pipeline_tias_carry_the_lesions_and_doses_their_sphere_dose():
    kinetics = KineticsOptions(model="mono_exp", therapy_nuclide="I-131")
    frame = subject_tias({"tracer": "124I", "kinetics": kinetics.model_dump(mode="json")},
                         {"tacs/S1": _tacs()})  # fmt: skip
    les = frame[frame.region == "lesion_001"].set_index("nuclide")
    assert set(les.index) == {"I-124", "I-131"}
    assert les.loc["I-124", "volume_ml"] == pytest.approx(12.0)
    doses = organ_doses(TiaTable(frame), DosimetryOptions()).frame
    rows = doses[doses.quantity == "lesion_absorbed_dose"].set_index("nuclide")
    for nuclide in ("I-124", "I-131"):
        s_mgy_per_mbq_s = sphere_self_dose_gy_per_bq_s(nuclide, 12.0) * 1e9
        assert rows.loc[nuclide, "value"] == pytest.approx(
            les.loc[nuclide, "tiac_h"] * 3600.0 * s_mgy_per_mbq_s, rel=1e-9
        )
        assert (
            rows.loc[nuclide, "target"] == "lesion_001" and rows.loc[nuclide, "unit"] == "mGy/MBq"
        )
    per_scan = doses[doses.quantity == "lesion_absorbed_dose_per_scan"].set_index("nuclide")
    assert per_scan.loc["I-124", "value"] == pytest.approx(70.0 * rows.loc["I-124", "value"])
    # The lesion is not an organ source: organ doses equal those without it.
    no_lesion = organ_doses(TiaTable(frame[frame.region != "lesion_001"]), DosimetryOptions())
    a = doses[doses.quantity == "effective_dose"]["value"].to_numpy()
    b = no_lesion.frame[no_lesion.frame.quantity == "effective_dose"]["value"].to_numpy()
    assert a == pytest.approx(b, rel=1e-12)


def test_lesion_s_value_is_the_sphere_model_and_smaller_lesions_get_more_per_decay():
    assert lesion_s_value("Lu-177", 10.0) == pytest.approx(
        sphere_self_dose_gy_per_bq_s("Lu-177", 10.0) * 1e9
    )
    assert lesion_s_value("I-124", 1.0) > lesion_s_value("I-124", 10.0)


def test_rows_without_volume_are_skipped():
    t = pd.DataFrame([dict(subject="S1", region="lesion_9", tiac_h=0.1, nuclide="I-124")])
    assert lesion_dose_table(t).empty
    assert (
        MeasurementTable(_tacs()).curve_rows("124I").frame["region"].str.startswith("lesion").any()
    )
