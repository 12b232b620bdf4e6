"""Tests of immunopet.measure: one-pass statistics, SUVpeak, the tidy table."""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from immunopet.core.errors import ImmunopetWarning, InputError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition, Scan
from immunopet.core.volume import Volume
from immunopet.measure import (
    SUV_PEAK_RADIUS_MM,
    TABLE_COLUMNS,
    measure,
    region_statistics,
    sphere_offsets,
    suv_peak_map,
)
from immunopet.regions import LabelMap, fractional_occupancy

INJECTED_BQ = 74e6
T_SCAN = datetime(2024, 3, 5, 10, 0, 0)


def _scan(pet: Volume, *, injected_bq: float | None = INJECTED_BQ, hours: float = 24.0) -> Scan:
    acq = Acquisition(
        nuclide=Nuclide.from_name("124I"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=T_SCAN,
        injection_datetime=T_SCAN - timedelta(hours=hours),
        injected_activity_bq=injected_bq,
        patient_weight_kg=70.0,
        patient_height_m=1.7,
        patient_sex="F",
        tracer="124I-trastuzumab",
    )
    return Scan(pet=pet, acquisition=acq, subject_id="P01", scan_id="d1")


def _naive(values: np.ndarray, labels: np.ndarray, n: int, peak: np.ndarray | None = None):
    out = []
    for lab in range(n):
        m = labels == lab
        if not m.any():
            out.append((0, np.nan, np.nan, np.nan, np.nan))
            continue
        v = values[m]
        out.append((m.sum(), v.mean(), v.std(), v.max(), np.nan if peak is None else peak[m].max()))
    return np.array(out, dtype=float).T


def _brute_peak(arr: np.ndarray, spacing_mm, radius_mm: float) -> np.ndarray:
    dx, dy, dz = spacing_mm
    nz, ny, nx = arr.shape
    kk, jj, ii = np.indices(arr.shape)
    out = np.empty(arr.shape)
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                d2 = ((kk - k) * dz) ** 2 + ((jj - j) * dy) ** 2 + ((ii - i) * dx) ** 2
                out[k, j, i] = arr[d2 <= radius_mm**2 * (1 + 1e-12)].mean()
    return out


# --- exact values on known inserts -----------------------------------------------------
def test_exact_statistics_on_known_inserts():
    spacing = (2.0, 2.0, 3.0)
    suv = np.full((20, 30, 30), 1.0)
    labels = np.zeros(suv.shape, np.int16)
    labels[5:9, 10:15, 10:20] = 1  # 4·5·10 = 200 voxels at SUV 5, one hot voxel at 9
    suv[5:9, 10:15, 10:20] = 5.0
    suv[6, 12, 12] = 9.0
    labels[12:14, 3:5, 3:6] = 2  # 12 voxels, a ramp
    suv[12:14, 3:5, 3:6] = np.arange(12, dtype=float).reshape(2, 2, 3) / 4
    st_ = region_statistics(suv, labels, 3)
    assert st_.voxels[1] == 200 and st_.voxels[2] == 12
    assert st_.maximum[1] == 9.0
    assert st_.mean[1] == pytest.approx((199 * 5.0 + 9.0) / 200, rel=1e-15)
    assert st_.maximum[2] == 11 / 4
    assert st_.mean[2] == pytest.approx(5.5 / 4, rel=1e-15)
    assert st_.sd[2] == pytest.approx(np.std(np.arange(12) / 4), rel=1e-12)
    vol = Volume(suv, spacing)
    lm = LabelMap(vol.with_array(labels, "label"), {1: "liver", 2: "spleen"})
    df = measure(
        _scan(vol),
        lm,
        suv=vol.with_array(suv, "SUVbw"),
        activity_at_scan_bq_per_ml=vol.with_array(suv * 1000.0, "BQML"),
        activity_at_injection_bq_per_ml=vol.with_array(suv * 2000.0, "BQML"),
        references=(),
    )
    liver = df[df.region == "liver"].set_index("metric")["value"]
    voxel_ml = 2 * 2 * 3 / 1000
    assert liver["volume_ml"] == pytest.approx(200 * voxel_ml, rel=1e-14)
    assert liver["suv_max"] == 9.0
    assert liver["activity_bq"] == pytest.approx((199 * 5 + 9) * 1000 * voxel_ml, rel=1e-12)
    assert liver["activity_decay_corrected_bq"] == pytest.approx(2 * liver["activity_bq"])
    assert liver["percent_ia"] == pytest.approx(100 * liver["activity_bq"] / INJECTED_BQ)
    assert liver["percent_id_per_g"] == pytest.approx(
        100 * liver["activity_decay_corrected_bq"] / INJECTED_BQ / liver["volume_ml"]
    )
    assert liver["injected_activity_bq"] == INJECTED_BQ


# --- property: one pass == naive per-label loop ----------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 8)),
    n=st.integers(1, 9),
)
def test_one_pass_equals_naive_loop(data, shape, n):
    values = data.draw(
        arrays(np.float64, shape, elements=st.floats(-50, 50, allow_nan=False, width=32))
    )
    labels = data.draw(arrays(np.int16, shape, elements=st.integers(0, n - 1)))
    peak = data.draw(arrays(np.float64, shape, elements=st.floats(0, 10, width=32)))
    got = region_statistics(values, labels, n, peak=peak)
    count, mean, sd, mx, pk = _naive(values, labels, n, peak)
    # label 0 is background: skipped by the one pass
    assert got.voxels[0] == 0 and np.isnan(got.maximum[0])
    count[0], mean[0], sd[0], mx[0], pk[0] = 0, np.nan, np.nan, np.nan, np.nan
    np.testing.assert_array_equal(got.voxels, count)
    np.testing.assert_allclose(got.mean, mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.sd, sd, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(got.maximum, mx)
    np.testing.assert_array_equal(got.peak, pk)


# --- SUVpeak ---------------------------------------------------------------------------
def test_sphere_of_1_ml_radius():
    # PERCIST: a 1 cm³ sphere has radius (3000 / 4π)^(1/3) = 6.20 mm.
    assert SUV_PEAK_RADIUS_MM == pytest.approx((3000 / (4 * math.pi)) ** (1 / 3), abs=0.005)
    # 4 mm voxels: centre, 6 face and 12 edge neighbours (5.66 mm); corners (6.93 mm) out.
    assert len(sphere_offsets((4.0, 4.0, 4.0))) == 19


@settings(max_examples=15, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)),
    spacing=st.sampled_from([(4.0, 4.0, 4.0), (2.0, 2.0, 3.0), (1.6, 1.6, 2.0), (3.0, 3.0, 5.0)]),
)
def test_suv_peak_equals_brute_force_sphere_search(data, shape, spacing):
    arr = data.draw(arrays(np.float64, shape, elements=st.floats(0, 20, width=32)))
    vol = Volume(arr, spacing, unit="SUVbw")
    got = suv_peak_map(vol)
    want = _brute_peak(arr, spacing, SUV_PEAK_RADIUS_MM)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    labels = data.draw(arrays(np.int8, shape, elements=st.integers(0, 3)))
    st_ = region_statistics(arr, labels, 4, peak=got)
    for lab in range(1, 4):
        m = labels == lab
        if m.any():
            assert st_.peak[lab] == pytest.approx(want[m].max(), rel=1e-9, abs=1e-9)


