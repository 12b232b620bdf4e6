"""Tests of immunopet.stats.roc_clustered: AUC with Obuchowski's (1997) clustered variance.

Both checks are algebraic identities (exact to round-off) except the DeLong
design effect of duplicated lesions, which is ≈ m (10 %: DeLong's sample
variances use n − 1 of the duplicated, not of the original, lesions).
"""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.stats import CLUSTERED_VS_NAIVE, clustered_auc, roc_auc

B = 4000


def test_obuchowski_reduces_to_delong_with_one_lesion_per_patient():
    rng = np.random.default_rng(51)
    x, y = rng.normal(1, 1, 15), rng.normal(0, 1, 12)
    scores = np.concatenate([x, y])
    pos = np.r_[np.ones(15, bool), np.zeros(12, bool)]
    res = clustered_auc(scores, pos, np.arange(27), n_boot=200, rng=1)
    auc, se, _, _ = roc_auc(x, y)
    assert res.auc == pytest.approx(auc) and res.se_obuchowski == pytest.approx(se, rel=1e-12)
    assert res.design_effect_obuchowski == pytest.approx(1.0, rel=1e-12)


def test_duplicated_lesions_keep_the_obuchowski_variance_of_the_patients():
    # Each patient's score copied m times: DeLong shrinks ~m-fold, Obuchowski does not
    # (algebra: S10, S01 scale by m, M and N by m; S11 = 0 for one-class patients).
    rng = np.random.default_rng(61)
    x, y, m = rng.normal(1, 1, 20), rng.normal(0, 1, 20), 4
    auc, se_patients, _, _ = roc_auc(x, y)
    scores = np.repeat(np.concatenate([x, y]), m)
    pos = np.repeat(np.r_[np.ones(20, bool), np.zeros(20, bool)], m)
    res = clustered_auc(scores, pos, np.repeat(np.arange(40), m), n_boot=B, rng=2)
    assert res.auc == pytest.approx(auc)
    assert res.se_obuchowski == pytest.approx(se_patients, rel=1e-12)
    assert res.design_effect_obuchowski == pytest.approx(m, rel=0.1)  # DeLong ≈ Var/m
    assert res.icc == pytest.approx(1.0)
    assert CLUSTERED_VS_NAIVE.count(".") <= 2 and "design effect" in CLUSTERED_VS_NAIVE
