"""Tests of immunopet.measure.lesion_metrics: MTV, TLG, SUVpeak at the maximum.

Voxelisation error, stated before looking. A sphere of radius r on a grid of
voxel size h is drawn as the voxels whose centres lie inside it. Only voxels cut
by the surface can be wrong, each by at most one voxel volume h³; there are
N_b ≈ 1.5·S/h² of them (S = 4πr²; 1.5 = the mean of |n_x| + |n_y| + |n_z| over the
sphere's normals), and whether the centre of one falls inside is, for a
sphere centred off the grid's symmetry points, like an independent draw whose
error has variance ≈ h⁶/6 (a uniformly distributed inside fraction f gives
E[f(1 − f)] = 1/6). Hence SD(ΔV) ≈ h³·√(N_b/6): for r = 15 mm, h = 2 mm,
106 mm³ = 0.75 % of V. Accepted: within 4 SD (3.0 %) for one sphere, and the
mean over 16 random sub-voxel centre offsets within 4 SD/√16 (0.75 %) — the
count is unbiased over random offsets (the mean number of lattice points in a
randomly translated body is its volume / h³). Every sphere must also lie
within the rigorous bound: the shell of half a voxel diagonal, (4/3)π((r + √3h/2)³ − r³).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import ndimage

from immunopet.core.errors import InvalidValueError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition, Scan
from immunopet.core.volume import Volume
from immunopet.measure import LESION_METRICS, lesion_metrics, measure, sphere_offsets, suv_peak_map
from immunopet.regions import LabelMap

R_MM, H_MM, SUV_IN, SUV_OUT = 15.0, 2.0, 5.0, 0.5
SHAPE = (24, 24, 24)
V_ML = 4 / 3 * math.pi * R_MM**3 / 1000
N_BOUNDARY = 1.5 * 4 * math.pi * R_MM**2 / H_MM**2
SD_ML = H_MM**3 * math.sqrt(N_BOUNDARY / 6) / 1000
SHELL_ML = 4 / 3 * math.pi * ((R_MM + math.sqrt(3) * H_MM / 2) ** 3 - R_MM**3) / 1000


def _scan(pet: Volume) -> Scan:
    t = datetime(2024, 3, 5, 10, 0, 0)
    acq = Acquisition(nuclide=Nuclide.from_name("124I"), units="BQML", decay_correction="START",
                      scan_start_datetime=t, injection_datetime=t - timedelta(hours=24),
                      injected_activity_bq=74e6, patient_weight_kg=70.0, patient_height_m=1.7,
                      patient_sex="F", tracer="124I-trastuzumab")  # fmt: skip
    return Scan(pet=pet, acquisition=acq, subject_id="P01", scan_id="d1")


def _sphere(offset_vox: np.ndarray) -> np.ndarray:
    centre = (np.array(SHAPE) / 2 + offset_vox) * H_MM
    zz, yy, xx = (np.indices(SHAPE) + 0.5) * H_MM  # voxel centres, mm
    return (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2 <= R_MM**2


def _measure(inside: np.ndarray, voi: np.ndarray, **kwargs):
    suv = np.where(inside, SUV_IN, SUV_OUT)
    vol = Volume(suv, (H_MM, H_MM, H_MM), frame_of_reference_uid="1.2.3")
    lm = LabelMap(vol.with_array(voi.astype(np.int16), "label"), {1: "lesion_001"}, "lesion")
    df = measure(_scan(vol), lm, suv=vol.with_array(suv, "SUVbw"), activity_at_scan_bq_per_ml=vol,
                 activity_at_injection_bq_per_ml=vol, references=(), **kwargs)  # fmt: skip
    return df.set_index(["region", "metric"])["value"], df


def test_mtv_and_tlg_of_a_sphere_equal_the_analytic_values_within_voxelisation_error():
    rng = np.random.default_rng(2026)
    errors = []
    for offset in rng.random((16, 3)) - 0.5:
        inside = _sphere(offset)
        v, df = _measure(inside, inside)
        mtv, tlg = v["lesion_001", "mtv_ml"], v["lesion_001", "tlg_suv_ml"]
        assert abs(mtv - V_ML) <= SHELL_ML
        assert abs(mtv - V_ML) <= 4 * SD_ML
        assert abs(tlg - SUV_IN * V_ML) <= 4 * SUV_IN * SD_ML
        assert tlg == pytest.approx(v["lesion_001", "suv_mean"] * mtv, rel=1e-12)
        errors.append(mtv - V_ML)
    mean_err = float(np.mean(errors))
    print(f"V = {V_ML:.4f} mL; mean MTV error {mean_err * 1000:+.1f} mm³ "
          f"({100 * mean_err / V_ML:+.3f} %), max |error| {1000 * max(map(abs, errors)):.1f} mm³; "
          f"SD model {1000 * SD_ML:.0f} mm³")  # fmt: skip
    assert abs(mean_err) <= 4 * SD_ML / math.sqrt(len(errors))
    units = df[df.region_kind == "lesion"].set_index("metric")["unit"]
    assert units["mtv_ml"] == "mL" and units["tlg_suv_ml"] == "SUVbw·mL"
    assert set(LESION_METRICS) <= set(df.metric)


def test_mtv_threshold_counts_the_voxels_above_it_inside_a_larger_voi():
    inside = _sphere(np.array([0.3, -0.2, 0.1]))
    voi = ndimage.binary_dilation(inside, iterations=2)
    v_whole, _ = _measure(inside, voi)
    v_thr, _ = _measure(inside, voi, mtv_threshold_suv=2.5)
    voxel_ml = H_MM**3 / 1000
    assert v_whole["lesion_001", "mtv_ml"] == pytest.approx(voi.sum() * voxel_ml)
    assert v_thr["lesion_001", "mtv_ml"] == pytest.approx(inside.sum() * voxel_ml)
    assert v_thr["lesion_001", "tlg_suv_ml"] == pytest.approx(SUV_IN * inside.sum() * voxel_ml)
    # 41 % of SUVmax (EANM fixed threshold) selects the same voxels here.
    suv = np.where(inside, SUV_IN, SUV_OUT)
    rel = lesion_metrics(suv, voi.astype(int), 2, voxel_ml, threshold_fraction_of_max=0.41)
    assert rel.mtv_ml[1] == pytest.approx(inside.sum() * voxel_ml)
    with pytest.raises(InvalidValueError):
        lesion_metrics(
            suv, voi.astype(int), 2, voxel_ml, threshold_suv=1, threshold_fraction_of_max=0.5
        )


def _brute_sphere_mean(arr: np.ndarray, at: tuple[int, int, int], spacing) -> float:
    vals = []
    for dz, dy, dx in sphere_offsets(spacing):
        k, j, i = at[0] + dz, at[1] + dy, at[2] + dx
        if 0 <= k < arr.shape[0] and 0 <= j < arr.shape[1] and 0 <= i < arr.shape[2]:
            vals.append(arr[k, j, i])
    return float(np.mean(vals))


def test_suv_peak_percist_and_peak_at_max_are_different_named_metrics():
    spacing = (2.0, 2.0, 2.0)
    suv = np.zeros((20, 20, 20))
    les = np.zeros(suv.shape, np.int16)
    les[4:15, 4:15, 4:15] = 1
    suv[4:15, 4:15, 4:15] = 2.0
    suv[8:13, 8:13, 8:13] = 8.0  # a warm core: PERCIST's peak sits here
    hot = (4, 4, 14)
    suv[hot] = 20.0  # the hottest voxel, on a corner of the lesion
    vol = Volume(suv, spacing, frame_of_reference_uid="1.2.3")
    lm = LabelMap(vol.with_array(les, "label"), {1: "lesion_001"}, "lesion")
    df = measure(_scan(vol), lm, suv=vol.with_array(suv, "SUVbw"), activity_at_scan_bq_per_ml=vol,
                 activity_at_injection_bq_per_ml=vol, references=())  # fmt: skip
    v = df.set_index(["region", "metric"])["value"]
    at_max = _brute_sphere_mean(suv, hot, spacing)
    assert v["lesion_001", "suv_max"] == 20.0
    assert v["lesion_001", "suv_peak_at_max"] == pytest.approx(at_max, rel=1e-12)
    assert v["lesion_001", "suv_peak"] == pytest.approx(
        _brute_sphere_mean(suv, (10, 10, 10), spacing)
    )
    assert v["lesion_001", "suv_peak_at_max"] < v["lesion_001", "suv_peak"]
    # A uniform lesion: the maxima tie, the highest sphere mean among them wins → PERCIST's.
    flat = np.where(les > 0, 3.0, 0.0)
    m = lesion_metrics(flat, les, 2, 0.008, peak_map=suv_peak_map(vol.with_array(flat)))
    assert m.suv_peak_at_max[1] == pytest.approx(3.0)


def test_lesion_metric_names_are_in_the_schema_and_selectable_in_a_study():
    from immunopet.core.schema import parse_metric
    from immunopet.study.options import StatisticsOptions

    for name in LESION_METRICS:
        assert parse_metric(name) == name
    assert StatisticsOptions(metric="suv_peak_at_max").metric == "suv_peak_at_max"