def test_suv_peak_of_uniform_sphere_and_hot_voxel():
    arr = np.ones((15, 15, 15))
    arr[7, 7, 7] = 20.0
    vol = Volume(arr, (4.0, 4.0, 4.0))
    peak = suv_peak_map(vol)
    assert peak[7, 7, 7] == pytest.approx((18 + 20) / 19)
    assert peak[0, 0, 0] == pytest.approx(1.0)  # border: mean over the voxels inside


# --- the tidy table ----------------------------------------------------------------------
def _organ_lesion_phantom():
    shape = (24, 40, 40)
    spacing = (4.0, 4.0, 4.0)
    suv = np.full(shape, 0.5)
    org = np.zeros(shape, np.int16)
    org[2:8, 5:15, 5:15] = 1
    suv[2:8, 5:15, 5:15] = 0.8  # muscle
    org[10:16, 5:20, 5:20] = 2
    suv[10:16, 5:20, 5:20] = 2.0  # liver
    les = np.zeros(shape, np.int16)
    les[18:21, 25:28, 25:28] = 1
    suv[18:21, 25:28, 25:28] = 6.0
    suv[19, 26, 26] = 8.0
    vol = Volume(suv, spacing, frame_of_reference_uid="1.2.3")
    organs = LabelMap(vol.with_array(org, "label"), {1: "muscle", 2: "liver", 3: "kidneys"})
    lesions = LabelMap(vol.with_array(les, "label"), {1: "lesion_001"}, "lesion")
    return vol, organs, lesions


