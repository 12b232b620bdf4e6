"""Typed tables between the stages (:mod:`immunopet.workflow.tables`) and the subject recipe."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import ImmunopetWarning, InvalidValueError, MissingFieldError
from immunopet.study import DosimetryOptions, KineticsOptions
from immunopet.workflow import (
    MeasurementTable,
    TiaTable,
    integrate,
    nuclide_from_tracer,
    organ_doses,
)

INJECTED_BQ = 70e6


def _measurements(with_nuclide: bool = True) -> pd.DataFrame:
    """Liver and whole body at 1/24/48 h; 'brain' outside the field of view at 1 h (NaN)."""
    rows = []
    lam = math.log(2) / 100.224
    for t in (1.0, 24.0, 48.0):
        values = {
            ("whole_body", "whole_body"): 0.9 * INJECTED_BQ * math.exp(-lam * t),
            ("liver", "organ"): 0.1 * INJECTED_BQ * math.exp(-lam * t),
            ("brain", "organ"): math.nan if t == 1.0 else 0.01 * INJECTED_BQ,
            ("arm_bones", "organ"): 0.02 * INJECTED_BQ * math.exp(-lam * t),
        }
        for (region, kind), a in values.items():
            for metric, v in (("activity_bq", a), ("injected_activity_bq", INJECTED_BQ)):
                row = dict(subject="S1", scan_id=f"s{t:g}", tracer="124I-trastuzumab", time_h=t,
                           region=region, region_kind=kind, metric=metric, value=v, unit="Bq")  # fmt: skip
                if with_nuclide:
                    row["nuclide"] = "I-124"
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("tracer", "nuclide"),
    [("124I-trastuzumab", "I-124"), ("I-124-trastuzumab", "I-124"), ("[89Zr]Zr-DFO-trastuzumab",
     "Zr-89"), ("64Cu-NOTA-mAb", "Cu-64"), ("FDG 18F", "F-18")],
)  # fmt: skip
def test_nuclide_from_tracer_name(tracer, nuclide):
    assert nuclide_from_tracer(tracer) == nuclide


def test_a_table_without_nuclide_takes_it_from_the_tracer_and_says_so(tmp_path):
    path = tmp_path / "m.csv"
    _measurements(with_nuclide=False).to_csv(path, index=False)
    with pytest.warns(ImmunopetWarning, match="from the tracer name"):
        table = MeasurementTable.read(path)
    assert set(table.frame["nuclide"]) == {"I-124"}
    with pytest.warns(ImmunopetWarning, match="from --nuclide"):
        assert set(MeasurementTable.read(path, nuclide="124I").frame["nuclide"]) == {"I-124"}


def test_missing_points_are_skipped_with_a_count():
    table = MeasurementTable(_measurements())
    with pytest.warns(ImmunopetWarning, match="1 missing activity point"):
        curves = table.curves()
    brain = next(c for c in curves if c.region == "brain")
    np.testing.assert_array_equal(brain.time_h, [24.0, 48.0])


def test_unknown_regions_stay_in_the_remainder_and_nuclides_are_not_mixed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)
        tias = integrate(MeasurementTable(_measurements()), KineticsOptions(model="trapezoid"))
    with pytest.warns(ImmunopetWarning, match="arm_bones"):
        doses = organ_doses(tias, DosimetryOptions())
    assert doses.effective_dose_msv_per_mbq()["S1"] > 0
    with pytest.raises(InvalidValueError, match="integrated with the decay of I-124, not I-131"):
        organ_doses(tias, DosimetryOptions(), nuclide="I-131")


def test_tia_table_needs_its_columns():
    with pytest.raises(MissingFieldError, match="tiac_h"):
        TiaTable(pd.DataFrame({"subject": ["a"], "region": ["liver"]}))
