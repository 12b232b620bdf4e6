"""Tests of immunopet.dosimetry.voxel.uncertainty: dose SD maps from the TIA SD map.

The reference is the variance of a linear combination of independent variables,
Var(Σ K_j X_j) = Σ K_j² Var(X_j), and of fully correlated ones, SD = Σ K_j SD(X_j)
(JCGM 100:2008, eqs. 10 and 13): exact, so the tolerance is float32 round-off (1e-5 relative).
"""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import ArrayKernel, dose_uncertainty, relative_sd_table, voxel_dose


def _kernel() -> ArrayKernel:
    k = np.zeros((3, 3, 3), np.float32)
    k[1, 1, 1] = 2.0  # mGy per MBq·s in the source voxel
    k[1, 1, 0] = k[1, 1, 2] = 0.5  # and in its x neighbours
    return ArrayKernel(k, (4.0, 4.0, 4.0), nuclide="I-124")


def _volume(arr: np.ndarray, unit: str) -> Volume:
    return Volume(arr.astype(np.float32), (4.0, 4.0, 4.0), unit=unit)


def test_two_sources_give_the_independent_and_correlated_limits():
    sd = np.zeros((5, 5, 7), np.float32)
    sd[2, 2, 2] = sd[2, 2, 4] = 3e6  # Bq·s = 3 MBq·s each
    u = dose_uncertainty(_volume(sd, "Bq*s"), _kernel())
    # Voxel x=3 receives 0.5 mGy/MBq·s from each source.
    k_gy = 0.5e-3 * 3.0  # Gy per source SD
    unc = float(u.sd_uncorrelated_gy.array[2, 2, 3])
    cor = float(u.sd_correlated_gy.array[2, 2, 3])
    assert unc == pytest.approx(np.sqrt(2) * k_gy, rel=1e-5)
    assert cor == pytest.approx(2 * k_gy, rel=1e-5)
    # A source voxel: its own 2 mGy/MBq·s, the other source is two voxels away (no kernel).
    assert float(u.sd_uncorrelated_gy.array[2, 2, 2]) == pytest.approx(2e-3 * 3.0, rel=1e-5)
    assert u.sd_uncorrelated_gy.unit == "Gy"


def test_correlated_limit_equals_the_dose_of_the_sd_map_and_bounds_the_other():
    rng = np.random.default_rng(1)
    sd = rng.uniform(0, 1e6, (6, 6, 6)).astype(np.float32)
    sd[0, 0, 0] = np.nan  # no SD (n = 2 voxel): counted as 0
    vol = _volume(sd, "Bq*s")
    u = dose_uncertainty(vol, _kernel())
    as_dose = voxel_dose(_volume(np.nan_to_num(sd), "Bq*s"), _kernel())
    assert np.allclose(u.sd_correlated_gy.array, as_dose.array, rtol=1e-4, atol=1e-9)
    assert np.all(u.sd_uncorrelated_gy.array <= u.sd_correlated_gy.array * (1 + 1e-4) + 1e-9)


def test_local_method_is_diagonal_and_relative_table_is_the_median():
    sd = np.full((4, 4, 4), 1e6, np.float32)
    u = dose_uncertainty(_volume(sd, "Bq*s"), None, method="local", nuclide="I-124")
    assert np.allclose(u.sd_uncorrelated_gy.array, u.sd_correlated_gy.array)
    dose = _volume(np.asarray(u.sd_uncorrelated_gy.array) * 10.0, "Gy")  # 10 % everywhere
    labels = _volume(np.ones((4, 4, 4)), "")
    table = relative_sd_table(dose, u, labels, {1: "box"}, subject="S")
    values = table.set_index("metric")["value"]
    assert values["dose_rel_sd_median"] == pytest.approx(0.1, rel=1e-5)
    assert values["dose_rel_sd_bound_median"] == pytest.approx(0.1, rel=1e-5)
