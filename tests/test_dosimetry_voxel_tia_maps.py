"""Voxel TIA maps (dosimetry.voxel.tia_maps) against analytic curves and the region kinetics."""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.errors import FitError, GeometryError, InvalidValueError
from immunopet.core.nuclides import Nuclide
from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import predict_therapy_tia, voxel_tia
from immunopet.kinetics.curves import TimeActivityCurve
from immunopet.kinetics.exponential import fit_exponential
from immunopet.kinetics.trapezoid import integrate_trapezoid

SPACING = (2.0, 2.0, 2.0)
TIMES_H = np.array([1.0, 24.0, 48.0, 120.0])
ZR89 = Nuclide.from_name("Zr-89")
LAM_PHYS_H = ZR89.decay_constant_per_s * 3600.0


def _mono_maps(shape=(6, 7, 8), seed=0, times=TIMES_H, unit="Bq"):
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(1e3, 1e5, shape)
    lam = LAM_PHYS_H + rng.uniform(0.0, 0.08, shape)
    maps = [Volume((a0 * np.exp(-lam * t)).astype(np.float32), SPACING, unit=unit) for t in times]
    return maps, a0, lam


def _curve(values, t=TIMES_H, nuclide="Zr-89"):
    return TimeActivityCurve(
        subject="s", region="v", nuclide=Nuclide.from_name(nuclide), time_h=np.asarray(t, float),
        activity_bq=np.asarray(values, float),
    )  # fmt: skip


def test_mono_fit_of_an_analytic_mono_exponential_within_1_percent():
    maps, a0, lam = _mono_maps()
    res = voxel_tia(maps, TIMES_H, "Zr-89", method="mono", workers=1)
    exact_bq_s = a0 / lam * 3600.0
    assert res.tia.unit == "Bq*s"
    assert np.max(np.abs(res.tia.array / exact_bq_s - 1)) < 0.01
    np.testing.assert_allclose(res.lambda_per_h.array, lam, rtol=1e-3)
    assert res.n_failed == 0 and res.n_voxels == a0.size
    # share after the last scan: A0 e^(−λ t_n)/λ over A0/λ, summed
    tail = a0 * np.exp(-lam * TIMES_H[-1]) / lam
    assert res.tail_fraction == pytest.approx(tail.sum() / (a0 / lam).sum(), rel=1e-3)


def test_voxel_mono_fit_matches_the_region_fit_with_noise():
    rng = np.random.default_rng(5)
    maps, a0, lam = _mono_maps(shape=(1, 2, 3))
    noisy = [m.with_array(m.array * rng.normal(1, 0.08, m.shape).astype(np.float32)) for m in maps]
    res = voxel_tia(noisy, TIMES_H, "Zr-89", method="mono", workers=1)
    for idx in np.ndindex(res.tia.shape):
        fit = fit_exponential(_curve([m.array[idx] for m in noisy]), "mono")
        assert res.tia.array[idx] == pytest.approx(fit.tia_bq_h * 3600, rel=1e-3)
        assert res.tia_sd.array[idx] == pytest.approx(fit.tia_bq_h_sd * 3600, rel=2e-2)


@pytest.mark.parametrize(("tail", "n_tail", "head"), [("physical", 2, "linear"),
                                                      ("fit", 2, "linear"),
                                                      ("fit", 3, "constant"),
                                                      ("none", 2, "linear")])  # fmt: skip
def test_trapezoid_matches_the_region_trapezoid(tail, n_tail, head):
    rng = np.random.default_rng(6)
    # rising then clearing curves, some with a tail point ≤ 0 (fallback to physical decay)
    vals = rng.uniform(0.2, 1.0, (5, 4, 3, 4)) * np.array([1.0, 3.0, 2.0, 1.0])
    vals[0, 0, 0, -1] = 0.0
    maps = [Volume(vals[..., i].astype(np.float32), SPACING, unit="Bq") for i in range(4)]
    res = voxel_tia(maps, TIMES_H, "Zr-89", tail=tail, n_tail_points=n_tail, head=head, workers=1)
    for idx in np.ndindex(res.tia.shape):
        ref = integrate_trapezoid(
            _curve([m.array[idx] for m in maps]), head=head, tail=tail, n_tail_points=n_tail
        )
        assert res.tia.array[idx] == pytest.approx(ref.tia_bq_h * 3600, rel=1e-5)
    assert res.n_tail_fallback == (1 if tail == "fit" else 0)
    assert res.tia_sd is None


