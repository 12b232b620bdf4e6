"""Tests of immunopet.core.volume: geometry conventions shared by every module."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from immunopet.core.errors import GeometryError
from immunopet.core.volume import Volume


def _oblique_direction() -> tuple[float, ...]:
    angle = np.deg2rad(20.0)
    rot = np.array(
        [[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]]
    )
    return tuple(rot.ravel())


def test_array_is_read_only_view_and_caller_array_stays_writable():
    data = np.zeros((2, 3, 4))
    vol = Volume(data, spacing_mm=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError):
        vol.array[0, 0, 0] = 1.0
    data[0, 0, 0] = 5.0  # the caller's array is not frozen
    assert vol.array[0, 0, 0] == 5.0
    assert vol.shape == (2, 3, 4)
    assert vol.voxel_volume_ml == pytest.approx(6.0 / 1000.0)


def test_index_to_lps_matches_simpleitk():
    vol = Volume(
        np.zeros((5, 6, 7), dtype=np.float32),
        spacing_mm=(2.0, 3.0, 4.0),
        origin_mm=(-10.0, 20.0, 5.0),
        direction=_oblique_direction(),
    )
    img = vol.to_sitk()
    for ijk in [(0, 0, 0), (6, 5, 4), (3, 1, 2)]:
        expected = img.TransformIndexToPhysicalPoint(ijk)
        np.testing.assert_allclose(vol.index_to_lps(ijk), expected, atol=1e-9)
        np.testing.assert_allclose(vol.lps_to_index(expected), ijk, atol=1e-9)


def test_sitk_round_trip_keeps_geometry_and_values():
    rng = np.random.default_rng(0)
    arr = rng.random((4, 5, 6)).astype(np.float32)
    vol = Volume(arr, (1.5, 1.5, 3.0), (1.0, 2.0, 3.0), _oblique_direction(), unit="BQML")
    back = Volume.from_sitk(vol.to_sitk(), unit="BQML")
    assert back.same_grid(vol)
    np.testing.assert_array_equal(back.array, arr)


def test_affine_ras_flips_x_and_y_of_lps():
    vol = Volume(np.zeros((2, 2, 2)), (2.0, 2.0, 2.0), origin_mm=(10.0, 20.0, 30.0))
    ras = vol.affine_ras
    np.testing.assert_allclose(ras[:3, 3], [-10.0, -20.0, 30.0])
    np.testing.assert_allclose(np.diag(ras)[:3], [-2.0, -2.0, 2.0])


def test_resample_nearest_keeps_labels_and_linear_interpolates():
    labels = np.zeros((4, 4, 4), dtype=np.int16)
    labels[:, :, 2:] = 7
    src = Volume(labels, (2.0, 2.0, 2.0), unit="label")
    ref = Volume(np.zeros((8, 8, 8)), (1.0, 1.0, 1.0), origin_mm=(-0.5, -0.5, -0.5))
    out = src.resample_like(ref, "nearest")
    assert out.same_grid(ref)
    assert set(np.unique(out.array)) <= {0, 7}
    ramp = Volume(np.tile(np.arange(4.0), (4, 4, 1)), (2.0, 2.0, 2.0))
    lin = ramp.resample_like(
        Volume(np.zeros((1, 1, 1)), (1.0, 1.0, 1.0), origin_mm=(3.0, 2.0, 2.0))
    )
    assert lin.array[0, 0, 0] == pytest.approx(1.5)


def test_bad_geometry_is_refused():
    with pytest.raises(GeometryError):
        Volume(np.zeros((3, 3)), (1.0, 1.0, 1.0))
    with pytest.raises(GeometryError):
        Volume(np.zeros((3, 3, 3)), (1.0, 0.0, 1.0))
    vol = Volume(np.zeros((3, 3, 3)), (1.0, 1.0, 1.0))
    with pytest.raises(GeometryError):
        vol.with_array(np.zeros((2, 3, 3)))


def test_with_array_keeps_grid_and_sets_unit():
    vol = Volume(np.ones((2, 2, 2)), (1.0, 1.0, 1.0), unit="BQML", frame_of_reference_uid="1.2.3")
    suv = vol.with_array(vol.array * 2.0, unit="SUVbw")
    assert suv.unit == "SUVbw" and suv.frame_of_reference_uid == "1.2.3"
    assert suv.same_grid(vol)
    assert isinstance(vol.to_sitk(), sitk.Image)
