"""Per-decay emission spectra for dosimetry, from ICRP Publication 107.

:func:`emission_spectrum` splits the ICRP-107 emissions of a nuclide (read through
:func:`immunopet.core.nuclides.emissions`; data © Endo & Eckerman, ICRP Publication 107, 2008)
into what photon transport needs — discrete photon lines with absolute yields — and what
is treated as locally absorbed — the mean energy emitted per decay as electrons:

* photons: ``gamma`` + ``X`` + ``annihilation`` (2 × 0.511 MeV per β⁺ decay). ICRP-107
  lists the annihilation photons itself; when a record has β⁺ but no annihilation entry,
  2 × Σ y(β⁺) photons of m_e c² = 0.51099895 MeV (CODATA 2018) are added.
* electrons: β⁺ and β⁻ (ICRP-107 gives each branch's *mean* energy and yield), internal
  conversion (``IE``) and Auger electrons. Alpha particles (and their recoils), if any, are
  added to the non-penetrating energy too and flagged by ``has_alpha`` (radiation
  weighting is not applied here).

Annihilation in flight and positron range are neglected (positrons are assumed to
annihilate at rest where they are emitted; I-124 positrons travel up to ≈ 1 cm).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..core.errors import UnknownNuclideError
from ..core.nuclides import Nuclide, emissions, parse_nuclide_name

__all__ = ["ELECTRON_MASS_MEV", "MEV_TO_J", "EmissionSpectrum", "emission_spectrum"]

#: Electron rest energy m_e c² (MeV), CODATA 2018.
ELECTRON_MASS_MEV = 0.51099895
#: 1 MeV in joules, exact since the SI of 2019 (e = 1.602176634e-19 C; CODATA 2018). The
#: one definition the dosimetry modules use.
MEV_TO_J = 1.602176634e-13

_PHOTON_KINDS = ("gamma", "X", "annihilation")
_ELECTRON_KINDS = ("beta+", "beta-", "IE", "auger")
_ALPHA_KINDS = ("alpha", "alpha recoil")


@dataclass(frozen=True)
class EmissionSpectrum:
    """Photon lines and non-penetrating energy emitted per decay of a nuclide.

    Attributes
    ----------
    nuclide
        Canonical name (``"I-124"``).
    photon_energy_mev, photon_yield
        Discrete photon lines (MeV) and their absolute yields per decay, sorted by energy;
        γ + X + annihilation (2 × 0.511 MeV per β⁺).
    electron_energy_per_decay_mev
        Σ y·E over β± (mean energies), IC and Auger electrons (+ alpha, see ``has_alpha``),
        in MeV per decay; deposited locally in the MIRD schema.
    has_alpha
        True when alpha energy is included in ``electron_energy_per_decay_mev``.
    progeny
        Names of the progeny whose emissions are included (``include_progeny=True``).
    """

    nuclide: str
    photon_energy_mev: np.ndarray
    photon_yield: np.ndarray
    electron_energy_per_decay_mev: float
    has_alpha: bool = False
    progeny: tuple[str, ...] = ()

    @property
    def photon_energy_per_decay_mev(self) -> float:
        """Σ yᵢ Eᵢ over photon lines (MeV per decay)."""
        return float(np.sum(self.photon_energy_mev * self.photon_yield))

    @property
    def photons_per_decay(self) -> float:
        """Σ yᵢ: photons emitted per decay (the per-history normalisation of the transport)."""
        return float(np.sum(self.photon_yield))

    @property
    def total_energy_per_decay_mev(self) -> float:
        """Photon + non-penetrating energy per decay (MeV)."""
        return self.photon_energy_per_decay_mev + self.electron_energy_per_decay_mev


def _own_emissions(name: str) -> tuple[np.ndarray, np.ndarray, float, bool]:
    em = emissions(name)
    e_list, y_list = [], []
    for kind in _PHOTON_KINDS:
        if kind in em:
            e_list.append(em[kind].energy_mev)
            y_list.append(em[kind].yield_per_decay)
    if "beta+" in em and "annihilation" not in em:
        e_list.append(np.array([ELECTRON_MASS_MEV]))
        y_list.append(np.array([2.0 * float(np.sum(em["beta+"].yield_per_decay))]))
    electron = sum(em[k].energy_per_decay_mev for k in _ELECTRON_KINDS if k in em)
    has_alpha = any(k in em for k in _ALPHA_KINDS)
    electron += sum(em[k].energy_per_decay_mev for k in _ALPHA_KINDS if k in em)
    e = np.concatenate(e_list) if e_list else np.zeros(0)
    y = np.concatenate(y_list) if y_list else np.zeros(0)
    return e, y, float(electron), has_alpha


def _progeny_weights(parent: str) -> dict[str, float]:
    """Radioactive progeny → decays per parent decay (products of branching fractions).

    A daughter is followed only when its half-life does not exceed the half-life of the
    nuclide administered, so that it decays (in transient or secular equilibrium) where the
    parent did; longer-lived daughters (e.g. Tc-99 from Tc-99m) and everything below them
    are left out.
    """
    import radioactivedecay as rd  # the decay chains (only here: ~1.3 s to import)

    out: dict[str, float] = {}
    t_half = rd.Nuclide(parent).half_life("s")
    stack = [(parent, 1.0)]
    while stack:
        name, w = stack.pop()
        nuc = rd.Nuclide(name)
        for daughter, bf in zip(nuc.progeny(), nuc.branching_fractions(), strict=True):
            d = rd.Nuclide(daughter)
            t_d = d.half_life("s")
            if not np.isfinite(t_d) or bf <= 0 or t_d > t_half:
                continue
            out[daughter] = out.get(daughter, 0.0) + w * bf
            stack.append((daughter, w * bf))
    return out


@functools.lru_cache(maxsize=256)
def _spectrum_cached(canonical: str, include_progeny: bool, min_yield: float) -> EmissionSpectrum:
    e, y, electron, has_alpha = _own_emissions(canonical)
    progeny: tuple[str, ...] = ()
    if include_progeny:
        weights = _progeny_weights(canonical)
        progeny = tuple(sorted(weights))
        e_parts, y_parts = [e], [y]
        for daughter, w in weights.items():
            try:
                de, dy, del_, da = _own_emissions(daughter)
            except UnknownNuclideError:
                continue
            e_parts.append(de)
            y_parts.append(w * dy)
            electron += w * del_
            has_alpha = has_alpha or da
        e, y = np.concatenate(e_parts), np.concatenate(y_parts)
    keep = (y >= min_yield) & (e > 0)
    order = np.argsort(e[keep], kind="stable")
    return EmissionSpectrum(
        nuclide=canonical,
        photon_energy_mev=e[keep][order],
        photon_yield=y[keep][order],
        electron_energy_per_decay_mev=electron,
        has_alpha=has_alpha,
        progeny=progeny,
    )


def emission_spectrum(
    nuclide: str | Nuclide, *, include_progeny: bool = False, min_yield: float = 1e-6
) -> EmissionSpectrum:
    """Photon lines and locally absorbed energy per decay of ``nuclide`` (ICRP-107).

    Parameters
    ----------
    nuclide
        Any spelling accepted by :func:`immunopet.core.nuclides.parse_nuclide_name`.
    include_progeny
        Add the emissions of radioactive progeny (radioactivedecay chains) weighted by the
        product of branching fractions, for daughters not longer-lived than their parent
        (e.g. Ga-68 for Ge-68, Tc-99m for Mo-99; Y-90 for Sr-90).
    min_yield
        Photon lines with yield below this (per decay) are dropped; electron energies are
        always summed in full.

    Returns
    -------
    EmissionSpectrum

    Raises
    ------
    UnknownNuclideError
        Unknown nuclide, or no ICRP-107 emission record.

    Examples
    --------
    >>> s = emission_spectrum("F-18")
    >>> round(s.photon_energy_per_decay_mev, 3), round(s.electron_energy_per_decay_mev, 3)
    (0.989, 0.242)
    """
    canonical = nuclide.name if isinstance(nuclide, Nuclide) else parse_nuclide_name(nuclide)
    return _spectrum_cached(canonical, bool(include_progeny), float(min_yield))