def test_fit_failures_are_counted_never_raised():
    maps, a0, lam = _mono_maps(shape=(4, 5, 6))
    arrays = [np.array(m.array) for m in maps]
    arrays[1][0, 0, 0] = np.nan  # non-finite input
    for a in arrays:
        a[1, 1, 1] = 0.0  # no positive activity
        a[2, 2, 2] = -3.0
    broken = [m.with_array(a) for m, a in zip(maps, arrays, strict=True)]
    res = voxel_tia(broken, TIMES_H, "Zr-89", method="mono", workers=1)
    assert res.n_failed == 3
    assert set(np.unique(res.status.array)) == {0, 1, 2}
    # filled by the trapezoid with a physical tail, which is 0 / negative for those voxels
    assert res.tia.array[1, 1, 1] == 0.0 and res.tia.array[2, 2, 2] < 0
    assert np.isnan(res.tia_sd.array[0, 0, 0])
    assert np.all(np.isfinite(res.tia.array))
    nan_fill = voxel_tia(broken, TIMES_H, "Zr-89", method="mono", on_failure="nan", workers=1)
    assert np.isnan(nan_fill.tia.array).sum() == 3


def test_mask_and_concentration_units():
    maps, a0, lam = _mono_maps(unit="BQML")
    mask = np.zeros(maps[0].shape, dtype=bool)
    mask[2:4, 1:5, 3:7] = True
    res = voxel_tia(maps, TIMES_H, "Zr-89", method="mono", mask=mask, workers=1)
    ml = maps[0].voxel_volume_ml
    np.testing.assert_allclose(res.tia.array[mask], (a0 / lam * 3600 * ml)[mask], rtol=1e-3)
    assert np.all(res.tia.array[~mask] == 0) and res.n_voxels == mask.sum()


def test_decay_corrected_maps_are_uncorrected_first():
    maps, a0, lam = _mono_maps()
    corrected = [
        m.with_array(m.array * np.exp(LAM_PHYS_H * t)) for m, t in zip(maps, TIMES_H, strict=True)
    ]
    a = voxel_tia(maps, TIMES_H, "Zr-89", workers=1).tia.array
    b = voxel_tia(corrected, TIMES_H, "Zr-89", decay_corrected=True, workers=1).tia.array
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_therapy_prediction_of_a_mono_exponential_biology():
    # Biology e^(−λb t) imaged with I-124 → I-131 therapy: Ã_th = r A0/(λb + λ_I131).
    i124, i131 = Nuclide.from_name("I-124"), Nuclide.from_name("I-131")
    l124, l131 = (n.decay_constant_per_s * 3600 for n in (i124, i131))
    lam_bio = np.array([0.0, 0.01, 0.03, 0.1]).reshape(1, 1, 4)
    a0 = 1e5
    t = np.array([1.0, 24.0, 48.0])
    maps = [Volume((a0 * np.exp(-(lam_bio + l124) * ti)).astype(np.float32), SPACING, unit="Bq")
            for ti in t]  # fmt: skip
    res = predict_therapy_tia(maps, t, "I-124", "I-131", activity_ratio=20.0, method="mono",
                              workers=1)  # fmt: skip
    expected = 20.0 * a0 / (lam_bio + l131) * 3600
    np.testing.assert_allclose(res.tia.array, expected, rtol=1e-3)
    assert res.nuclide == "I-131"
    # trapezoid: the tail's share is what the physical tail adds to the "none" integral
    full = predict_therapy_tia(maps, t, "I-124", "I-131", tail="physical", workers=1)
    none = predict_therapy_tia(maps, t, "I-124", "I-131", tail="none", workers=1)
    tot_full, tot_none = full.tia.array.sum(dtype=float), none.tia.array.sum(dtype=float)
    assert full.tail_fraction == pytest.approx(1 - tot_none / tot_full, rel=1e-5)
    assert full.tail_fraction > 0.5  # I-131 after 48 h of I-124 imaging: mostly tail


def test_bad_inputs_raise():
    maps, _, _ = _mono_maps()
    with pytest.raises(InvalidValueError, match="increasing"):
        voxel_tia(maps, [1, 24, 24, 48], "Zr-89")
    with pytest.raises(InvalidValueError, match="times"):
        voxel_tia(maps, [1, 24], "Zr-89")
    with pytest.raises(FitError, match="method"):
        voxel_tia(maps, TIMES_H, "Zr-89", method="bi")
    with pytest.raises(FitError, match="tail"):
        voxel_tia(maps, TIMES_H, "Zr-89", tail="linear")
    moved = Volume(maps[1].array, SPACING, origin_mm=(5.0, 0.0, 0.0), unit="Bq")
    with pytest.raises(GeometryError, match="align"):
        voxel_tia([maps[0], moved], TIMES_H[:2], "Zr-89")
    suv = [m.with_array(m.array, unit="SUVbw") for m in maps]
    with pytest.raises(InvalidValueError.__mro__[1], match="unit"):
        voxel_tia(suv, TIMES_H, "Zr-89")
