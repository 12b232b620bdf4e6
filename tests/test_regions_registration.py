"""Tests of immunopet.regions.registration: rigid CT registration, carrying and matching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from immunopet.core.errors import GeometryError
from immunopet.core.volume import Volume
from immunopet.regions import (
    LabelMap,
    carry_lesions,
    lesions_from_labels,
    match_lesions,
    register_rigid,
)

PET_VOXEL_MM = 4.0


def _phantom_ct() -> Volume:
    """64³ CT, 3 mm voxels: body, two lungs, spine and an asymmetric bone."""
    n, sp = 64, 3.0
    kk, jj, ii = np.indices((n, n, n), dtype=float)
    x, y, z = (ii - 31.5) * sp, (jj - 31.5) * sp, (kk - 31.5) * sp
    hu = np.full((n, n, n), -1000.0)
    hu[(x / 80) ** 2 + (y / 60) ** 2 + (z / 85) ** 2 <= 1] = 20.0
    for cx in (-35.0, 35.0):
        hu[((x - cx) / 25) ** 2 + ((y + 5) / 30) ** 2 + ((z - 20) / 40) ** 2 <= 1] = -800.0
    hu[((x / 12) ** 2 + ((y - 40) / 12) ** 2 <= 1) & (np.abs(z) < 80)] = 700.0
    hu[(x - 30) ** 2 + (y - 20) ** 2 + (z + 40) ** 2 <= 15**2] = 400.0
    hu = ndimage.gaussian_filter(hu, 1.0)
    return Volume(hu.astype(np.float32), (sp, sp, sp), origin_mm=(-94.5, -94.5, -94.5), unit="HU")


def _true_transform() -> sitk.Euler3DTransform:
    t = sitk.Euler3DTransform()
    t.SetCenter((0.0, 0.0, 0.0))
    t.SetRotation(math.radians(3.0), math.radians(-2.0), math.radians(5.0))
    t.SetTranslation((6.0, -4.0, 8.0))
    return t


def test_rigid_registration_recovers_shift_and_rotation_and_carries_lesions():
    ref_ct = _phantom_ct()
    s = _true_transform()
    # other(p) = ref(S(p)): the other session is the reference moved by S⁻¹.
    other_ct = Volume.from_sitk(
        sitk.Resample(ref_ct.to_sitk(), ref_ct.to_sitk(), s, sitk.sitkLinear, -1000.0), unit="HU"
    )
    reg = register_rigid(other_ct, ref_ct)
    # reg.transform maps other → reference points; it must equal S within a PET voxel.
    pts = np.array(
        [[x, y, z] for x in (-60, 0, 60) for y in (-40, 0, 40) for z in (-60, 0, 60)], float
    )
    err = [
        np.linalg.norm(np.subtract(reg.transform.TransformPoint(p), s.TransformPoint(p)))
        for p in pts
    ]
    print(f"registration max error {max(err):.2f} mm, corr {reg.correlation:.3f}")
    assert max(err) < PET_VOXEL_MM
    assert reg.correlation > 0.95 and reg.metric_value < 0
    assert set(reg.as_record()) >= {"metric_mattes_mi", "ct_correlation", "translation_x_mm"}

    # Lesions drawn on the reference PET grid (4 mm), carried onto the other PET grid.
    pet = Volume(np.zeros((48, 48, 48)), (4.0, 4.0, 4.0), origin_mm=(-94.0, -94.0, -94.0))
    kk, jj, ii = np.indices(pet.shape)
    xyz = pet.index_to_lps(np.stack([ii, jj, kk], axis=-1).reshape(-1, 3)).reshape(*pet.shape, 3)
    lab = np.zeros(pet.shape, np.int16)
    lab[np.linalg.norm(xyz - (20.0, -10.0, 30.0), axis=-1) <= 12] = 1
    lab[np.linalg.norm(xyz - (-40.0, 15.0, -20.0), axis=-1) <= 9] = 2
    ref_les = lesions_from_labels(pet.with_array(lab), binary=False)
    truth = lesions_from_labels(
        pet.with_array(lab).resample_like(pet, "nearest", transform=s), binary=False
    )
    carried = carry_lesions(ref_les, pet, reg.transform)
    assert list(carried.table.region) == ["lesion_001", "lesion_002"]
    table = match_lesions(carried, truth)
    assert list(table.reference_lesion) == ["lesion_001", "lesion_002"]
    assert list(table.other_lesion) == ["lesion_001", "lesion_002"]
    assert (table.dice > 0.6).all() and (table.distance_mm < PET_VOXEL_MM).all()


def test_match_lesions_by_overlap_then_distance():
    grid = Volume(np.zeros((20, 20, 40)), (2.0, 2.0, 2.0))
    a = np.zeros(grid.shape, np.int16)
    b = np.zeros(grid.shape, np.int16)
    a[5:10, 5:10, 5:10] = 1
    b[6:11, 5:10, 5:10] = 2  # overlaps a:1
    a[5:10, 5:10, 20:25] = 2
    b[5:10, 5:10, 27:32] = 1  # 14 mm away, no overlap
    b[15:18, 15:18, 36:39] = 3  # far from anything
    ref = lesions_from_labels(grid.with_array(a), binary=False)
    oth = lesions_from_labels(grid.with_array(b), binary=False)
    t = match_lesions(ref, oth, max_distance_mm=20.0)
    pairs = dict(zip(t.reference_lesion, t.other_lesion, strict=True))
    assert pairs["lesion_001"] == "lesion_002" and pairs["lesion_002"] == "lesion_001"
    assert t.loc[t.reference_lesion == "lesion_001", "dice"].item() == pytest.approx(0.8)
    assert t.loc[t.reference_lesion == "lesion_002", "distance_mm"].item() == pytest.approx(14.0)
    assert ((t.reference_lesion == "") & (t.other_lesion == "lesion_003")).sum() == 1
    strict = match_lesions(ref, oth, max_distance_mm=10.0)
    assert (strict.other_lesion[strict.reference_lesion == "lesion_002"] == "").all()


def test_match_refuses_different_grids():
    g1 = Volume(np.zeros((5, 5, 5)), (2.0, 2.0, 2.0))
    g2 = Volume(np.zeros((5, 5, 5)), (3.0, 3.0, 3.0))
    arr = np.zeros((5, 5, 5), np.int16)
    arr[2, 2, 2] = 1
    with pytest.raises(GeometryError):
        match_lesions(
            lesions_from_labels(g1.with_array(arr)), lesions_from_labels(g2.with_array(arr))
        )


def test_carry_without_transform_checks_frame():
    g = Volume(np.zeros((5, 5, 5)), (2.0, 2.0, 2.0), frame_of_reference_uid="1.2")
    other = Volume(np.zeros((5, 5, 5)), (2.0, 2.0, 2.0), frame_of_reference_uid="3.4")
    arr = np.zeros((5, 5, 5), np.int16)
    arr[2, 2, 2] = 1
    lm = LabelMap(g.with_array(arr), {1: "lesion_001"}, "lesion", source="ref_lesions.nii.gz")
    with pytest.raises(GeometryError, match="ref_lesions.nii.gz"):
        carry_lesions(lm, other)
