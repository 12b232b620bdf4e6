"""Tests of immunopet.stats.clustering: ICC (one-way ANOVA), design effect, cluster bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from immunopet.stats import design_effect_from_icc, icc_anova
from immunopet.stats.clustering import bootstrap_cluster_weights

# --- ICC and design effect --------------------------------------------------------------


def test_icc_anova_equal_clusters_matches_the_textbook_formula():
    # Balanced one-way ANOVA: ICC = (MSB − MSW) / (MSB + (m − 1)·MSW), m0 = m.
    rng = np.random.default_rng(1)
    k, m = 12, 4
    y = np.repeat(rng.normal(0, 1, k), m) + rng.normal(0, 1, k * m)
    cl = np.repeat(np.arange(k), m)
    means = y.reshape(k, m).mean(1)
    msb = m * ((means - y.mean()) ** 2).sum() / (k - 1)
    msw = ((y.reshape(k, m) - means[:, None]) ** 2).sum() / (k * (m - 1))
    assert icc_anova(y, cl) == pytest.approx((msb - msw) / (msb + (m - 1) * msw), rel=1e-12)


def test_icc_anova_unequal_clusters_uses_m0_and_ignores_group_differences():
    # Donner 1986: m0 = (N − Σm²/N)/(K − 1); a fixed group shift is not clustering.
    y = np.array([1.0, 2.0, 3.0, 2.0, 6.0, 7.0, 5.0, 9.0, 8.0])
    cl = np.array(["a", "a", "a", "b", "b", "c", "c", "c", "c"])
    n, sizes = 9, np.array([3, 2, 4])
    m0 = (n - (sizes**2).sum() / n) / 2
    means = np.array([2.0, 4.0, 7.25])
    msb = (sizes * (means - y.mean()) ** 2).sum() / 2
    msw = ((y - np.repeat(means, sizes)) ** 2).sum() / (n - 3)
    assert icc_anova(y, cl) == pytest.approx((msb - msw) / (msb + (m0 - 1) * msw), rel=1e-12)
    groups = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    shifted = y + 100.0 * groups
    assert icc_anova(shifted, cl, groups) == pytest.approx(icc_anova(y, cl, groups), rel=1e-12)
    assert math.isnan(icc_anova(np.ones(6), [1, 1, 2, 2, 3, 3]))  # no variation at all
    assert design_effect_from_icc([16, 2], 1.0) == pytest.approx((256 + 4) / 18)


def test_cluster_bootstrap_draws_whole_patients_within_strata_reproducibly():
    rng = np.random.default_rng(5)
    w = bootstrap_cluster_weights(6, 500, rng, strata=["p", "p", "n", "n", "n", "n"])
    assert w.shape == (500, 6) and (w[:, :2].sum(1) == 2).all() and (w[:, 2:].sum(1) == 4).all()
    again = bootstrap_cluster_weights(6, 500, np.random.default_rng(5), strata=list("ppnnnn"))
    assert np.array_equal(w, again)
