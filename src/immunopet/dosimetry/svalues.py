"""S-values in the MIRD schema from our own photon transport.

MIRD Pamphlet 21 (Bolch et al., J Nucl Med 2009;50:477), Eq. 6–7:

    S(r_T ← r_S) = (1 / M(r_T)) Σ_i Δ_i φ(r_T ← r_S, E_i)

- **Photons**: absorbed fractions φ(r_T ← r_S, E) come from
  :func:`~immunopet.dosimetry.transport.transport_photons` on a small energy grid
  (15 keV – 3 MeV, :data:`PHOTON_ENERGY_GRID_MEV`) once per phantom
  (:func:`compute_photon_af_table`); S for any nuclide then interpolates φ
  (linearly in log E) over the ICRP-107 photon lines. The photon dose to a region
  is its deposited energy over its *voxel* mass (dose is intensive, so the
  small voxelisation mass error does not bias it).
- **Electrons** (β±, IC, Auger) are absorbed locally, MIRD convention:
  φ = 1 for self-irradiation, 0 for cross-irradiation, with the reference
  (ICRP 89) mass in the denominator. Walled organs: the electron dose to the wall
  from activity in the contents is the dose at the contents' surface, half the
  contents' equilibrium dose: ``S_e(wall ← contents) = ½ Δ_e / M(contents)``
  (ICRP Publication 30 Part 1, §7 and Eq. 7.7 for the GI tract; MIRD Pamphlet 11,
  Snyder et al. 1975, walled organs). A total-body source deposits its electron
  energy uniformly: ``S_e(T ← total_body) = Δ_e / M(total_body)`` for every T.
- **Composite targets**: red marrow = marrow-weighted mean of the skeletal
  regions' photon dose; bone surfaces = skeleton mean (an approximation, see
  :mod:`.phantom`); total body = mass-weighted mean of all regions.
- **Mass scaling** to a patient's organ masses (:func:`scale_to_organ_masses`):
  self-S × M_ref / M_patient, cross-S unchanged (Stabin, Sparks & Crowe,
  J Nucl Med 2005;46:1023, OLINDA/EXM).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..core.errors import InvalidValueError, UnsupportedDataError
from ..core.nuclides import Nuclide
from .absorbed_fractions import (
    PHOTON_ENERGY_GRID_MEV,
    PhotonAFTable,
    compute_photon_af_table,
    default_sources,
    source_weight,
)
from .emission import MEV_TO_J
from .phantom import Phantom

__all__ = [
    "MEV_TO_J",
    "PHOTON_ENERGY_GRID_MEV",
    "PhotonAFTable",
    "SValueTable",
    "compute_photon_af_table",
    "direct_svalue_table",
    "default_sources",
    "scale_to_organ_masses",
    "svalue_table",
]


_WALLED = ("gallbladder", "stomach", "heart", "urinary_bladder")


@dataclass(frozen=True)
class SValueTable:
    """S(target ← source) of one nuclide in one phantom.

    Attributes
    ----------
    nuclide, phantom
        Names.
    targets, sources
        Names (rows, columns).
    s_gy_per_bq_s, sd_gy_per_bq_s
        S-values and their MC standard deviation (photon part), shape (nT, nS).
    target_masses_kg, source_masses_kg
        Masses used (electron self-dose and remainder-of-body arithmetic).
    """

    nuclide: str
    phantom: str
    targets: tuple[str, ...]
    sources: tuple[str, ...]
    s_gy_per_bq_s: np.ndarray
    sd_gy_per_bq_s: np.ndarray
    target_masses_kg: Mapping[str, float]
    source_masses_kg: Mapping[str, float]

    def s(self, target: str, source: str) -> float:
        """S(target ← source) in Gy/(Bq·s)."""
        try:
            return float(self.s_gy_per_bq_s[self.targets.index(target), self.sources.index(source)])
        except ValueError as exc:
            raise InvalidValueError(
                f"no S-value for {target!r} ← {source!r} in {self.phantom}",
                value=(target, source),
            ) from exc

    def to_frame(self):  # type: ignore[no-untyped-def]
        """Long table: target, source, s_mgy_per_mbq_s, sd_mgy_per_mbq_s."""
        import pandas as pd

        t, s = np.meshgrid(
            np.arange(len(self.targets)), np.arange(len(self.sources)), indexing="ij"
        )
        return pd.DataFrame(
            {
                "target": np.asarray(self.targets)[t.ravel()],
                "source": np.asarray(self.sources)[s.ravel()],
                "s_mgy_per_mbq_s": self.s_gy_per_bq_s.ravel() * 1e9,
                "sd_mgy_per_mbq_s": self.sd_gy_per_bq_s.ravel() * 1e9,
            }
        )


def _interp_weights(grid_mev: np.ndarray, energies_mev: np.ndarray) -> np.ndarray:
    """Matrix (n_lines, n_grid) of linear-in-log-E interpolation weights (clamped)."""
    lg = np.log(grid_mev)
    le = np.clip(np.log(np.asarray(energies_mev, dtype=float)), lg[0], lg[-1])
    hi = np.clip(np.searchsorted(lg, le, side="right"), 1, len(lg) - 1)
    lo = hi - 1
    t = (le - lg[lo]) / (lg[hi] - lg[lo])
    w = np.zeros((len(le), len(lg)))
    w[np.arange(len(le)), lo] += 1.0 - t
    w[np.arange(len(le)), hi] += t
    return w


def _target_matrix(table: PhotonAFTable) -> tuple[tuple[str, ...], np.ndarray]:
    """Targets and the (nT, nR) matrix turning region doses into target doses."""
    regions = list(table.regions)
    skeletal = [r for r in regions if r in table.marrow_fractions]
    targets = [r for r in regions if r not in table.marrow_fractions]
    rows = [np.eye(len(regions))[regions.index(t)] for t in targets]
    m = table.region_mass_kg
    if skeletal:
        rm = np.zeros(len(regions))
        for r in skeletal:
            rm[regions.index(r)] = table.marrow_fractions[r]
        rows.append(rm / rm.sum())
        bs = np.zeros(len(regions))
        for r in skeletal:
            bs[regions.index(r)] = m[regions.index(r)]
        rows.append(bs / bs.sum())
        targets += ["red_marrow", "bone_surfaces"]
    rows.append(m / m.sum())
    targets.append("total_body")
    return tuple(targets), np.vstack(rows)


def _mass(table: PhotonAFTable, name: str, regions_mass: Mapping[str, float]) -> float:
    # Our "muscle" region is all remaining soft tissue (muscle, adipose, ...): voxel mass.
    if name in table.reference_masses_kg and name != "muscle":
        return float(table.reference_masses_kg[name])
    if name in regions_mass:
        return regions_mass[name]
    if name == "total_body":
        return float(sum(regions_mass.values()))
    if name == "skeleton":
        return float(sum(regions_mass[r] for r in table.marrow_fractions))
    raise InvalidValueError(f"no mass for {name!r} in {table.phantom}", value=name)


def svalue_table(nuclide: str | Nuclide, table: PhotonAFTable) -> SValueTable:
    """S-values of ``nuclide`` for every target ← source of an absorbed-fraction table.

    Raises
    ------
    UnknownNuclideError
        Nuclide without ICRP-107 emission data.
    UnsupportedDataError
        Alpha emitters (the local-deposition model here has no radiation weighting).
    """
    from .emission import emission_spectrum

    spec = emission_spectrum(nuclide)
    if spec.has_alpha:
        raise UnsupportedDataError(
            f"{spec.nuclide} emits alpha particles; immunopet's organ dosimetry covers "
            "photon and electron emitters only",
            field="nuclide",
            value=spec.nuclide,
        )
    e_lines = np.asarray(spec.photon_energy_mev, dtype=float)
    y_lines = np.asarray(spec.photon_yield, dtype=float)
    if len(e_lines):
        c = (y_lines * e_lines) @ _interp_weights(table.energies_mev, e_lines)  # (nE,)
    else:
        c = np.zeros(len(table.energies_mev))
    # Photon energy per decay deposited in each region (MeV), per source: (nS, nR).
    edep = table.af @ c
    edep_var = (table.af_sd**2) @ (c**2)
    return _assemble(spec, table, edep, edep_var)


def _assemble(spec, table: PhotonAFTable, edep: np.ndarray, edep_var: np.ndarray) -> SValueTable:  # type: ignore[no-untyped-def]
    """S-values from photon energy per decay per (source, region) plus local electrons."""
    targets, wmat = _target_matrix(table)
    regions_mass = dict(zip(table.regions, table.region_mass_kg.tolist(), strict=True))
    dose_region = edep / table.region_mass_kg[None, :]  # MeV/kg per decay
    var_region = edep_var / table.region_mass_kg[None, :] ** 2
    s_ph = (wmat @ dose_region.T) * MEV_TO_J  # (nT, nS) Gy per decay
    sd_ph = np.sqrt((wmat**2) @ var_region.T) * MEV_TO_J
    # Electrons: local absorption (MIRD convention).
    delta_e = spec.electron_energy_per_decay_mev
    s_el = np.zeros_like(s_ph)
    m_tb = _mass(table, "total_body", regions_mass)
    for j, src in enumerate(table.sources):
        if src == "total_body":
            s_el[:, j] = delta_e / m_tb
            continue
        if src in targets:
            s_el[targets.index(src), j] = delta_e / _mass(table, src, regions_mass)
        if src.endswith("_contents") and src.removesuffix("_contents") in _WALLED:
            wall = src.replace("_contents", "_wall")
            if wall in targets:
                s_el[targets.index(wall), j] = 0.5 * delta_e / _mass(table, src, regions_mass)
        s_el[targets.index("total_body"), j] = delta_e / m_tb
    s = s_ph + s_el * MEV_TO_J
    masses_t = {t: _mass(table, t, regions_mass) for t in targets if t != "bone_surfaces"}
    if "bone_surfaces" in targets:
        masses_t["bone_surfaces"] = _mass(table, "skeleton", regions_mass)
    masses_s = {src: _mass(table, src, regions_mass) for src in table.sources}
    return SValueTable(
        nuclide=spec.nuclide,
        phantom=table.phantom,
        targets=targets,
        sources=table.sources,
        s_gy_per_bq_s=s,
        sd_gy_per_bq_s=sd_ph,
        target_masses_kg=masses_t,
        source_masses_kg=masses_s,
    )


def direct_svalue_table(
    nuclide: str | Nuclide,
    phantom: Phantom,
    *,
    sources: Iterable[str] | None = None,
    n_histories: int = 200_000,
    seed: int = 0,
) -> SValueTable:
    """S-values by transporting the nuclide's own photon spectrum in ``phantom``.

    Used for patient phantoms (one MC run per source, no energy grid). The MC SD
    of each region's deposit is propagated to the S-values.
    """
    from .emission import emission_spectrum
    from .transport import transport_photons

    spec = emission_spectrum(nuclide)
    srcs = tuple(sources) if sources is not None else default_sources(phantom)
    regions_by_label = dict(sorted(phantom.organ_names.items()))
    label_idx = np.asarray(list(regions_by_label), dtype=int)
    lab = np.asarray(phantom.labels.array)
    rho = np.asarray(phantom.density.array, dtype=np.float64)
    edep = np.zeros((len(srcs), len(label_idx)))
    var = np.zeros_like(edep)
    e_lines = np.asarray(spec.photon_energy_mev, dtype=float)
    y_lines = np.asarray(spec.photon_yield, dtype=float)
    per_decay = float(y_lines.sum())
    for i, s in enumerate(srcs):
        w = source_weight(phantom, s)
        if not (w > 0).any():
            raise InvalidValueError(f"source {s!r} has no voxels in {phantom.name}", value=s)
        if per_decay <= 0:
            continue
        res = transport_photons(
            rho,
            phantom.material,
            phantom.labels.spacing_mm,
            w,
            e_lines,
            y_lines,
            int(n_histories),
            seed=seed + i,
            score_labels=lab,
        )
        edep[i] = np.asarray(res.edep_by_label_mev)[label_idx] * per_decay / n_histories
        var[i] = (np.asarray(res.edep_by_label_sd_mev)[label_idx] * per_decay / n_histories) ** 2
    masses = phantom.region_masses_kg
    table = PhotonAFTable(
        phantom=phantom.name,
        sources=srcs,
        regions=tuple(regions_by_label.values()),
        energies_mev=np.zeros(0),
        af=np.zeros((len(srcs), len(label_idx), 0)),
        af_sd=np.zeros((len(srcs), len(label_idx), 0)),
        region_mass_kg=np.asarray([masses[r] for r in regions_by_label.values()]),
        reference_masses_kg=dict(phantom.reference_masses_kg),
        marrow_fractions=dict(phantom.marrow_fractions),
    )
    return _assemble(spec, table, edep, var)


def scale_to_organ_masses(table: SValueTable, masses_kg: Mapping[str, float]) -> SValueTable:
    """Scale self-S to individual organ masses, cross-S unchanged (OLINDA/EXM, Stabin 2005).

    ``S'(T ← T) = S(T ← T) · M_ref(T) / M(T)`` for every organ T in ``masses_kg``.

    Raises
    ------
    InvalidValueError
        Unknown organ or a non-positive mass.
    """
    s = table.s_gy_per_bq_s.copy()
    sd = table.sd_gy_per_bq_s.copy()
    tm = dict(table.target_masses_kg)
    sm = dict(table.source_masses_kg)
    for organ, m in masses_kg.items():
        if not m > 0:
            raise InvalidValueError("organ masses must be positive", field=organ, value=m)
        if organ not in table.targets or organ not in table.sources:
            raise InvalidValueError(
                f"cannot mass-scale {organ!r}: not both a source and a target of {table.phantom}",
                field="organ",
                value=organ,
            )
        i, j = table.targets.index(organ), table.sources.index(organ)
        factor = tm[organ] / m
        s[i, j] *= factor
        sd[i, j] *= factor
        tm[organ] = m
        sm[organ] = m
    return replace(
        table, s_gy_per_bq_s=s, sd_gy_per_bq_s=sd, target_masses_kg=tm, source_masses_kg=sm
    )