def test_table_contract_tnr_and_empty_region_nan():
    vol, organs, lesions = _organ_lesion_phantom()
    suv = vol.with_array(vol.array, "SUVbw")
    with pytest.warns(ImmunopetWarning, match="kidneys"):
        df = measure(
            _scan(vol),
            [organs, lesions],
            suv=suv,
            activity_at_scan_bq_per_ml=vol,
            activity_at_injection_bq_per_ml=vol,
            references=("muscle", "liver"),
        )
    assert tuple(df.columns) == TABLE_COLUMNS
    assert set(df.region_kind) == {"organ", "lesion", "whole_body"}
    assert (df.subject == "P01").all() and (df.time_h == 24.0).all()
    assert (df.nuclide == "I-124").all() or (df.nuclide == Nuclide.from_name("124I").name).all()
    v = df.set_index(["region", "metric"])["value"]
    assert v["lesion_001", "suv_max"] == 8.0
    assert v["lesion_001", "tnr_muscle"] == pytest.approx(8.0 / 0.8)
    assert v["lesion_001", "tnr_liver"] == pytest.approx(8.0 / 2.0)
    assert ("muscle", "tnr_liver") not in v.index
    assert math.isnan(v["kidneys", "suv_mean"]) and v["kidneys", "voxels"] == 0
    assert v["whole_body", "voxels"] == np.prod(vol.shape)
    # SUVpeak of the lesion: 19-voxel sphere around the hot voxel inside a 3³ cube.
    assert v["lesion_001", "suv_peak"] == pytest.approx((8.0 + 18 * 6.0) / 19)
    units = df.set_index("metric")["unit"].to_dict()
    assert units["volume_ml"] == "mL" and units["suv_max"] == "SUVbw"


def test_measure_with_quant_on_synthetic_scan():
    quant = pytest.importorskip("immunopet.quant")
    vol, organs, _ = _organ_lesion_phantom()
    conc = vol.with_array(vol.array * 5000.0, "BQML")  # Bq/mL decay-corrected to scan start
    scan = _scan(conc)
    with pytest.warns(ImmunopetWarning, match="kidneys"):
        df = measure(scan, organs, references=())
    v = df.set_index(["region", "metric"])["value"]
    suv = quant.suv_volume(scan).array
    liver = organs.mask("liver")
    assert v["liver", "suv_mean"] == pytest.approx(suv[liver].mean(), rel=1e-12)
    # START-corrected pixels are the activity present at scan start.
    assert v["liver", "activity_bq"] == pytest.approx(
        conc.array[liver].sum() * vol.voxel_volume_ml, rel=1e-12
    )
    # Decay correction to injection multiplies by exp(λ t) for 24 h of 124I.
    lam_per_s = Nuclide.from_name("124I").decay_constant_per_s
    assert v["liver", "activity_decay_corrected_bq"] / v["liver", "activity_bq"] == pytest.approx(
        math.exp(lam_per_s * 24 * 3600), rel=1e-9
    )


