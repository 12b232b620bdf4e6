"""The digital mouse and the micro-PET arm written as images (simulate.mouse, simulate.micropet_arm)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from immunopet.core.errors import PhysicsError
from immunopet.core.nuclides import Nuclide
from immunopet.io import load_scan
from immunopet.measure.preclinical import AnimalVois, measure_animal_image
from immunopet.simulate.micropet_arm import simulate_micropet_arm
from immunopet.simulate.mouse import (
    Blurrer,
    MicroPetSystem,
    blur,
    micropet_kernel,
    mouse_anatomy,
)
from immunopet.study import Study

I124 = Nuclide.from_name("I-124")
F18 = Nuclide.from_name("F-18")
#: Mean positron range in water, Conti & Eriksson, EJNMMI Phys 3:8 (2016), Table 1.
R_MEAN_I124_MM = 3.4


def _kernel_mean_distance_mm(kernel: np.ndarray, voxel_mm: float) -> float:
    half = kernel.shape[0] // 2
    g = np.arange(-half, half + 1) * voxel_mm
    z, y, x = np.meshgrid(g, g, g, indexing="ij")
    return float(np.sum(kernel * np.sqrt(x**2 + y**2 + z**2)))


def test_kernel_is_normalised_symmetric_and_keeps_the_mean_positron_range() -> None:
    # A negligible scanner blur and a 0.4 mm grid: the kernel's mean displacement is the
    # positron range's R_mean, less the 2.9 % tail cut at 12 mm and the centre voxel's
    # sub-voxel distances. Tolerance chosen before computing: 15 %.
    system = MicroPetSystem(scanner_fwhm_mm=0.05, voxel_mm=0.4)
    k = micropet_kernel(I124, system)
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(k, k[::-1, ::-1, ::-1], atol=1e-7)
    np.testing.assert_allclose(k, np.transpose(k, (2, 1, 0)), atol=1e-7)
    assert _kernel_mean_distance_mm(k, 0.4) == pytest.approx(R_MEAN_I124_MM, rel=0.15)
    f18 = micropet_kernel(F18, system)
    assert _kernel_mean_distance_mm(f18, 0.4) < 0.3 * _kernel_mean_distance_mm(k, 0.4)


def test_blurrer_is_scipys_linear_convolution_and_keeps_counts() -> None:
    from scipy import signal

    rng = np.random.default_rng(0)
    a = rng.random((20, 17, 23)).astype(np.float32)
    a[0] = a[-1] = 0.0
    k = micropet_kernel(I124, MicroPetSystem(voxel_mm=2.0))
    ref = np.maximum(signal.fftconvolve(a, k, mode="same"), 0.0)
    np.testing.assert_allclose(Blurrer(k, a.shape)(a), ref, atol=1e-5)
    centre = np.zeros((41, 41, 41), np.float32)
    centre[20, 20, 20] = 1.0
    assert blur(centre, k).sum() == pytest.approx(1.0, rel=1e-4)  # kernel fits: nothing lost


def test_mouse_body_weighs_its_weight_and_the_tumour_its_sphere() -> None:
    anat = mouse_anatomy(25.0, 6.0, voxel_mm=0.8)
    voxel_ml = anat.grid.voxel_volume_ml
    total_ml = sum(float(w.sum()) for w in anat.weights.values()) * voxel_ml
    tumour_ml = float(anat.weights["tumour"].sum()) * voxel_ml
    sphere_ml = math.pi / 6 * 0.6**3
    # Body 25 g at 1 g/mL plus the part of the tumour outside the body surface (< its volume).
    assert 25.0 * 0.97 < total_ml < 25.0 * 1.03 + sphere_ml
    assert tumour_ml == pytest.approx(sphere_ml, rel=0.05)
    assert anat.tumour_centre_mm[0] < 0 < anat.muscle_centre_mm[0]  # right flank vs left
    with pytest.raises(PhysicsError):
        mouse_anatomy(80.0, 6.0)


def _noiseless(anat, pct: dict[str, float], kernel, activity_bq: float):
    img = sum(pct[r] * blur(anat.weights[r], kernel) for r in pct)
    return anat.grid.with_array(img * activity_bq / 100.0, "BQML")  # Bq/mL at injection


def test_recovery_of_a_mouse_tumour_under_the_124i_kernel() -> None:
    """A phantom of known uptake reads its %ID/g times the recovery coefficient.

    Stated before computing: a 6.5 mm tumour imaged with 124I keeps 0.35–0.65 of
    its true %ID/g in the 50 %-of-maximum VOI (positron range R_mean 3.4 mm is
    comparable to its 3.25 mm radius), and more than 0.7 with 18F. The recovery
    is a property of the geometry: a second uptake gives the same RC within 5 %.
    """
    system = MicroPetSystem()
    anat = mouse_anatomy(25.0, 6.5, voxel_mm=system.voxel_mm)
    vois = AnimalVois(tumour_seed_mm=anat.tumour_centre_mm, muscle_centre_mm=anat.muscle_centre_mm)
    activity = 14.8e6
    rcs = {}
    for nuclide, tumour in ((I124, 20.0), (I124, 8.0), (F18, 20.0)):
        pct = {r: 0.0 for r in anat.weights} | {"muscle": 1.0, "tumour": tumour}
        image = _noiseless(anat, pct, micropet_kernel(nuclide, system), activity)
        rows = measure_animal_image(image, activity, vois)
        got = {(r["region"], r["metric"]): r["value"] for r in rows}
        rcs[(nuclide.name, tumour)] = got[("tumour", "percent_id_per_g")] / tumour
        # The muscle sphere sits 6 mm under the skin: the 124I range tail spills ~6 % out.
        assert got[("muscle", "percent_id_per_g")] == pytest.approx(1.0, rel=0.10)
    assert 0.35 < rcs[("I-124", 20.0)] < 0.65
    assert rcs[("I-124", 8.0)] == pytest.approx(rcs[("I-124", 20.0)], rel=0.05)
    assert rcs[("F-18", 20.0)] > 0.7


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("micropet")
    return out, simulate_micropet_arm(out / "preclinical", seed=3, rel_to=out, n_per_group=2)


def test_arm_writes_readable_images_with_each_animals_activity_weight_and_times(arm) -> None:
    out, result = arm
    animals = result.study_section["animals"]
    assert len(animals) == 6 and all(len(a["images"]) == 5 for a in animals)
    a = animals[0]
    scan = load_scan(out / a["images"]["24h"])
    acq = scan.acquisition
    assert acq.injected_activity_bq == pytest.approx(a["injected_activity_mbq"] * 1e6, rel=1e-4)
    assert acq.patient_weight_kg * 1000 == pytest.approx(a["weight_g"], abs=0.01)
    assert acq.time_post_injection_h == pytest.approx(24.0)
    assert acq.nuclide.name == "I-124" and acq.decay_correction == "START"
    assert acq.tracer == "124I-trastuzumab"
    assert max(scan.pet.spacing_mm) <= 0.8 + 1e-6 and scan.pet.array.size < 400_000
    # Draws are random, not forced to the published statistics: two animals differ.
    truth = result.truth
    t24 = truth[(truth.region == "tumour") & (truth.time_h == 24.0)]
    assert t24["target_percent_id_per_g"].nunique() == len(t24)
    # The section is a valid study-file arm.
    study = Study.model_validate(
        {"name": "x", "subjects": [{"id": "S", "scans": []}], "preclinical": result.study_section}
    )
    assert study.preclinical is not None and study.preclinical.animals[0].tumour_seed_mm


def test_arm_images_hold_the_drawn_uptake_decayed_to_scan_time(arm) -> None:
    """The liver sphere reads the drawn (target) %ID/g, decayed to 96 h by 124I (ICRP-107 4.176 d).

    The twin sets the true liver above the target so that this 4 mm reader's sphere,
    blurred by the 124I range, reads the target (module docstring of micropet_arm).
    """
    out, result = arm
    a = result.study_section["animals"][0]
    scan = load_scan(out / a["images"]["96h"])
    truth = result.truth
    liver = truth[(truth.animal == a["id"]) & (truth.time_h == 96.0) & (truth.region == "liver")]
    expected_bq_ml = (
        liver.target_percent_id_per_g.iloc[0] / 100 * a["injected_activity_mbq"] * 1e6
        * 2 ** (-96.0 / (4.176 * 24))
    )  # fmt: skip
    from immunopet.measure.preclinical import sphere_voi

    mask = sphere_voi(scan.pet, a["liver_centre_mm"], 4.0)
    # Noise (≈ 20 % per voxel at 96 h over ~60 voxels) and spill-in: 15 %.
    assert float(np.asarray(scan.pet.array)[mask].mean()) == pytest.approx(expected_bq_ml, rel=0.15)
