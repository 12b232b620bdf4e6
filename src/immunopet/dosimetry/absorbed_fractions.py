"""Photon absorbed fractions φ(region ← source, E) of a voxel phantom, by Monte Carlo.

One :func:`~immunopet.dosimetry.transport.transport_photons` run per (source, energy)
on a small energy grid; S-values for any nuclide are then interpolated from the table
(:mod:`.svalues`). Sources are uniform per unit mass in their region; ``red_marrow``
is spread over the skeletal regions by the adult marrow distribution; ``total_body``
over every body voxel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InvalidValueError
from .phantom import Phantom

__all__ = [
    "PHOTON_ENERGY_GRID_MEV",
    "PhotonAFTable",
    "compute_photon_af_table",
    "default_sources",
    "source_weight",
]

#: Photon energies of the absorbed-fraction grid (MeV).
PHOTON_ENERGY_GRID_MEV: tuple[float, ...] = (
    0.015,
    0.02,
    0.03,
    0.05,
    0.08,
    0.1,
    0.15,
    0.2,
    0.3,
    0.511,
    0.8,
    1.0,
    1.5,
    2.0,
    3.0,
)


@dataclass(frozen=True)
class PhotonAFTable:
    """Photon absorbed fractions φ(region ← source, E) of one phantom.

    Attributes
    ----------
    phantom
        Phantom name.
    sources, regions
        Source names and scored region names (one per phantom label).
    energies_mev
        The energy grid, shape (nE,).
    af, af_sd
        Absorbed fraction and its MC standard deviation, shape (nS, nR, nE).
    region_mass_kg
        Voxel mass of each region, shape (nR,).
    reference_masses_kg
        Masses used for electron self-dose (ICRP 89 for reference phantoms).
    marrow_fractions
        Red-marrow fraction of each skeletal region.
    metadata
        How the table was made (phantom version, voxel size, histories, seed, version).
    """

    phantom: str
    sources: tuple[str, ...]
    regions: tuple[str, ...]
    energies_mev: np.ndarray
    af: np.ndarray
    af_sd: np.ndarray
    region_mass_kg: np.ndarray
    reference_masses_kg: Mapping[str, float] = field(default_factory=dict)
    marrow_fractions: Mapping[str, float] = field(default_factory=dict)
    metadata: Mapping[str, object] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` (arrays + JSON metadata)."""
        meta = {
            "phantom": self.phantom,
            "sources": list(self.sources),
            "regions": list(self.regions),
            "reference_masses_kg": dict(self.reference_masses_kg),
            "marrow_fractions": dict(self.marrow_fractions),
            "metadata": dict(self.metadata),
        }
        np.savez_compressed(
            path,
            energies_mev=self.energies_mev,
            af=self.af.astype(np.float32),
            af_sd=self.af_sd.astype(np.float32),
            region_mass_kg=self.region_mass_kg,
            meta=np.asarray(json.dumps(meta)),
        )

    @classmethod
    def load(cls, path: str | Path) -> PhotonAFTable:
        """Read a table written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(
                phantom=meta["phantom"],
                sources=tuple(meta["sources"]),
                regions=tuple(meta["regions"]),
                energies_mev=np.asarray(z["energies_mev"], dtype=float),
                af=np.asarray(z["af"], dtype=float),
                af_sd=np.asarray(z["af_sd"], dtype=float),
                region_mass_kg=np.asarray(z["region_mass_kg"], dtype=float),
                reference_masses_kg=meta["reference_masses_kg"],
                marrow_fractions=meta["marrow_fractions"],
                metadata=meta["metadata"],
            )


def default_sources(phantom: Phantom) -> tuple[str, ...]:
    """Source regions of a phantom: every organ (not single skeletal regions) plus
    ``red_marrow`` and ``skeleton`` (when a skeleton exists) and ``total_body``."""
    organs = [n for n in phantom.organ_names.values() if n not in phantom.marrow_fractions]
    extra = ["red_marrow", "skeleton"] if phantom.marrow_fractions else []
    return (*organs, *extra, "total_body")


def source_weight(phantom: Phantom, source: str) -> np.ndarray:
    """Emission probability per voxel for activity uniform in ``source`` (per unit mass)."""
    lab = np.asarray(phantom.labels.array)
    rho = np.asarray(phantom.density.array, dtype=float)
    if source == "total_body":
        return np.where(lab > 0, rho, 0.0)
    if source == "skeleton":
        ks = [phantom.label_of(r) for r in phantom.marrow_fractions]
        return np.where(np.isin(lab, ks), rho, 0.0)
    if source == "red_marrow":
        w = np.zeros(lab.shape)
        for region, frac in phantom.marrow_fractions.items():
            m = lab == phantom.label_of(region)
            if m.any():
                w[m] = frac / m.sum()
        return w
    return np.where(lab == phantom.label_of(source), rho, 0.0)


def compute_photon_af_table(
    phantom: Phantom,
    *,
    energies_mev: Sequence[float] = PHOTON_ENERGY_GRID_MEV,
    n_histories: int | Callable[[str, float], int] = 200_000,
    seed: int = 0,
    sources: Iterable[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
    metadata: Mapping[str, object] | None = None,
) -> PhotonAFTable:
    """Photon absorbed fractions of ``phantom`` on an energy grid by Monte Carlo.

    Parameters
    ----------
    phantom
        The voxel phantom.
    energies_mev
        Grid of photon energies.
    n_histories
        Photons per (source, energy), or a function of (source, energy).
    seed
        Base random seed; each (source, energy) run uses a distinct derived seed.
    sources
        Source names (default :func:`default_sources`).
    progress
        Called with (source, energy) before each run.
    metadata
        Extra provenance stored in the table.
    """
    from .transport import transport_photons

    srcs = tuple(sources) if sources is not None else default_sources(phantom)
    regions_by_label = dict(sorted(phantom.organ_names.items()))
    regions = tuple(regions_by_label.values())
    label_idx = np.asarray(list(regions_by_label), dtype=int)
    lab = np.asarray(phantom.labels.array)
    rho = np.asarray(phantom.density.array, dtype=np.float64)
    e = np.asarray(energies_mev, dtype=float)
    af = np.zeros((len(srcs), len(regions), len(e)))
    sd = np.zeros_like(af)
    for i, s in enumerate(srcs):
        w = source_weight(phantom, s)
        if not (w > 0).any():
            raise InvalidValueError(f"source {s!r} has no voxels in {phantom.name}", value=s)
        for j, energy in enumerate(e):
            if progress is not None:
                progress(s, float(energy))
            n = n_histories(s, float(energy)) if callable(n_histories) else int(n_histories)
            res = transport_photons(
                rho,
                phantom.material,
                phantom.labels.spacing_mm,
                w,
                np.asarray([energy]),
                np.asarray([1.0]),
                n,
                seed=seed + 1000 * i + j,
                score_labels=lab,
            )
            by = np.asarray(res.edep_by_label_mev)
            by_sd = np.asarray(res.edep_by_label_sd_mev)
            af[i, :, j] = by[label_idx] / (n * energy)
            sd[i, :, j] = by_sd[label_idx] / (n * energy)
    masses = phantom.region_masses_kg
    meta = {
        "phantom": phantom.name,
        "voxel_mm": float(phantom.labels.spacing_mm[0]),
        "seed": seed,
        "n_histories": n_histories if not callable(n_histories) else "per source/energy",
        **(dict(metadata) if metadata else {}),
    }
    return PhotonAFTable(
        phantom=phantom.name,
        sources=srcs,
        regions=regions,
        energies_mev=e,
        af=af,
        af_sd=sd,
        region_mass_kg=np.asarray([masses[r] for r in regions]),
        reference_masses_kg=dict(phantom.reference_masses_kg),
        marrow_fractions=dict(phantom.marrow_fractions),
        metadata=meta,
    )
