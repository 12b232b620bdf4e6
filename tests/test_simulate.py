"""Tests of the digital twin (immunopet.simulate): cohort, biodistribution, imaging physics.

Reference numbers are those of the reference study (Guo et al.; see
shared/reference/reference-study.md): lesion SUVmax 7.83 ± 0.55 (HER2+, 24 h,
SEM, n = 18), 5.73 ± 0.47 (48 h), 1.75 ± 0.29 (HER2−, n = 11); 74 ± 17 MBq;
organ SUVmax ranges at 1 / 24 / 48 h.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunopet.core.nuclides import Nuclide
from immunopet.core.volume import Volume
from immunopet.simulate import build_cohort
from immunopet.simulate.biodistribution import (
    ORGAN_RANGES_I124,
    interpolate_suv,
    organ_suvs,
    standardised_sample,
)
from immunopet.simulate.imaging import (
    PetSystem,
    SphereLesion,
    form_pet_image,
    pet_grid,
    positron_range_fwhm_mm,
    recovery_coefficient_sphere,
    render_suv_map,
    system_fwhm_mm,
)
from immunopet.simulate.preclinical import micropet_table

I124 = Nuclide.from_name("124I")
F18 = Nuclide.from_name("18F")


# --- cohort --------------------------------------------------------------------------------
def test_cohort_is_reproducible_by_seed() -> None:
    a, b, c = build_cohort(3), build_cohort(3), build_cohort(4)
    assert a == b
    assert a != c


def test_cohort_has_the_29_analysed_lesions_of_table_1() -> None:
    cohort = build_cohort(0)
    lesions = cohort.analysed_lesions
    pos = [les for _, les in lesions if les.her2_positive]
    neg = [les for _, les in lesions if not les.her2_positive]
    assert (len(pos), len(neg)) == (18, 11)
    per_subject = {s.subject_id: sum(les.analysed for les in s.lesions) for s in cohort.subjects}
    assert per_subject == {"P01": 16, "P02": 3, "P03": 2, "P04": 3, "P05": 1, "P06": 4}
    sites_p1 = sorted(les.site for les in cohort.subjects[0].lesions)
    assert sites_p1.count("spine") == 7 and sites_p1.count("iliac_pubic") == 4
    assert all(les.diameter_mm >= 10.0 for _, les in lesions)
    assert cohort.subjects[1].scan_times_h[-1] == pytest.approx(96.0, abs=1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lesion_targets_reproduce_the_published_sample_statistics(seed: int) -> None:
    lesions = build_cohort(seed).analysed_lesions
    pos24 = np.array([les.target_suvmax_i124[24.0] for _, les in lesions if les.her2_positive])
    pos48 = np.array([les.target_suvmax_i124[48.0] for _, les in lesions if les.her2_positive])
    neg24 = np.array([les.target_suvmax_i124[24.0] for _, les in lesions if not les.her2_positive])
    sem = lambda v: v.std(ddof=1) / np.sqrt(v.size)  # noqa: E731
    assert pos24.mean() == pytest.approx(7.83, abs=0.01) and sem(pos24) == pytest.approx(
        0.55, abs=0.01
    )
    assert pos48.mean() == pytest.approx(5.73, abs=0.01) and sem(pos48) == pytest.approx(
        0.47, abs=0.01
    )
    assert neg24.mean() == pytest.approx(1.75, abs=0.01) and sem(neg24) == pytest.approx(
        0.29, abs=0.01
    )
    # SUVmax 4.0 cutoff at 24 h: 17/18 = 94.4 % sensitivity, 100 % specificity (paper).
    assert (pos24 >= 4.0).sum() == 17 and (neg24 < 4.0).all()
    fdg = np.array([les.target_suvmax_fdg for _, les in lesions])
    assert (fdg > 4.0).all()


def test_cohort_scales_by_resampling_templates() -> None:
    cohort = build_cohort(0, n_subjects=10)
    assert len(cohort.subjects) == 10
    assert [s.subject_id for s in cohort.subjects[:6]] == [f"P0{k}" for k in range(1, 7)]
    assert all(1 <= s.template <= 6 for s in cohort.subjects)
    acts = np.array([s.injected_activity_bq for s in build_cohort(0).subjects]) / 1e6
    assert acts.mean() == pytest.approx(74.0, abs=0.1) and acts.std(ddof=1) == pytest.approx(
        17.0, abs=0.1
    )


@given(st.integers(3, 30), st.floats(1.0, 10.0), st.floats(0.2, 3.0))
@settings(max_examples=30, deadline=None)
def test_standardised_sample_hits_mean_and_sd(n: int, mean: float, sd: float) -> None:
    v = standardised_sample(np.random.default_rng(n), n, mean=mean, sd=sd, low=-1e9, high=1e9)
    assert v.mean() == pytest.approx(mean, abs=1e-6)
    assert v.std(ddof=1) == pytest.approx(sd, rel=1e-6)


# --- biodistribution ----------------------------------------------------------------------
def test_interpolation_is_log_linear_and_never_grows_after_the_last_point() -> None:
    mid = interpolate_suv([24.0, 48.0], [8.0, 2.0], 36.0)[0]
    assert mid == pytest.approx(4.0)  # geometric mean
    late = interpolate_suv([1.0, 24.0, 48.0], [1.0, 4.0, 6.0], [72.0, 96.0])
    assert np.allclose(late, 6.0)  # rising organ: held, effective half-life ≤ physical


def test_organ_suvs_lie_in_the_published_ranges_and_follow_the_cold_dose() -> None:
    cohort = build_cohort(0)
    names = list(ORGAN_RANGES_I124)
    liver24 = {}
    for s in cohort.subjects:
        for k, t in enumerate((1.0, 24.0, 48.0)):
            suv = organ_suvs(
                names,
                tracer="124I-trastuzumab",
                time_h=t,
                quantiles=s.organ_quantiles,
                liver_condition=s.liver_condition,
                thyroid_escape=s.thyroid_escape_suv,
            )
            for organ in ("blood", "kidneys", "urinary_bladder_contents", "spleen"):
                lo, hi = ORGAN_RANGES_I124[organ][k]
                assert lo <= suv[organ] <= hi, (s.subject_id, organ, t)
            if s.subject_id != "P06":
                lo, hi = ORGAN_RANGES_I124["liver"][k]
                assert lo - 1e-9 <= suv["liver"] <= max(hi, 7.4) + 1e-9
                lo, hi = ORGAN_RANGES_I124["thyroid"][k]
                assert lo <= suv["thyroid"] <= hi
            if t == 24.0:
                liver24[s.subject_id] = suv["liver"]
            if s.subject_id == "P06" and t > 1:
                assert suv["thyroid"] == pytest.approx(64.5 if t == 24 else 76.1)
    # Discussion: 2.6, 2.9, 4.2, 4.4 (10 mg), 9.9 (naive, 5 mg), 5.4 (on therapy, 5 mg).
    assert [round(liver24[k], 1) for k in ("P02", "P03", "P04", "P05")] == [2.6, 2.9, 4.2, 4.4]
    assert liver24["P06"] == pytest.approx(9.9) and liver24["P01"] == pytest.approx(5.4)


# --- imaging physics ----------------------------------------------------------------------
def test_positron_range_makes_124I_blurrier_than_18F() -> None:
    system = PetSystem()
    assert positron_range_fwhm_mm(I124) > 5 * positron_range_fwhm_mm(F18)
    assert system_fwhm_mm(F18, system) == pytest.approx(5.04, abs=0.01)
    assert system_fwhm_mm(I124, system) == pytest.approx(6.04, abs=0.01)


def test_analytic_recovery_coefficient_is_monotone_and_tends_to_one() -> None:
    d = np.linspace(2.0, 150.0, 100)
    rc = recovery_coefficient_sphere(d, 6.0, 4.0)
    assert np.all(np.diff(rc) >= 0) and np.all(np.diff(rc[:20]) > 0)
    assert rc[-1] == pytest.approx(1.0, abs=1e-6)
    assert recovery_coefficient_sphere(2.0, 6.0, 4.0) < 0.05


def _uniform_phantom(size_mm: float = 160.0, voxel_mm: float = 2.0) -> Volume:
    n = int(size_mm / voxel_mm)
    return Volume(
        np.ones((n, n, n), dtype=np.int16),
        spacing_mm=(voxel_mm,) * 3,
        origin_mm=(-size_mm / 2 + voxel_mm / 2,) * 3,
        unit="label",
    )


def test_recovery_coefficient_of_simulated_spheres_matches_the_model() -> None:
    """Noiseless hot spheres in a cold background, 124I, 5 mm scanner, 4 mm voxels.

    Measured SUVmax / true SUV vs diameter: monotone, → 1 for large spheres,
    below, and within 0.15 of, the analytic centre-value RC.
    """
    labels = _uniform_phantom()
    system = PetSystem()
    grid = pet_grid(labels, system.voxel_mm)
    fwhm = system_fwhm_mm(I124, system)
    measured = []
    diameters = (10.0, 15.0, 20.0, 30.0, 40.0, 60.0)
    for d in diameters:
        suv_map = render_suv_map(labels, {1: 0.0}, [SphereLesion((1.0, -1.0, 0.5), d, 10.0)])
        img = form_pet_image(
            suv_map,
            grid,
            nuclide=I124,
            injected_activity_bq=70e6,
            weight_kg=70.0,
            time_h=0.0,
            system=system,
            rng=None,
        )
        measured.append(float(np.max(img.array)) / (10.0 * 70e6 / 70e3))
    model = recovery_coefficient_sphere(np.array(diameters), fwhm, system.voxel_mm)
    print(f"\nRC 124I (FWHM {fwhm:.2f} mm, 4 mm voxels): d_mm, measured, model")
    for d, m, a in zip(diameters, measured, model, strict=True):
        print(f"  {d:5.1f} {m:.3f} {a:.3f}")
    assert np.all(np.diff(measured) >= 0) and measured[0] < measured[1] < measured[2]
    assert measured[-1] == pytest.approx(1.0, abs=0.03)
    # The centre-value model is an upper bound (sampling off-centre only lowers the max) and
    # within 0.15 of the voxelised result; the trial therefore calibrates each lesion on a
    # noiseless image (tests/test_simulate_trial.py checks the result).
    assert np.all(np.asarray(measured) <= model + 0.02)
    assert np.allclose(measured, model, atol=0.15)


def test_noise_grows_with_time_and_with_fewer_positrons() -> None:
    labels = _uniform_phantom(120.0, 4.0)
    system = PetSystem(frame_s_per_bed={"F-18": 300.0, "I-124": 300.0})
    grid = pet_grid(labels, system.voxel_mm)
    suv_map = render_suv_map(labels, {1: 3.0})

    def cov(nuclide: Nuclide, time_h: float) -> float:
        img = form_pet_image(
            suv_map,
            grid,
            nuclide=nuclide,
            injected_activity_bq=74e6,
            weight_kg=70.0,
            time_h=time_h,
            system=system,
            rng=np.random.default_rng(0),
        )
        core = np.asarray(img.array)[8:-8, 8:-8, 8:-8]
        return float(core.std() / core.mean())

    c24, c48 = cov(I124, 24.0), cov(I124, 48.0)
    # variance ∝ 1/counts: the COV ratio is the square root of the decay ratio over 24 h
    assert c48 / c24 == pytest.approx(
        np.sqrt(1.0 / float(I124.decay_factor(24 * 3600.0))), rel=0.05
    )
    assert cov(I124, 1.0) > 1.8 * cov(F18, 0.0)  # positron yield 0.228 vs 0.967 (ICRP-107)


def test_decay_scales_the_image_with_the_real_half_life() -> None:
    labels = _uniform_phantom(80.0, 4.0)
    system = PetSystem()
    grid = pet_grid(labels, system.voxel_mm)
    suv_map = render_suv_map(labels, {1: 2.0})
    imgs = [
        form_pet_image(
            suv_map,
            grid,
            nuclide=I124,
            injected_activity_bq=74e6,
            weight_kg=70.0,
            time_h=t,
            system=system,
        )
        for t in (1.0, 48.0)
    ]
    ratio = float(np.asarray(imgs[1].array)[10, 10, 10] / np.asarray(imgs[0].array)[10, 10, 10])
    assert ratio == pytest.approx(0.5 ** (47.0 / I124.half_life("h")), rel=1e-5)
    assert float(np.asarray(imgs[0].array)[10, 10, 10]) == pytest.approx(
        2.0 * 74e6 / 70e3 * float(I124.decay_factor(3600.0)), rel=1e-4
    )


# --- micro-PET ------------------------------------------------------------------------------
def test_micropet_table_matches_the_published_24h_values() -> None:
    df = micropet_table(0)
    assert df.animal.nunique() == 15 and sorted(df.time_h.unique()) == [2.0, 24.0, 48.0, 72.0, 96.0]
    at24 = df[df.time_h == 24.0]
    for group, (mean, sd), (rmean, rsd) in (
        ("trastuzumab_her2pos", (11.91, 1.08), (9.13, 2.52)),
        ("higg1_her2pos", (3.83, 0.09), (3.49, 0.31)),
        ("trastuzumab_her2neg", (5.05, 0.17), (2.73, 0.30)),
    ):
        t = at24[(at24.group == group) & (at24.region == "tumour")].percent_id_per_g
        r = at24[(at24.group == group) & (at24.region == "tumour_to_muscle")].ratio
        assert t.mean() == pytest.approx(mean, abs=0.01) and t.std() == pytest.approx(sd, abs=0.01)
        assert r.mean() == pytest.approx(rmean, abs=0.01) and r.std() == pytest.approx(
            rsd, abs=0.01
        )
