"""Time-series alignment with activity conserved (dosimetry.voxel.alignment)."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
import SimpleITK as sitk

from immunopet.core.errors import ImmunopetError, InvalidValueError
from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import align_time_series, dice_by_label, resample_activity

SPACING = (4.0, 4.0, 4.0)
SHAPE = (36, 44, 48)


def _phantom(shift_mm=(0.0, 0.0, 0.0)):
    """CT (HU), organ labels and activity (Bq/mL) of an anatomy shifted by ``shift_mm`` (x, y, z)."""
    nz, ny, nx = SHAPE
    z, y, x = np.meshgrid(*(np.arange(n, dtype=float) for n in SHAPE), indexing="ij")
    px = x * SPACING[0] - 96.0 - shift_mm[0]
    py = y * SPACING[1] - 88.0 - shift_mm[1]
    pz = z * SPACING[2] - 72.0 - shift_mm[2]
    ct = np.full(SHAPE, -1000.0)
    labels = np.zeros(SHAPE, np.int16)
    body = (px / 80) ** 2 + (py / 60) ** 2 + (pz / 64) ** 2 <= 1
    ct[body] = 20.0
    organs = {
        1: ((px + 30) ** 2 + (py - 5) ** 2 + (pz - 10) ** 2 <= 28**2, 60.0),  # liver
        2: ((px - 35) ** 2 + (py + 10) ** 2 + pz**2 <= 16**2, -800.0),  # lung-like
        3: (((px - 5) ** 2 + (py - 40) ** 2 <= 9**2) & (np.abs(pz) < 55), 900.0),  # spine
    }
    for lab, (region, hu) in organs.items():
        region = region & body
        ct[region] = hu
        labels[region] = lab
    act = np.where(body, 100.0, 0.0) + np.where(labels == 1, 900.0, 0.0)
    mk = lambda a, u: Volume(a.astype(np.float32), SPACING, unit=u)  # noqa: E731
    return mk(ct, "HU"), mk(labels, "label"), mk(act, "BQML")


def test_resampling_conserves_total_activity():
    rng = np.random.default_rng(0)
    act = Volume(rng.gamma(2, 50, SHAPE).astype(np.float32), SPACING, unit="BQML")
    act = act.with_array(np.pad(act.array[4:-4, 4:-4, 4:-4], 4))  # nothing at the edges
    tf = sitk.Euler3DTransform((96.0, 88.0, 72.0), 0.05, -0.03, 0.08, (3.3, -2.1, 1.7))
    fine = Volume(np.zeros((50, 60, 64), np.float32), (3.0, 3.0, 3.0), origin_mm=(-2, -2, -2))
    total = float(act.array.sum(dtype=np.float64)) * act.voxel_volume_ml
    moved, factor = resample_activity(act, fine, tf)
    moved_total = float(moved.array.sum(dtype=np.float64)) * fine.voxel_volume_ml
    assert moved_total == pytest.approx(total, rel=1e-5)
    raw, _ = resample_activity(act, fine, tf, renormalise=False)
    assert abs(factor - 1) > 1e-4  # interpolation alone does not conserve it
    # in Bq per voxel: the volume ratio is applied both ways
    per_voxel = act.with_array(act.array * np.float32(act.voxel_volume_ml), unit="Bq")
    moved_bq, _ = resample_activity(per_voxel, fine, tf)
    assert moved_bq.unit == "Bq"
    assert float(moved_bq.array.sum(dtype=np.float64)) == pytest.approx(total, rel=1e-5)


def test_activity_leaving_the_field_of_view_is_not_forced_back():
    act = Volume(np.ones((10, 10, 10), np.float32), SPACING, unit="Bq")
    half = Volume(np.zeros((5, 10, 10), np.float32), SPACING)  # the lower half only
    moved, factor = resample_activity(act, half)
    assert float(moved.array.sum()) == pytest.approx(500.0, rel=1e-6)
    assert factor == pytest.approx(1.0, abs=1e-6)


def test_dice_by_label():
    a = np.zeros((4, 4, 4), np.int32)
    b = np.zeros((4, 4, 4), np.int32)
    a[:2], b[1:3] = 1, 1  # overlap 16 of 32 + 32
    a[3, 3, 3] = 2
    d = dice_by_label(Volume(a, SPACING), Volume(b, SPACING))
    assert d == {1: pytest.approx(0.5), 2: 0.0}


def test_rigid_alignment_recovers_a_shift_and_reports_dice():
    ct0, lab0, act0 = _phantom()
    ct1, lab1, act1 = _phantom(shift_mm=(8.0, -6.0, 10.0))
    out = align_time_series([ct0, ct1], [act0, act1], labels=[lab0, lab1])
    q = out.quality
    dice = q[q["metric"] == "dice"].pivot_table(index="region", columns="stage", values="value")
    assert (dice["rigid"] > 0.8).all()  # half-voxel shifts of 2–4-voxel organs cap Dice
    assert (dice["rigid"] > dice["before"] + 0.05).all()
    tx, ty, tz = out.transforms[1].GetTranslation()
    assert (tx, ty, tz) == pytest.approx((8.0, -6.0, 10.0), abs=1.0)
    total = float(act1.array.sum(dtype=np.float64))
    assert float(out.activity[1].array.sum(dtype=np.float64)) == pytest.approx(total, rel=1e-5)
    assert out.activity[0] is act0 and out.renormalisation[0] == 1.0


def test_bad_requests():
    ct0, _, act0 = _phantom()
    with pytest.raises(InvalidValueError, match="method"):
        align_time_series([ct0, ct0], [act0, act0], method="affine")
    with pytest.raises(InvalidValueError, match="activity"):
        align_time_series([ct0, ct0], [act0])


def _has_elastix() -> bool:
    try:
        importlib.metadata.version("itk-elastix")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(_has_elastix(), reason="itk-elastix is installed")
def test_deformable_without_itk_elastix_is_a_clear_error():
    ct0, _, act0 = _phantom()
    ct1, _, act1 = _phantom(shift_mm=(4.0, 0.0, 0.0))
    with pytest.raises(ImmunopetError, match="itk-elastix"):
        align_time_series([ct0, ct1], [act0, act1], method="deformable")
