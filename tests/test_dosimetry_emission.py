"""Tests of immunopet.dosimetry.emission: ICRP-107 spectra split for transport."""

from __future__ import annotations

import numpy as np
import pytest

import immunopet.dosimetry.emission as emission_mod
from immunopet.core.errors import UnknownNuclideError
from immunopet.core.nuclides import Emission, emissions
from immunopet.dosimetry.emission import ELECTRON_MASS_MEV, emission_spectrum


@pytest.mark.parametrize(
    ("nuclide", "electron_mev", "photon_mev"),
    # Energy per decay from ICRP Publication 107 (Eckerman & Endo 2008), as summarised in
    # shared/design/PHYSICS-DATA.md (electrons / photons, MeV).
    [
        ("F-18", 0.242, 0.989),
        ("Cu-64", 0.125, 0.186),
        ("Zr-89", 0.102, 1.158),
        ("I-124", 0.194, 1.113),
        ("Ga-68", 0.738, 0.949),
        ("Lu-177", 0.148, 0.035),
        ("I-131", 0.192, 0.383),
    ],
)
def test_energy_per_decay_matches_icrp107(nuclide, electron_mev, photon_mev):
    s = emission_spectrum(nuclide)
    assert s.electron_energy_per_decay_mev == pytest.approx(electron_mev, abs=1.5e-3)
    assert s.photon_energy_per_decay_mev == pytest.approx(photon_mev, abs=1.5e-3)
    assert s.total_energy_per_decay_mev == pytest.approx(electron_mev + photon_mev, abs=3e-3)


def test_f18_photons_are_two_annihilation_quanta_per_positron():
    s = emission_spectrum("18F")
    beta_plus_yield = emissions("F-18")["beta+"].yield_per_decay.sum()
    assert s.nuclide == "F-18"
    np.testing.assert_allclose(s.photon_energy_mev, [0.511], atol=1e-3)
    assert s.photons_per_decay == pytest.approx(2 * beta_plus_yield, rel=1e-4)


def test_lu177_208_kev_line():
    # ICRP-107 Lu-177 record: 208.4 keV gamma, yield 0.110 per decay; 112.9 keV, 0.064.
    s = emission_spectrum("Lu-177")
    k = np.argmin(np.abs(s.photon_energy_mev - 0.2084))
    assert s.photon_yield[k] == pytest.approx(0.110, rel=0.01)
    assert np.all(np.diff(s.photon_energy_mev) >= 0)


def test_annihilation_added_when_record_lacks_it(monkeypatch):
    fake = {
        "beta+": Emission("beta+", np.array([0.25]), np.array([0.6])),
        "gamma": Emission("gamma", np.array([1.0]), np.array([0.5])),
    }
    monkeypatch.setattr(emission_mod, "emissions", lambda name: fake)
    emission_mod._spectrum_cached.cache_clear()
    try:
        s = emission_spectrum("Na-22")
    finally:
        emission_mod._spectrum_cached.cache_clear()
    np.testing.assert_allclose(s.photon_energy_mev, [ELECTRON_MASS_MEV, 1.0])
    np.testing.assert_allclose(s.photon_yield, [1.2, 0.5])
    assert s.electron_energy_per_decay_mev == pytest.approx(0.15)


def test_min_yield_drops_weak_lines_but_keeps_electrons():
    full = emission_spectrum("I-124", min_yield=0.0)
    strong = emission_spectrum("I-124", min_yield=0.01)
    assert strong.photon_yield.size < full.photon_yield.size
    assert strong.photon_yield.min() >= 0.01
    assert strong.electron_energy_per_decay_mev == full.electron_energy_per_decay_mev


def test_progeny_ge68_includes_ga68():
    parent = emission_spectrum("Ge-68")
    chain = emission_spectrum("Ge-68", include_progeny=True)
    daughter = emission_spectrum("Ga-68")
    assert chain.progeny == ("Ga-68",)
    assert chain.electron_energy_per_decay_mev == pytest.approx(
        parent.electron_energy_per_decay_mev + daughter.electron_energy_per_decay_mev, rel=1e-9
    )
    assert chain.photon_energy_per_decay_mev == pytest.approx(
        parent.photon_energy_per_decay_mev + daughter.photon_energy_per_decay_mev, rel=1e-6
    )


def test_progeny_skips_longer_lived_daughter():
    # Tc-99m → Tc-99 (2.1e5 y): Tc-99 does not decay where Tc-99m did.
    assert emission_spectrum("Tc-99m", include_progeny=True).progeny == ()


def test_alpha_emitter_flagged():
    s = emission_spectrum("Ra-223")
    assert s.has_alpha
    assert s.electron_energy_per_decay_mev > 5.0


def test_unknown_nuclide():
    with pytest.raises(UnknownNuclideError):
        emission_spectrum("Xx-999")