def test_missing_injected_activity_gives_nan_not_crash():
    vol, organs, _ = _organ_lesion_phantom()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)
        df = measure(
            _scan(vol, injected_bq=None),
            organs,
            suv=vol,
            activity_at_scan_bq_per_ml=vol,
            activity_at_injection_bq_per_ml=vol,
            references=(),
        )
    v = df.set_index(["region", "metric"])["value"]
    assert math.isnan(v["liver", "percent_ia"]) and v["liver", "suv_max"] == 2.0


def test_partial_volume_measure_volume_and_mean():
    # CT grid 1 mm, a 10 × 10 × 10 mm box; PET grid 4 mm, offset so the box cuts voxels.
    ct = Volume(np.zeros((40, 40, 40), np.int16), (1.0, 1.0, 1.0), origin_mm=(0.0, 0.0, 0.0))
    arr = np.zeros(ct.shape, np.int16)
    arr[10:20, 10:20, 10:20] = 1  # voxel centres 10..19 mm → box [9.5, 19.5] mm
    lm = LabelMap(ct.with_array(arr, "label"), {1: "tumour"}, "lesion")
    pet = Volume(np.ones((10, 10, 10)), (4.0, 4.0, 4.0), origin_mm=(1.5, 1.5, 1.5))
    pv = fractional_occupancy(lm, pet, supersample=4)
    volume_ml = pv.fraction.sum() * pet.voxel_volume_ml
    assert volume_ml == pytest.approx(1.0, rel=0.05)  # 1 cm³ within the sampling error
    df = measure(
        _scan(pet),
        pv,
        suv=pet,
        activity_at_scan_bq_per_ml=pet,
        activity_at_injection_bq_per_ml=pet,
        whole_body=False,
        references=(),
    )
    v = df.set_index(["region", "metric"])["value"]
    assert v["tumour", "suv_mean"] == pytest.approx(1.0)
    assert v["tumour", "volume_ml"] == pytest.approx(volume_ml)
    assert v["tumour", "activity_bq"] == pytest.approx(volume_ml)  # 1 Bq/mL


def test_bare_label_volume_with_names_and_grid_check():
    vol, organs, _ = _organ_lesion_phantom()
    df = measure(
        _scan(vol),
        organs.volume,
        names={2: "liver"},
        suv=vol,
        activity_at_scan_bq_per_ml=vol,
        activity_at_injection_bq_per_ml=vol,
        whole_body=False,
        references=(),
    )
    assert set(df.region) == {"liver"} and set(df.region_kind) == {"organ"}
    with pytest.raises(InputError, match="names"):
        measure(_scan(vol), organs.volume, suv=vol)
    shifted = Volume(organs.array, vol.spacing_mm, origin_mm=(10.0, 0.0, 0.0))
    with pytest.raises(InputError, match="not on the PET grid"):
        measure(_scan(vol), LabelMap(shifted, {2: "liver"}), suv=vol)


def test_zero_reference_gives_nan_ratio():
    vol, organs, lesions = _organ_lesion_phantom()
    arr = np.asarray(vol.array).copy()
    arr[organs.mask("muscle")] = 0.0
    zero = vol.with_array(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)
        df = measure(
            _scan(zero),
            [organs, lesions],
            suv=zero,
            activity_at_scan_bq_per_ml=zero,
            activity_at_injection_bq_per_ml=zero,
            references=("muscle",),
        )
    v = df.set_index(["region", "metric"])["value"]
    assert math.isnan(v["lesion_001", "tnr_muscle"])


