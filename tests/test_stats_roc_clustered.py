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


def test_obuchowski_variance_matches_the_patient_bootstrap_with_mixed_patients():
    # Patients with 2 positive and 2 negative lesions sharing a patient effect: the
    # within-patient covariance S11 matters (design effect < 1 here). Obuchowski's
    # variance and the patient-cluster bootstrap variance estimate the same quantity;
    # tolerance: the bootstrap's Monte Carlo error, 3·√(2/(B − 1)) = 6.7 %, + 1/K.
    rng = np.random.default_rng(8)
    k = 300
    cl, pos = np.repeat(np.arange(k), 4), np.tile([True, True, False, False], k)
    scores = np.repeat(rng.normal(0, 1.0, k), 4) + 0.8 * pos + rng.normal(0, 0.7, 4 * k)
    res = clustered_auc(scores, pos, cl, n_boot=B, rng=1)
    var_boot = res.design_effect_bootstrap * res.se_delong**2
    print(f"Obuchowski / bootstrap variance {res.se_obuchowski**2 / var_boot:.3f}, "
          f"design effect {res.design_effect_obuchowski:.2f}")  # fmt: skip
    assert res.se_obuchowski**2 / var_boot == pytest.approx(
        1.0, abs=3 * (2 / (B - 1)) ** 0.5 + 1 / k
    )
    assert res.design_effect_obuchowski < 0.7  # the shared patient effect cancels in pairs
