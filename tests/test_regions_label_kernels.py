"""Compiled label sweeps and cropped lesion/blood computations equal their whole-image forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from immunopet.regions.blood import depth_mm, erode_mm
from immunopet.regions.label_kernels import (
    apply_lut,
    component_moments,
    count_labels,
    label_mask,
    label_maxima,
    threshold_by_label,
)
from immunopet.regions.labels import label_dtype
from immunopet.regions.lesion_policy import organ_medians
from immunopet.regions.lesions import shell_background_suv

RNG = np.random.default_rng(16)
LABELS = RNG.integers(0, 12, size=(9, 11, 13)).astype(np.uint8)
VALUES = RNG.random((9, 11, 13)).astype(np.float32)


def test_counts_masks_luts_and_maxima_equal_numpy() -> None:
    np.testing.assert_array_equal(count_labels(LABELS), np.bincount(LABELS.ravel()))
    np.testing.assert_array_equal(label_mask(LABELS, [2, 5, 40]), np.isin(LABELS, [2, 5]))
    lut = RNG.integers(0, 300, size=12).astype(np.uint16)
    out = apply_lut(LABELS, lut)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, lut[LABELS])
    thr = RNG.random(12)
    np.testing.assert_array_equal(
        threshold_by_label(VALUES, LABELS, thr), (LABELS > 0) & (VALUES >= thr[LABELS])
    )
    want = np.array(ndimage.maximum(VALUES, LABELS, np.arange(14)), float)
    want[0] = want[12] = want[13] = math.nan
    np.testing.assert_array_equal(label_maxima(VALUES, LABELS, 14), want)


def test_component_moments_equal_bincount_centroids() -> None:
    voxels, centroid, vmax = component_moments(LABELS, VALUES)
    kz, ky, kx = np.indices(LABELS.shape)
    for axis, coord in enumerate((kz, ky, kx)):
        sums = np.bincount(LABELS.ravel(), weights=coord.ravel().astype(float))
        np.testing.assert_array_equal(centroid[1:, axis], sums[1:] / voxels[1:])
    np.testing.assert_array_equal(voxels[1:], np.bincount(LABELS.ravel())[1:])  # 0: background
    np.testing.assert_array_equal(vmax[1:], ndimage.maximum(VALUES, LABELS, np.arange(1, 12)))


def test_label_dtype_is_the_smallest() -> None:
    assert label_dtype(117) is np.uint8
    assert label_dtype(256) is np.uint16
    assert label_dtype(70000) is np.int32


def test_erosion_in_the_box_equals_the_whole_image() -> None:
    mask = np.zeros((20, 24, 30), bool)
    mask[3:12, 5:20, 0:9] = True  # touches the image border: the border counts as outside
    mask[14:19, 2:6, 20:29] = True
    spacing = (1.5, 2.0, 2.5)
    np.testing.assert_array_equal(erode_mm(mask, spacing, 2.1), depth_mm(mask, spacing) > 2.1)


def _shell_whole_image(suv, lab, n, spacing, shell):  # type: ignore[no-untyped-def]
    dx, dy, dz = spacing
    dist, (iz, iy, ix) = ndimage.distance_transform_edt(
        lab == 0, sampling=(dz, dy, dx), return_indices=True
    )
    shell_mask = (dist >= shell[0]) & (dist <= shell[1])
    owner = lab[iz[shell_mask], iy[shell_mask], ix[shell_mask]]
    total = np.bincount(owner, weights=suv[shell_mask].astype(float), minlength=n)[:n]
    count = np.bincount(owner, minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), math.nan)


@pytest.mark.parametrize("seed", [0, 1])
def test_background_shells_in_cluster_boxes_equal_one_whole_image_transform(seed: int) -> None:
    # Lesions near each other (shared shells, nearest-owner rule), far apart, at the edge.
    rng = np.random.default_rng(seed)
    shape = (40, 44, 90)
    lab = np.zeros(shape, np.uint8)
    centres = [(10, 10, 10), (12, 14, 16), (30, 30, 70), (0, 40, 88), (20, 22, 45)]
    for number, c in enumerate(centres, start=1):
        r = int(rng.integers(1, 4))
        lab[tuple(slice(max(x - r, 0), x + r + 1) for x in c)] = number
    suv = rng.random(shape).astype(np.float32)
    spacing = (2.0, 2.0, 2.5)
    got = shell_background_suv(suv, lab, 7, spacing)
    want = _shell_whole_image(suv, lab, 7, spacing, (5.0, 15.0))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(got[6])


def test_organ_medians_equal_scipy() -> None:
    numbers = np.arange(1, 12)
    want = ndimage.median(VALUES.astype(np.float64), LABELS, numbers)
    np.testing.assert_array_equal(organ_medians(VALUES, LABELS)[1:], want)
