"""Tests of immunopet.kinetics.curves: TimeActivityCurve validation and table assembly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import (
    InputError,
    InvalidValueError,
    MissingFieldError,
    PhysicsError,
    UnknownNuclideError,
)
from immunopet.core.nuclides import Nuclide
from immunopet.kinetics import TimeActivityCurve, curves_from_table, injected_activity_by_subject

I124 = Nuclide.from_name("I-124")


def tidy_rows(subject="p1", region="liver", kind="organ", nuclide="I-124", times=(1, 24, 48)):
    rows = []
    for i, t in enumerate(times):
        common = dict(
            subject=subject, scan_id=f"s{i}", tracer="124I-trastuzumab", nuclide=nuclide,
            time_h=float(t), region=region, region_kind=kind,
        )  # fmt: skip
        rows.append({**common, "metric": "activity_bq", "value": 1e6 * (3 - i), "unit": "Bq"})
        rows.append({**common, "metric": "volume_ml", "value": 1500.0, "unit": "mL"})
        rows.append({**common, "metric": "suv_mean", "value": 2.0 - 0.3 * i, "unit": "g/mL"})
    return rows


def table(*groups, injected=7.4e7):
    rows = [r for g in groups for r in g]
    if injected is not None:
        rows.append(
            dict(subject="p1", scan_id="s0", tracer="124I-trastuzumab", nuclide="I-124",
                 time_h=1.0, region="", region_kind="", metric="injected_activity_bq",
                 value=injected, unit="Bq")
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_curves_from_table_sorted_with_suv_concentration_and_injected() -> None:
    rows = tidy_rows(times=(48, 1, 24))  # scrambled order
    curves = curves_from_table(table(rows, tidy_rows(region="spleen")))
    assert [c.region for c in curves] == ["liver", "spleen"]
    liver = curves[0]
    np.testing.assert_array_equal(liver.time_h, [1, 24, 48])
    np.testing.assert_allclose(liver.activity_bq, [2e6, 1e6, 3e6])
    np.testing.assert_allclose(liver.concentration_bq_per_ml, liver.activity_bq / 1500.0)
    np.testing.assert_allclose(liver.suv, [1.7, 1.4, 2.0])
    assert liver.injected_activity_bq == 7.4e7
    assert liver.nuclide == I124
    assert liver.region_kind == "organ"
    assert liver.activity_sd_bq is None


def test_override_injected_and_relative_sd() -> None:
    curves = curves_from_table(table(tidy_rows()), injected_activity_bq=5e7, relative_sd=0.1)
    assert curves[0].injected_activity_bq == 5e7
    np.testing.assert_allclose(curves[0].activity_sd_bq, 0.1 * curves[0].activity_bq)


def test_mixed_nuclides_in_one_curve_raise() -> None:
    rows = tidy_rows(times=(1, 24)) + tidy_rows(times=(48,), nuclide="Zr-89")
    with pytest.raises(UnknownNuclideError, match="mixed nuclides") as info:
        curves_from_table(table(rows))
    assert info.value.field == "nuclide"
    assert "liver" in str(info.value) and "p1" in str(info.value)


def test_tracer_selection_separates_two_tracers() -> None:
    fdg = tidy_rows(nuclide="F-18", times=(1, 2))
    for r in fdg:
        r["tracer"] = "18F-FDG"
    curves = curves_from_table(table(tidy_rows(), fdg), tracer="124I")
    assert len(curves) == 1 and curves[0].nuclide == I124 and curves[0].n_points == 3


def test_duplicate_time_in_table_raises() -> None:
    rows = tidy_rows(times=(1, 24, 24))
    with pytest.raises(InvalidValueError, match="same time") as info:
        curves_from_table(table(rows))
    assert info.value.field == "time_h"


def test_no_activity_rows_raises() -> None:
    rows = [r for r in tidy_rows() if r["metric"] != "activity_bq"]
    with pytest.raises(MissingFieldError, match="activity_bq"):
        curves_from_table(table(rows))


def test_missing_column_raises() -> None:
    with pytest.raises(MissingFieldError) as info:
        curves_from_table(table(tidy_rows()).drop(columns=["time_h"]))
    assert info.value.field == "time_h"


def test_conflicting_injected_activities_raise() -> None:
    frame = table(tidy_rows())
    extra = frame.iloc[[-1]].assign(value=1e7)
    with pytest.raises(InvalidValueError, match="several different injected"):
        injected_activity_by_subject(pd.concat([frame, extra]))


def test_negative_activity_in_table_raises() -> None:
    rows = tidy_rows()
    rows[0]["value"] = -5.0
    with pytest.raises(InvalidValueError, match="negative activity"):
        curves_from_table(table(rows))


def test_time_before_injection_in_table_raises() -> None:
    with pytest.raises(PhysicsError, match="before injection"):
        curves_from_table(table(tidy_rows(times=(-1, 24))))


@pytest.mark.parametrize(
    ("time_h", "activity_bq", "error", "field"),
    [
        ([1, 24, 20], [1, 2, 3], InvalidValueError, "time_h"),
        ([1, 24, 24], [1, 2, 3], InvalidValueError, "time_h"),
        ([-0.5, 24], [1, 2], PhysicsError, "time_h"),
        ([1, 24], [1, -2], InvalidValueError, "activity_bq"),
        ([1, 24], [1, np.nan], InvalidValueError, "activity_bq"),
        ([1, 24], [1, 2, 3], InputError, "activity_bq"),
        ([], [], InputError, "time_h"),
    ],
)
def test_bad_curves_raise_naming_subject_region_field(time_h, activity_bq, error, field) -> None:
    with pytest.raises(error) as info:
        TimeActivityCurve("p7", "kidneys", I124, time_h, activity_bq)
    assert info.value.field == field
    assert "p7" in str(info.value) and "kidneys" in str(info.value)


def test_bad_sd_and_injected_activity_raise() -> None:
    with pytest.raises(InvalidValueError) as info:
        TimeActivityCurve("p1", "liver", I124, [1, 2], [1, 2], activity_sd_bq=[0.1, 0.0])
    assert info.value.field == "activity_sd_bq"
    with pytest.raises(InvalidValueError) as info:
        TimeActivityCurve("p1", "liver", I124, [1, 2], [1, 2], injected_activity_bq=-1.0)
    assert info.value.field == "injected_activity_bq"
    with pytest.raises(InputError):
        TimeActivityCurve("p1", "liver", "I-124", [1, 2], [1, 2])  # type: ignore[arg-type]


def test_curve_arrays_are_read_only() -> None:
    c = TimeActivityCurve("p1", "liver", I124, [1, 2], [1, 2])
    with pytest.raises(ValueError):
        c.activity_bq[0] = 5.0
