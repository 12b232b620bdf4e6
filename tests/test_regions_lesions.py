"""Tests of immunopet.regions.lesions: thresholds, the ≥ 1 cm rule, ids, user masks."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest

from immunopet.core.errors import InputError, InvalidValueError
from immunopet.core.volume import Volume
from immunopet.regions import (
    equivalent_diameter_mm,
    lesions_from_labels,
    lesions_from_mask,
    parse_method,
    segment_lesions,
)

SPACING = (1.0, 1.0, 1.0)


def _sphere(shape, centre_ijk, diameter_mm, spacing=SPACING):
    kk, jj, ii = np.indices(shape, dtype=float)
    ci, cj, ck = centre_ijk
    dx, dy, dz = spacing
    d2 = ((ii - ci) * dx) ** 2 + ((jj - cj) * dy) ** 2 + ((kk - ck) * dz) ** 2
    return d2 <= (diameter_mm / 2) ** 2


def _two_spheres():
    shape = (40, 40, 60)
    suv = np.full(shape, 1.0)
    small = _sphere(shape, (15, 20, 20), 9.0)  # 9 mm: below the 1 cm rule
    big = _sphere(shape, (42, 20, 20), 12.0)  # 12 mm: kept
    suv[small] = 8.0
    suv[big] = 6.0
    return Volume(suv, SPACING, origin_mm=(-30.0, -20.0, 100.0), unit="SUVbw"), small, big


def test_equivalent_diameter():
    assert equivalent_diameter_mm(4 / 3 * math.pi * 0.5**3) == pytest.approx(10.0)


def test_size_filter_drops_9mm_keeps_12mm():
    suv, small, big = _two_spheres()
    les = segment_lesions(suv, "fixed:4.0")
    assert len(les) == 1
    row = les.table.iloc[0]
    assert row.region == "lesion_001" and row.lesion_id == 1
    assert row.equivalent_diameter_mm == pytest.approx(12.0, abs=0.5)
    assert row.suv_max == 6.0
    assert row.voxels == big.sum()
    # centroid in LPS: origin + index (identity direction, 1 mm voxels)
    assert row.centroid_x_mm == pytest.approx(-30.0 + 42)
    assert row.centroid_y_mm == pytest.approx(-20.0 + 20)
    assert row.centroid_z_mm == pytest.approx(100.0 + 20)
    assert (les.labels.array == 1).sum() == big.sum()
    both = segment_lesions(suv, "fixed:4.0", min_diameter_mm=None)
    assert list(both.table.suv_max) == [8.0, 6.0]  # ids by decreasing SUVmax
    assert both.table.equivalent_diameter_mm.iloc[0] == pytest.approx(9.0, abs=0.5)


def test_stable_ids_tie_broken_by_position():
    suv, small, big = _two_spheres()
    arr = np.asarray(suv.array).copy()
    arr[small] = 6.0  # same SUVmax → order by centroid z, y, x
    les = segment_lesions(suv.with_array(arr), "fixed:4.0", min_diameter_mm=None)
    assert list(les.table.centroid_x_mm) == sorted(les.table.centroid_x_mm)


def test_relative_threshold_per_component():
    shape = (40, 40, 40)
    kk, jj, ii = np.indices(shape, dtype=float)
    r = np.sqrt((ii - 20) ** 2 + (jj - 20) ** 2 + (kk - 20) ** 2)
    suv = np.where(r <= 12, 10.0 * (1 - r / 24), 0.5)  # 10 at centre, 5 at r = 12
    vol = Volume(suv, SPACING)
    les = segment_lesions(vol, "relative:0.6", seed_suv=2.5)
    # 0.6 × 10 = 6 → r ≤ 9.6 mm
    assert len(les) == 1
    assert les.table.voxels.iloc[0] == int((r <= 9.6 + 1e-9).sum())
    assert les.table.suv_max.iloc[0] == 10.0


def test_adaptive_threshold_uses_background():
    shape = (40, 40, 40)
    suv = np.full(shape, 2.0)
    core = _sphere(shape, (20, 20, 20), 16.0)
    rim = _sphere(shape, (20, 20, 20), 24.0) & ~core
    suv[core] = 10.0
    suv[rim] = 5.0  # below bg + 0.5 (10 − 2) = 6 → excluded
    vol = Volume(suv, SPACING)
    les = segment_lesions(vol, "adaptive", seed_suv=4.0)
    assert les.table.voxels.iloc[0] == core.sum()
    fixed_bg = segment_lesions(vol, "adaptive:0.5", seed_suv=4.0, background_suv=0.0)
    assert fixed_bg.table.voxels.iloc[0] == core.sum() + rim.sum()  # 5 ≥ 0 + 0.5·10


def test_search_mask_restricts():
    suv, small, big = _two_spheres()
    mask = np.zeros(suv.shape, bool)
    mask[:, :, :30] = True
    les = segment_lesions(suv, "fixed:4.0", search_mask=mask, min_diameter_mm=None)
    assert len(les) == 1 and les.table.suv_max.iloc[0] == 8.0


@pytest.mark.parametrize("spec", ["fixed", "otsu:3", "relative:1.5", "fixed:abc", "relative:-1"])
def test_bad_method(spec):
    with pytest.raises(InvalidValueError):
        parse_method(spec)


def test_parse_method_defaults():
    assert parse_method("relative") == ("relative", 0.41)
    assert parse_method("adaptive") == ("adaptive", 0.5)
    assert parse_method("fixed:4") == ("fixed", 4.0)


def _save_nifti(path, arr_zyx, spacing=SPACING):
    aff = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])  # LPS identity grid in RAS
    nib.save(nib.Nifti1Image(np.transpose(arr_zyx, (2, 1, 0)), aff), str(path))


def test_binary_mask_with_other_values_is_refused(tmp_path):
    suv, small, big = _two_spheres()
    arr = (small | big).astype(np.int16)
    arr[big] = 2
    path = tmp_path / "lesions.nii.gz"
    _save_nifti(path, arr)
    with pytest.raises(InputError, match="lesions.nii.gz.*other than 0/1"):
        lesions_from_mask(path)
    labelled = lesions_from_mask(path, binary=False)
    assert list(labelled.table.lesion_id) == [1, 2]
    assert labelled.table.voxels.tolist() == [small.sum(), big.sum()]


def test_binary_mask_components_and_resampling(tmp_path):
    suv, small, big = _two_spheres()
    mask = Volume((small | big).astype(np.uint8), SPACING, origin_mm=suv.origin_mm)
    les = lesions_from_labels(mask, suv)
    assert list(les.table.suv_max) == [8.0, 6.0]
    pet = Volume(np.ones((20, 20, 30)), (2.0, 2.0, 2.0), origin_mm=(-29.5, -19.5, 100.5))
    coarse = lesions_from_labels(mask, pet)
    assert coarse.labels.volume.same_grid(pet)
    assert coarse.table.volume_ml.sum() == pytest.approx((small.sum() + big.sum()) / 1000, rel=0.25)


def test_relative_splits_foci_joined_by_a_warm_seed():
    """Two hot lesions in a warm organ (one seed component) stay two lesions."""
    shape = (30, 30, 60)
    suv = np.full(shape, 0.5)
    suv[5:25, 5:25, 5:55] = 3.0  # warm 'liver' above seed_suv
    suv[_sphere(shape, (15, 15, 15), 10.0)] = 12.0
    suv[_sphere(shape, (45, 15, 15), 10.0)] = 10.0
    les = segment_lesions(Volume(suv, SPACING), "relative:0.41", seed_suv=2.5, min_diameter_mm=5)
    assert len(les) == 2
    assert list(les.table.suv_max) == [12.0, 10.0]
    assert les.table.centroid_x_mm.round().tolist() == [15.0, 45.0]
