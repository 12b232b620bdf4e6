"""SUVpeak maxima without the map (issue 16): exact against the map, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.volume import Volume
from immunopet.measure.suv_peak import sphere_mean_at, suv_peak_map
from immunopet.measure.suv_peak_maxima import suv_peak_maxima


def _maxima_from_map(peak: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, labels.ravel(), peak.ravel().astype(np.float64))
    out[0] = -np.inf
    return np.where(np.isfinite(out), out, np.nan)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_maxima_equal_the_map_maxima_bit_for_bit(dtype: type, seed: int) -> None:
    # Hot spots on a noisy background, labels of several sets (one covering everything,
    # one sparse, one with a label beyond n that must be ignored), spheres clipped at edges.
    rng = np.random.default_rng(seed)
    shape = (23, 19, 70)  # x longer than two 32-voxel blocks
    suv = rng.gamma(4.0, 0.25, size=shape)
    for _ in range(6):
        k, j, i = (rng.integers(0, s) for s in shape)
        suv[max(k - 1, 0) : k + 2, max(j - 1, 0) : j + 2, max(i - 2, 0) : i + 2] += rng.uniform(
            5, 20
        )
    vol = Volume(suv.astype(dtype), (2.0, 2.5, 3.0), unit="SUVbw")
    organs = rng.integers(0, 9, size=shape).astype(np.uint8)
    sparse = np.zeros(shape, np.int16)
    sparse[5:9, 3:7, 60:70] = 3
    sparse[0, 0, 0] = 1
    sparse[10, 10, 10] = 40  # ≥ n: ignored
    whole = np.ones(shape, np.uint8)
    peak = suv_peak_map(vol)
    sets = [organs, sparse, whole]
    sizes = [9, 5, 2]
    got = suv_peak_maxima(vol, sets, sizes)
    for lab, n, g in zip(sets, sizes, got, strict=True):
        want = _maxima_from_map(peak, np.where(lab < n, lab, 0), n)
        if dtype is np.float64:
            np.testing.assert_array_equal(g, want)
        else:  # the float32 map is rounded for storage; the maxima are not
            np.testing.assert_allclose(g, want, rtol=6e-8, atol=0)
    assert np.isnan(got[1][2]) and np.isnan(got[1][4])  # labels without voxels


def test_sphere_mean_at_equals_the_map() -> None:
    rng = np.random.default_rng(3)
    vol = Volume(rng.random((9, 8, 12)), (1.5, 1.5, 2.0))
    pts = np.array([[0, 0, 0], [4, 4, 6], [8, 7, 11], [2, 7, 0]])
    np.testing.assert_array_equal(
        sphere_mean_at(vol.array, pts, vol.spacing_mm), suv_peak_map(vol)[tuple(pts.T)]
    )


def test_maxima_refuse_labels_on_another_grid() -> None:
    from immunopet.core.errors import InputError

    vol = Volume(np.ones((4, 4, 4)), (1.0, 1.0, 1.0))
    with pytest.raises(InputError):
        suv_peak_maxima(vol, [np.ones((4, 4, 5), np.uint8)], [2])


def test_whole_image_set_without_a_label_array() -> None:
    rng = np.random.default_rng(5)
    vol = Volume(rng.gamma(3.0, 0.5, size=(11, 9, 40)).astype(np.float32), (2.0, 2.0, 2.0))
    [whole] = suv_peak_maxima(vol, [None], [2])
    assert whole[1] == pytest.approx(float(suv_peak_map(vol).max()), rel=6e-8)
    assert np.isnan(whole[0])
