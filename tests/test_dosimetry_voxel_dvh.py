"""Dose statistics (dosimetry.voxel.dvh): ICRU 83 D_x, DVHs, the tidy table."""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.errors import GeometryError, InvalidValueError
from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import cumulative_dvh, dose_at_volume, dose_volume_table, dvh_table

SPACING = (2.0, 2.0, 2.0)


def _metric(table, region, metric):
    row = table[(table["region"] == region) & (table["metric"] == metric)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def test_dx_is_the_minimum_dose_of_the_hottest_x_percent():
    doses = np.arange(1.0, 11.0)  # 10 voxels
    # hottest 20 % = {10, 9}: minimum 9; hottest 50 % = {10…6}: 6; 100 %: 1; 2 %: ⌈0.2⌉ = 1 voxel
    np.testing.assert_array_equal(dose_at_volume(doses, [20, 50, 100, 2]), [9, 6, 1, 10])
    with pytest.raises(InvalidValueError):
        dose_at_volume(doses, 0)


def test_uniform_dose():
    dose = Volume(np.full((4, 5, 6), 2.5, np.float32), SPACING, unit="Gy")
    labels = Volume(np.ones((4, 5, 6), np.int16), SPACING)
    t = dose_volume_table(dose, labels, {1: "liver"}, subject="p1")
    assert list(t.columns) == ["subject", "region", "region_kind", "metric", "value", "unit"]
    for m in ("dose_mean_gy", "dose_max_gy", "dose_min_gy", "d2_gy", "d50_gy", "d98_gy"):
        assert _metric(t, "liver", m) == pytest.approx(2.5)
    assert _metric(t, "liver", "volume_ml") == pytest.approx(120 * 0.008)
    dvh = cumulative_dvh(dose, labels, n_bins=10)
    assert np.all(dvh.volume_fraction[dvh.dose_gy <= 2.5] == 1.0)


def test_linear_ramp_dose_is_analytic():
    # N voxels with doses (i + ½)/N · Dmax, a uniform distribution on [0, Dmax]:
    # D_x = Dmax (1 − x/100), V(D) = 1 − D/Dmax, mean Dmax/2 — within one voxel step 1/N.
    n, dmax = 1000, 10.0
    ramp = ((np.arange(n) + 0.5) / n * dmax).reshape(10, 10, 10)
    rng = np.random.default_rng(0)
    ramp = rng.permutation(ramp.ravel()).reshape(10, 10, 10)
    dose = Volume(ramp.astype(np.float64), SPACING, unit="Gy")
    labels = Volume(np.ones(ramp.shape, np.int32), SPACING)
    t = dose_volume_table(dose, labels, {1: "tumour"}, region_kind="lesion")
    for x in (2, 50, 98):
        assert _metric(t, "tumour", f"d{x}_gy") == pytest.approx(dmax * (1 - x / 100), abs=dmax / n)
    assert _metric(t, "tumour", "dose_mean_gy") == pytest.approx(dmax / 2, rel=1e-9)
    assert set(t["region_kind"]) == {"lesion"}
    dvh = cumulative_dvh(dose, labels, n_bins=50, max_dose_gy=dmax)
    np.testing.assert_allclose(dvh.volume_fraction, 1 - dvh.dose_gy / dmax, atol=1.0 / n)


def test_several_regions_and_missing_ones():
    arr = np.zeros((4, 4, 4), np.float32)
    lab = np.zeros((4, 4, 4), np.int32)
    arr[:2], lab[:2] = 1.0, 1
    arr[2:], lab[2:] = 3.0, 2
    dose, labels = Volume(arr, SPACING, unit="Gy"), Volume(lab, SPACING)
    t = dose_volume_table(dose, labels, {1: "a", 2: "b", 7: "absent"})
    assert _metric(t, "a", "dose_mean_gy") == 1.0 and _metric(t, "b", "d98_gy") == 3.0
    assert _metric(t, "absent", "voxels") == 0 and np.isnan(_metric(t, "absent", "dose_max_gy"))
    long = dvh_table(dose, labels, {1: "a", 2: "b"}, n_bins=30)
    b = long[long["region"] == "b"]
    assert b["volume_fraction"].iloc[0] == 1.0 and b["volume_fraction"].iloc[-1] == 1.0
    a = long[long["region"] == "a"]
    assert a["volume_fraction"].iloc[-1] == 0.0  # nobody in "a" gets 3 Gy


def test_labels_must_be_on_the_dose_grid():
    dose = Volume(np.ones((3, 3, 3), np.float32), SPACING, unit="Gy")
    labels = Volume(np.ones((3, 3, 3), np.int32), (3.0, 3.0, 3.0))
    with pytest.raises(GeometryError, match="resample"):
        dose_volume_table(dose, labels, {1: "x"})
