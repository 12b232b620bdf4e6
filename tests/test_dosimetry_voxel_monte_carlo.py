"""Tests of immunopet.dosimetry.voxel.monte_carlo: photon MC on the CT + local electrons.

Reference (copied; tests never read ../shared): Lanconelli N et al., "A free database of
radionuclide voxel S values for the dosimetry of nonuniform activity distributions",
Phys Med Biol 2012;57:517–533 (DOSXYZnrc, ICRU soft tissue 1.04 g/cm³), I-131 at 3 mm,
S(i, j, k) in mGy/(MBq·s), as distributed in github.com/MGHPhysicsResearch/MIRDCalculation
(commit b6449c63, MIRD/VoxelSValues/131I3mmsoft.txt). Beyond every β range (i² + j² + k²
≥ 9 voxels of 3 mm) the S value is the photon dose alone, which method "mc" transports.
Tolerance 10 %, the one the dose-kernel tests use for the same tail.
"""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.errors import InvalidValueError
from immunopet.core.volume import Volume
from immunopet.dosimetry.emission import emission_spectrum
from immunopet.dosimetry.voxel import local_deposition_dose, voxel_dose
from immunopet.dosimetry.voxel.monte_carlo import density_media, monte_carlo_dose

LANCONELLI_I131_3MM_TAIL = {(0, 0, 3): 2.04e-04, (0, 0, 5): 7.23e-05, (2, 2, 2): 1.51e-04}
J_PER_MEV = 1.602176634e-13


def _point_source(n: int, rho: float = 1.04) -> tuple[Volume, Volume]:
    tia = np.zeros((n, n, n), np.float32)
    tia[n // 2, n // 2, n // 2] = 1e6  # 1 MBq·s: the dose in mGy is S in mGy/(MBq·s)
    vol = Volume(tia, spacing_mm=(3.0, 3.0, 3.0), unit="Bq*s")
    return vol, vol.with_array(np.full(tia.shape, rho, np.float32), "g/cm3")


def _symmetric_mean(dose_mgy: np.ndarray, ijk: tuple[int, int, int]) -> float:
    c = dose_mgy.shape[0] // 2
    i, j, k = ijk
    perms = {(a, b, d) for a, b, d in [(i, j, k), (j, k, i), (k, i, j), (i, k, j), (k, j, i),
                                        (j, i, k)]}  # fmt: skip
    cells = {(sa * a, sb * b, sd * d) for a, b, d in perms for sa in (1, -1)
             for sb in (1, -1) for sd in (1, -1)}  # fmt: skip
    return float(np.mean([dose_mgy[c + z, c + y, c + x] for x, y, z in cells]))


@pytest.mark.slow
def test_i131_photon_tail_within_10_percent_of_lanconelli() -> None:
    tia, rho = _point_source(81)  # 24 cm of soft tissue: the scatter of a large medium
    result = monte_carlo_dose(tia, "I-131", density=rho, n_histories=8_000_000, seed=1)
    dose_mgy = np.asarray(result.dose.array, np.float64) * 1e3
    for ijk, ref in LANCONELLI_I131_3MM_TAIL.items():
        assert _symmetric_mean(dose_mgy, ijk) == pytest.approx(ref, rel=0.10), ijk


def test_energy_deposited_plus_escaped_is_emitted() -> None:
    """Σ D·m over the grid + the photon energy leaving it = Ã · (Δ_electron + Δ_photon)."""
    tia, rho = _point_source(21)
    result = monte_carlo_dose(tia, "Lu-177", density=rho, n_histories=200_000)
    spec = emission_spectrum("Lu-177")
    mass_kg = 1.04 * 0.027 * 1e-3  # (0.3 cm)³ at 1.04 g/cm³
    decays = 1e6
    photon_j = float(np.sum(result.photon_dose.array, dtype=np.float64)) * mass_kg
    emitted_photon_j = decays * spec.photon_energy_per_decay_mev * J_PER_MEV
    assert photon_j + result.escaped_fraction * emitted_photon_j == pytest.approx(
        emitted_photon_j, rel=1e-5
    )
    assert 0.2 < result.escaped_fraction < 1.0  # 6.3 cm of tissue: most photons leave
    electron_j = float(np.sum(result.electron_dose.array, dtype=np.float64)) * mass_kg
    assert electron_j == pytest.approx(decays * spec.electron_energy_per_decay_mev * J_PER_MEV,
                                       rel=1e-5)  # fmt: skip


def test_electrons_local_and_lung_gets_more_dose_per_energy() -> None:
    """The electron part is local deposition; in lung (ρ 0.3) a voxel's mass is smaller."""
    tia, rho = _point_source(15)
    result = monte_carlo_dose(tia, "Y-90", density=rho, n_histories=10_000)
    local = local_deposition_dose(tia, "Y-90", energy="electron", density=rho)
    np.testing.assert_allclose(result.electron_dose.array, local.array, rtol=1e-6)
    lung = rho.with_array(np.full(tia.shape, 0.3, np.float32))
    in_lung = monte_carlo_dose(tia, "Y-90", density=lung, n_histories=10_000)
    c = 7
    ratio = in_lung.electron_dose.array[c, c, c] / result.electron_dose.array[c, c, c]
    assert ratio == pytest.approx(1.04 / 0.3, rel=1e-5)
    assert density_media(np.array([0.001, 0.3, 1.0, 1.9])).tolist() == [0, 2, 1, 3]


def test_voxel_dose_method_mc_and_its_errors() -> None:
    tia, rho = _point_source(11)
    dose = voxel_dose(tia, method="mc", nuclide="I-131", density=rho, n_histories=20_000)
    assert dose.unit == "Gy" and float(dose.array.max()) > 0
    same = voxel_dose(tia, method="mc", nuclide="I-131", density=rho, n_histories=20_000)
    np.testing.assert_array_equal(dose.array, same.array)  # seeded: reproducible
    with pytest.raises(InvalidValueError, match="CT or a density"):
        voxel_dose(tia, method="mc", nuclide="I-131")
    with pytest.raises(InvalidValueError, match="n_histories"):
        monte_carlo_dose(tia, "I-131", density=rho, n_histories=0)