def test_tnr_background_shell_excludes_other_lesions():
    """tnr_background = SUVmax / mean SUV 5–15 mm from the lesion, other lesions left out."""
    from immunopet.measure import BACKGROUND_SHELL_MM, lesion_background_suv

    shape, spacing = (30, 30, 40), (2.0, 2.0, 2.0)
    suv = np.full(shape, 1.0)
    les = np.zeros(shape, np.int16)
    les[13:17, 13:17, 8:12] = 1
    suv[13:17, 13:17, 8:12] = 6.0
    les[13:17, 13:17, 18:22] = 2  # 12 mm away: inside lesion 1's shell radius
    suv[13:17, 13:17, 18:22] = 50.0
    # A warm ring of SUV 3 at 10 mm (5 voxels) on the far side of lesion 1.
    suv[13:17, 13:17, 3] = 3.0
    vol = Volume(suv, spacing, frame_of_reference_uid="1.2.3")
    lm = LabelMap(vol.with_array(les, "label"), {1: "lesion_001", 2: "lesion_002"}, "lesion")
    bg = lesion_background_suv(vol, les, 3)
    assert 1.0 < bg[1] < 3.0 and bg[2] == pytest.approx(1.0, abs=0.05)
    assert BACKGROUND_SHELL_MM == (5.0, 15.0)
    df = measure(_scan(vol), lm, suv=vol.with_array(suv, "SUVbw"), activity_at_scan_bq_per_ml=vol,
                 activity_at_injection_bq_per_ml=vol, references=())  # fmt: skip
    v = df.set_index(["region", "metric"])["value"]
    assert v["lesion_001", "tnr_background"] == pytest.approx(6.0 / bg[1])
    assert v["lesion_002", "tnr_background"] == pytest.approx(50.0 / bg[2], rel=0.05)
    assert not (df[df.metric == "tnr_background"].region_kind != "lesion").any()


def test_suv_max_core_leaves_out_spill_in_of_a_warm_neighbour():
    """A cold lesion in a hot organ: SUVmax sits on the border, the core max does not."""
    from scipy import ndimage

    from immunopet.measure import LESION_CORE_MM, lesion_core_labels

    shape, spacing = (32, 32, 32), (4.0, 4.0, 4.0)
    z, y, x = np.indices(shape)
    r_mm = 4.0 * np.sqrt((z - 16) ** 2 + (y - 16) ** 2 + (x - 16) ** 2)
    truth = np.where(r_mm <= 10.0, 1.0, 9.0)  # 20 mm photopenic lesion in a 9-SUV liver
    # 6 mm FWHM blur (σ in voxels); the VOI is the true sphere, as an FDG contour would be.
    suv = ndimage.gaussian_filter(truth, 6.0 / 2.3548 / 4.0)
    les = (r_mm <= 10.0).astype(np.int16)
    # A 12 mm lesion far away: too small for a 6 mm core, it keeps its innermost voxels.
    les[(4.0 * np.sqrt((z - 6) ** 2 + (y - 6) ** 2 + (x - 6) ** 2)) <= 6.0] = 2
    vol = Volume(suv, spacing, frame_of_reference_uid="1.2.3")
    lm = LabelMap(vol.with_array(les, "label"), {1: "lesion_001", 2: "lesion_002"}, "lesion")
    df = measure(_scan(vol), lm, suv=vol.with_array(suv, "SUVbw"), activity_at_scan_bq_per_ml=vol,
                 activity_at_injection_bq_per_ml=vol, references=())  # fmt: skip
    v = df.set_index(["region", "metric"])["value"]
    assert v["lesion_001", "suv_max"] > 4.0  # the border voxels see the liver
    assert v["lesion_001", "suv_max_core"] < 2.5  # the core does not
    assert v["lesion_001", "background_suv_mean"] == pytest.approx(
        v["lesion_001", "suv_max"] / v["lesion_001", "tnr_background"]
    )
    core = lesion_core_labels(les, spacing, LESION_CORE_MM)
    assert set(np.unique(core)) == {0, 1, 2}  # the small lesion keeps its innermost voxels
    assert np.all(les[core > 0] == core[core > 0])
    # Core voxels of lesion 1 lie more than 6 mm inside: its outer voxel layers are out.
    assert (core == 1).sum() < (les == 1).sum() and (core == 1).sum() >= 7
