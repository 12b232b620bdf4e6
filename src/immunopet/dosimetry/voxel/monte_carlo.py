"""Voxel dose by photon Monte Carlo on the patient's CT, electrons deposited locally ("mc").

The fourth method of :func:`~immunopet.dosimetry.voxel.voxel_dose`, for the geometry a
homogeneous kernel cannot see (lung, bone, the body outline):

* **Photons** (γ, X and annihilation lines of ICRP Publication 107 via
  :func:`immunopet.dosimetry.emission.emission_spectrum`) are emitted from the voxels in
  proportion to their time-integrated activity and tracked through the CT's densities
  and media by :func:`immunopet.dosimetry.transport_photons` (Woodcock tracking, NIST
  XCOM cross sections; photoelectric, Compton with Klein–Nishina, coherent). The
  energy transferred at each interaction is deposited in its voxel (kerma
  approximation: the secondary electrons' ranges — about 1 mm for the 340 keV Compton
  edge of a 511 keV photon, NIST ESTAR CSDA range in water ≈ 0.1 g/cm² — are below
  the voxel of a PET image).
* **Electrons** (β±, internal conversion, Auger) are deposited in the emitting voxel:
  D = Ã · Δ_e / (ρ V), as :func:`~immunopet.dosimetry.voxel.local_deposition_dose`
  with ``energy="electron"`` (right where the ranges are small against the voxel; for
  the ~1 cm positrons of ¹²⁴I the ``"dvk"`` method spreads them instead).

Media from the CT densities (``ρ``, Schneider et al. 2000 via
:func:`~immunopet.dosimetry.voxel.ct_density`), between the nominal densities of the
ICRU-44 media of :mod:`immunopet.dosimetry.xsections`: ρ < 0.05 g/cm³ air, < 0.85 lung,
< 1.2 soft tissue, else cortical bone (the voxel's own density scales the attenuation).
The thresholds are this module's choice, midway between those media; photon
attenuation above 100 keV is Compton, set by the density, so the composition matters
little for PET nuclides.

The statistical uncertainty of the photon part is the per-history variance of each
voxel's deposit (``relative_sd``); the electron part has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError, InvalidValueError
from ...core.nuclides import Nuclide
from ...core.volume import Volume
from ..emission import MEV_TO_J, emission_spectrum
from ..transport import transport_photons
from ..xsections import MATERIAL_CODES

__all__ = ["MEDIUM_THRESHOLDS_G_CM3", "MonteCarloDose", "density_media", "monte_carlo_dose"]

#: Upper density (g/cm³) of each medium, in order; above the last: cortical bone.
MEDIUM_THRESHOLDS_G_CM3: tuple[tuple[str, float], ...] = (
    ("air", 0.05),
    ("lung", 0.85),
    ("soft_tissue", 1.2),
)


@dataclass(frozen=True)
class MonteCarloDose:
    """Dose maps (Gy) of a TIA map by photon Monte Carlo + local electrons.

    Attributes
    ----------
    dose
        Total dose (Gy), float32, on the TIA's grid.
    photon_dose, electron_dose
        Its photon (transported) and electron (local) parts (Gy).
    relative_sd
        Statistical SD of the photon part over the total dose (1; 0 where no dose).
    escaped_fraction
        Photon energy carried out of the grid over the photon energy emitted.
    n_histories
        Photons transported.
    """

    dose: Volume
    photon_dose: Volume
    electron_dose: Volume
    relative_sd: Volume
    escaped_fraction: float
    n_histories: int


def density_media(rho_g_cm3: np.ndarray) -> np.ndarray:
    """ICRU-44 medium code (uint8, :data:`~immunopet.dosimetry.xsections.MATERIAL_CODES`)
    of each voxel by density (:data:`MEDIUM_THRESHOLDS_G_CM3`)."""
    rho = np.asarray(rho_g_cm3)
    codes = np.full(rho.shape, MATERIAL_CODES["cortical_bone"], dtype=np.uint8)
    for name, upper in reversed(MEDIUM_THRESHOLDS_G_CM3):
        codes[rho < upper] = MATERIAL_CODES[name]
    return codes


def monte_carlo_dose(
    tia: Volume,
    nuclide: str | Nuclide,
    *,
    density: Volume | None = None,
    ct: Volume | None = None,
    n_histories: int = 1_000_000,
    seed: int = 0,
    min_density_g_cm3: float = 0.01,
    include_progeny: bool = False,
) -> MonteCarloDose:
    """Dose (Gy) of a TIA map: photons transported on the CT, electrons local (module doc).

    Parameters
    ----------
    tia
        TIA per voxel (Bq·s, MBq·s, Bq·h or MBq·h).
    nuclide
        The emitting nuclide (ICRP-107 emissions).
    density, ct
        Density map (g/cm³) or CT (HU), resampled onto the TIA grid; the patient's
        geometry. Required: without one, use ``"dvk"``.
    n_histories
        Photons to transport (the photon dose's noise falls as 1/√n).
    seed
        Random seed (the same seed gives the same map).
    min_density_g_cm3
        Voxels lighter than this (air) get no dose.
    include_progeny
        Add short-lived progeny's emissions.

    Raises
    ------
    InvalidValueError
        No CT or density map, or ``n_histories`` < 1.
    InputError
        A TIA map without activity.
    """
    from .dose import _density_on_grid, local_deposition_dose, tia_bq_s

    if density is None and ct is None:
        raise InvalidValueError(
            "method 'mc' transports photons through the patient: give a CT or a density map",
            field="ct",
        )
    if int(n_histories) < 1:
        raise InvalidValueError("n_histories must be ≥ 1", field="histories", value=n_histories)
    spec = emission_spectrum(nuclide, include_progeny=include_progeny)
    rho = _density_on_grid(tia, density, ct, 1.0)
    a_bq_s = tia_bq_s(tia)
    decays = float(np.sum(a_bq_s, dtype=np.float64))
    if not np.isfinite(decays) or decays <= 0:
        raise InputError("the TIA map holds no activity: nothing to transport", field="tia")
    electron = local_deposition_dose(
        tia, nuclide, energy="electron", density=tia.with_array(rho, "g/cm3"),
        include_progeny=include_progeny, min_density_g_cm3=min_density_g_cm3,
    )  # fmt: skip
    heavy = rho >= min_density_g_cm3
    mass_kg = np.where(heavy, rho * np.float32(tia.voxel_volume_ml * 1e-3), np.inf)
    photon = np.zeros(tia.shape, np.float32)
    photon_sd = np.zeros(tia.shape, np.float32)
    escaped = 0.0
    photons_per_decay = float(np.sum(spec.photon_yield))
    if photons_per_decay > 0 and spec.photon_energy_per_decay_mev > 0:
        result = transport_photons(
            rho, density_media(rho), tia.spacing_mm, np.maximum(a_bq_s, 0.0),
            spec.photon_energy_mev, spec.photon_yield, int(n_histories), seed=seed,
        )  # fmt: skip
        # Real photon energy per simulated MeV: the emitted energy Ã · Δ_photon over the
        # energy the histories sampled (a ratio estimator: deposited + escaped is then
        # exactly the emitted energy, and the sampling noise of the source cancels).
        real_per_simulated = decays * spec.photon_energy_per_decay_mev / result.emitted_mev
        gy_per_mev = real_per_simulated * MEV_TO_J / mass_kg
        photon = (result.edep_mev * gy_per_mev).astype(np.float32)
        if result.edep_var_mev2 is not None:
            photon_sd = (np.sqrt(np.maximum(result.edep_var_mev2, 0.0)) * gy_per_mev).astype(
                np.float32
            )
        escaped = result.escaped_mev / result.emitted_mev if result.emitted_mev else 0.0
    total = np.asarray(electron.array, np.float32) + photon
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(total > 0, photon_sd / total, 0.0).astype(np.float32)
    return MonteCarloDose(
        dose=tia.with_array(total, "Gy"),
        photon_dose=tia.with_array(photon, "Gy"),
        electron_dose=electron,
        relative_sd=tia.with_array(rel, "1"),
        escaped_fraction=float(escaped),
        n_histories=int(n_histories),
    )
