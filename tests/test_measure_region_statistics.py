"""The whole-image statistics equal region_statistics with every voxel labelled 1, bit for bit."""

from __future__ import annotations

import numpy as np

from immunopet.measure.region_statistics import region_statistics, whole_image_statistics


def test_whole_image_equals_label_one_everywhere() -> None:
    rng = np.random.default_rng(16)
    values = rng.gamma(2.0, 1.5, size=(7, 8, 9)).astype(np.float32)
    conc = (values * np.float32(3.7e3)).astype(np.float32)
    ones = np.ones(values.shape, np.uint8)
    want = region_statistics(values, ones, 2, totals=(conc, conc * 2))
    got = whole_image_statistics(values, totals=(conc, conc * 2))
    for field in ("voxels", "weight", "total", "mean", "sd", "maximum"):
        np.testing.assert_array_equal(getattr(got, field)[1:], getattr(want, field)[1:])
    for g, w in zip(got.extra_totals, want.extra_totals, strict=True):
        np.testing.assert_array_equal(g[1:], w[1:])
    absent = whole_image_statistics(values, totals=(None, conc))
    assert np.isnan(absent.extra_totals[0]).all()
