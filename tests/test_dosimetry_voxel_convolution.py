"""Voxel dose by FFT convolution, local deposition and density scaling (dosimetry.voxel)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.signal

from immunopet.core.errors import GeometryError, ImmunopetError, InvalidValueError
from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import (
    ArrayKernel,
    clear_kernel_cache,
    convolve_linear,
    hu_to_density,
    voxel_dose,
)
from immunopet.dosimetry.voxel.convolution import kernel_cache_info

SPACING = (4.0, 4.0, 4.0)


def _offsets(half: int) -> np.ndarray:
    z = np.arange(-half, half + 1)
    return z[:, None, None] ** 2 + z[None, :, None] ** 2 + z[None, None, :] ** 2


def gaussian_kernel(half: int = 5, sigma: float = 1.5) -> np.ndarray:
    return np.exp(-_offsets(half) / (2 * sigma**2)).astype(np.float32)


def ball_kernel(radius: int, value: float = 1.0) -> np.ndarray:
    return np.where(_offsets(radius) <= radius**2, value, 0.0).astype(np.float32)


def test_delta_source_gives_the_kernel():
    k = gaussian_kernel(4) * np.float32(0.2)  # mGy/(MBq·s)
    tia = np.zeros((20, 21, 22), dtype=np.float32)
    tia[10, 9, 12] = 3.0  # MBq·s
    dose = voxel_dose(Volume(tia, SPACING, unit="MBq*s"), ArrayKernel(k, SPACING))
    expected = np.zeros_like(tia)
    expected[6:15, 5:14, 8:17] = 3.0 * k * 1e-3  # Gy
    assert dose.unit == "Gy"
    np.testing.assert_allclose(dose.array, expected, rtol=0, atol=1e-6 * expected.max())


def test_linear_not_circular_no_wraparound():
    # A source in a corner: a circular convolution would put dose in the opposite corners.
    k = ball_kernel(6)
    tia = np.zeros((16, 18, 20), dtype=np.float32)
    tia[0, 0, 0] = 1.0
    out = convolve_linear(tia, k, workers=1)
    assert out[0, 0, 0] == pytest.approx(1.0, rel=1e-5)
    far = np.zeros(out.shape, dtype=bool)
    far[7:, :, :] = True
    far[:, 7:, :] = True
    far[:, :, 7:] = True
    assert np.abs(out[far]).max() < 1e-6
    # and what does land is exactly the ball's octant
    np.testing.assert_allclose(out[:7, :7, :7], k[6:, 6:, 6:], atol=1e-6)


def test_float32_matches_float64_fftconvolve():
    rng = np.random.default_rng(1)
    tia = rng.gamma(2.0, 1.0, (33, 40, 37)).astype(np.float32)
    k = gaussian_kernel(7, 2.0)
    ref = scipy.signal.fftconvolve(tia.astype(np.float64), k.astype(np.float64), mode="same")
    out = convolve_linear(tia, k, workers=1)
    assert out.dtype == np.float32
    assert np.abs(out - ref).max() / ref.max() < 1e-5


@pytest.mark.parametrize("budget", [None, 300_000])
def test_asymmetric_kernel_and_slabs_match_fftconvolve(budget):
    rng = np.random.default_rng(2)
    tia = rng.random((29, 17, 23)).astype(np.float32)
    k = rng.random((9, 5, 7)).astype(np.float32)  # not point-symmetric: complex spectrum
    ref = scipy.signal.fftconvolve(tia.astype(np.float64), k.astype(np.float64), mode="same")
    out = convolve_linear(tia, k, workers=1, max_block_bytes=budget)
    assert np.abs(out - ref).max() / ref.max() < 1e-5


def test_kernel_larger_than_the_map():
    rng = np.random.default_rng(3)
    tia = rng.random((5, 6, 7)).astype(np.float32)
    k = gaussian_kernel(6, 3.0)
    ref = scipy.signal.fftconvolve(tia.astype(np.float64), k.astype(np.float64), mode="same")
    np.testing.assert_allclose(convolve_linear(tia, k, workers=1), ref, rtol=1e-5)


def test_half_space_source_with_a_ball_kernel_is_analytic():
    # Uniform TIA a in z < 20 convolved with a ball of radius R and value v: a voxel at
    # depth index z sees a·v·(number of ball voxels whose offset dz ≤ 19 − z).
    r, a, v = 5, 2.0, 0.5
    tia = np.zeros((40, 30, 30), dtype=np.float32)
    tia[:20] = a
    out = convolve_linear(tia, ball_kernel(r, v), workers=1)
    per_dz = ball_kernel(r, 1.0).sum(axis=(1, 2))  # voxels of the ball per offset −R … R
    top = float(a * v * per_dz.sum())
    for z in range(12, 28):
        # source voxels at z' = z − dz with z' ≤ 19 ⇔ dz ≥ z − 19
        count = per_dz[max(0, z - 19 + r) :].sum()
        assert out[z, 15, 15] == pytest.approx(a * v * count, rel=1e-5, abs=1e-6 * top)


def test_kernel_transforms_are_cached():
    clear_kernel_cache()
    tia = np.ones((10, 12, 14), dtype=np.float32)
    k = gaussian_kernel(3)
    convolve_linear(tia, k, workers=1)
    convolve_linear(tia * 2, k.copy(), workers=1)
    info = kernel_cache_info()
    assert info["misses"] == 1 and info["hits"] == 1 and info["entries"] == 1


def test_kernel_voxel_size_must_match():
    tia = Volume(np.ones((5, 5, 5), np.float32), SPACING, unit="Bq*s")
    with pytest.raises(GeometryError, match="voxel size"):
        voxel_dose(tia, ArrayKernel(gaussian_kernel(2), (3.0, 3.0, 3.0)))
    with pytest.raises(InvalidValueError, match="odd"):
        ArrayKernel(np.ones((4, 5, 5)), SPACING)
    with pytest.raises(InvalidValueError, match="kernel"):
        voxel_dose(tia, None, method="dvk")


def test_tia_unit_is_required():
    tia = Volume(np.ones((3, 3, 3), np.float32), SPACING, unit="BQML")
    with pytest.raises(ImmunopetError, match="TIA map"):
        voxel_dose(tia, ArrayKernel(gaussian_kernel(1), SPACING))


@pytest.mark.skipif(
    importlib.util.find_spec("immunopet.dosimetry.kernels") is not None,
    reason="the kernel module is installed",
)
def test_dvk_without_kernel_module_is_a_clear_error():
    from immunopet.dosimetry.voxel import kernel_for

    with pytest.raises(ImmunopetError, match="local"):
        kernel_for("I-131", SPACING, "soft_tissue")


# ICRP-107 energy emitted per decay of I-131 (MeV): electrons 0.192, photons 0.383 — the
# project's PHYSICS-DATA note, from icrp107-database; tolerance 0.3 % (3 digits given).
I131_ELECTRON_MEV, I131_PHOTON_MEV = 0.192, 0.383
J_PER_MEV = 1.602176634e-13


@pytest.mark.parametrize(
    ("energy", "mev"),
    [("electron", I131_ELECTRON_MEV), ("total", I131_ELECTRON_MEV + I131_PHOTON_MEV)],
)
def test_local_deposition_is_tia_times_delta_over_mass(energy, mev):
    tia = np.zeros((4, 4, 4), np.float32)
    tia[1, 2, 3] = 1e9  # Bq·s
    vol = Volume(tia, (4.8, 4.8, 4.8), unit="Bq*s")
    dose = voxel_dose(vol, method="local", nuclide="I-131", energy=energy)
    mass_kg = 0.48**3 * 1e-3  # 1 g/cm³
    assert float(dose.array[1, 2, 3]) == pytest.approx(1e9 * mev * J_PER_MEV / mass_kg, rel=3e-3)
    assert float(dose.array.sum()) == pytest.approx(float(dose.array[1, 2, 3]))


def test_local_deposition_needs_a_nuclide():
    vol = Volume(np.ones((2, 2, 2), np.float32), SPACING, unit="Bq*s")
    with pytest.raises(InvalidValueError, match="nuclide"):
        voxel_dose(vol, method="local")
    with pytest.raises(InvalidValueError, match="method"):
        voxel_dose(vol, method="monte-carlo", nuclide="I-131")


def test_density_scaled_kernel_divides_by_local_density():
    rng = np.random.default_rng(4)
    tia = Volume(rng.random((12, 12, 12)).astype(np.float32), SPACING, unit="MBq*s")
    kern = ArrayKernel(gaussian_kernel(2), SPACING, medium="water")
    plain = voxel_dose(tia, kern)
    rho = np.full(tia.shape, 0.25, np.float32)
    rho[:, :, 6:] = 1.9
    rho[0] = 0.001  # air
    scaled = voxel_dose(tia, kern, method="dvk-density", density=tia.with_array(rho, "g/cm3"))
    expected = np.where(rho >= 0.01, plain.array / rho, 0.0)
    np.testing.assert_allclose(scaled.array, expected, rtol=1e-6)
    with pytest.raises(InvalidValueError, match="CT"):
        voxel_dose(tia, kern, method="dvk-density")


def test_schneider_calibration_nodes():
    # Schneider et al. 2000 nodes (GATE Schneider2000DensitiesTable): −1000 HU → 0.00121,
    # 1600 HU → 1.9642 g/cm³; the soft-tissue/bone step at 100/101 HU.
    rho = hu_to_density(np.array([-1000.0, -98.0, 100.0, 101.0, 1600.0, -2000.0]))
    np.testing.assert_allclose(rho, [0.00121, 0.93, 1.1199, 1.0762, 1.9642, 0.00121], rtol=1e-6)
    # above the last node the skeletal line goes on
    slope = (1.9642 - 1.0762) / (1600 - 101)
    assert hu_to_density(np.array([2000.0]))[0] == pytest.approx(1.9642 + 400 * slope, rel=1e-6)
    ct = Volume(np.full((3, 3, 3), -1000.0, np.float32), SPACING, unit="HU")
    tia = Volume(np.ones((3, 3, 3), np.float32), SPACING, unit="MBq*s")
    dose = voxel_dose(tia, ArrayKernel(gaussian_kernel(1), SPACING), method="dvk-density", ct=ct)
    assert float(np.abs(dose.array).max()) == 0.0  # air: no tissue, no dose


def test_any_object_with_the_kernel_attributes_is_a_kernel():
    from types import SimpleNamespace

    k = gaussian_kernel(2)
    duck = SimpleNamespace(array_mgy_per_mbq_s=k, voxel_mm=SPACING, medium="bone", nuclide="")
    tia = Volume(np.random.default_rng(7).random((9, 9, 9)).astype(np.float32), SPACING,
                 unit="MBq*s")  # fmt: skip
    a = voxel_dose(tia, duck)
    b = voxel_dose(tia, ArrayKernel(k, SPACING))
    np.testing.assert_array_equal(a.array, b.array)
    # dose is linear in the TIA, and Bq·h = 3600 Bq·s
    hours = tia.with_array(tia.array * np.float32(1e6 / 3600.0), unit="Bq*h")
    np.testing.assert_allclose(voxel_dose(hours, duck).array, a.array, rtol=1e-5)
    # dvk-density: bone kernel medium density (ICRU-44 cortical bone 1.92 g/cm³) over unit density
    rho = tia.with_array(np.ones(tia.shape, np.float32), "g/cm3")
    c = voxel_dose(tia, duck, method="dvk-density", density=rho)
    np.testing.assert_allclose(c.array, a.array * 1.92, rtol=1e-6)


def test_ct_on_another_grid_is_resampled_for_local_deposition():
    tia = Volume(np.full((6, 6, 6), 1e9, np.float32), SPACING, unit="Bq*s")
    # a CT at half the voxel size covering the same region, all 101 HU (Schneider: 1.0762)
    ct = Volume(np.full((12, 12, 12), 101.0, np.float32), (2.0, 2.0, 2.0),
                origin_mm=(-1.0, -1.0, -1.0), unit="HU")  # fmt: skip
    unit_density = voxel_dose(tia, method="local", nuclide="Lu-177", energy="electron")
    with_ct = voxel_dose(tia, method="local", nuclide="Lu-177", energy="electron", ct=ct)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(with_ct.array[inner], unit_density.array[inner] / 1.0762, rtol=1e-4)


def test_uniform_source_larger_than_a_physics_kernel_gets_its_whole_integral():
    # With the kernels of dosimetry.kernels (merged from the kernels branch): inside a
    # uniform source wider than the kernel, D = Ã · Σ K = (1 − escaped) · Δ / (ρ V).
    kernels = pytest.importorskip("immunopet.dosimetry.kernels")
    from immunopet.dosimetry.emission import emission_spectrum

    k = kernels.dose_voxel_kernel("I-131", 4.0, "soft_tissue")
    n = k.array_mgy_per_mbq_s.shape[0] + 6
    tia = Volume(np.full((n, n, n), 1e6, np.float32), SPACING, unit="Bq*s")
    centre = float(voxel_dose(tia, k).array[n // 2, n // 2, n // 2])
    delta_j = emission_spectrum("I-131").total_energy_per_decay_mev * 1.602176634e-13
    mass_kg = 1.04 * 0.4**3 * 1e-3  # ICRU soft tissue of the kernels, 1.04 g/cm³
    expected = 1e6 * delta_j / mass_kg * (1 - k.escaped_energy_fraction)
    assert centre == pytest.approx(expected, rel=1e-4)
