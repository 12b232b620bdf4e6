"""Photon Monte Carlo in voxel geometry: Woodcock tracking, kerma approximation.

One history = one photon drawn from a discrete spectrum (energy ``E_i`` with probability
``y_i / Σ y``) at a position drawn uniformly within a voxel chosen with probability
proportional to ``source_weight``, flying in an isotropic direction. To turn results into
per-decay quantities multiply the per-history means by the photons per decay ``Σ y``
(:attr:`~immunopet.dosimetry.emission.EmissionSpectrum.photons_per_decay`), e.g. energy
deposited per decay in a region = ``edep_by_label_mev[r] / n_histories × Σ y``.

Physics
-------
* Cross sections: NIST XCOM partial mass attenuation coefficients for ICRU-44 materials
  (:mod:`.xsections`), interpolated in ln E on a 300-per-decade grid, scaled by voxel density:
  μ = (μ/ρ)_material(E) · ρ_voxel.
* Photoelectric absorption: the photon energy is deposited at the interaction point
  (kerma approximation: photo-electrons, Auger electrons and fluorescence x-rays of these
  low-Z media are absorbed locally).
* Incoherent scattering: free-electron Klein–Nishina cross section (no binding/Doppler
  correction), scattering angle sampled with Kahn's rejection method (H. Kahn,
  *Applications of Monte Carlo*, RAND report AECU-3259, 1954; as given in the MCNP5
  manual, LA-UR-03-1987, Vol. I §2-IV.C, and Lux & Koblinger, *Monte Carlo Particle
  Transport Methods*, 1991); the Compton electron's kinetic energy E − E′ is deposited
  locally (kerma approximation).
* Pair production (E > 2 m_e c²): E − 2 m_e c² deposited locally, two 0.511 MeV photons
  emitted back to back in an isotropic direction and transported.
* Coherent (Rayleigh) scattering is omitted: it is excluded from the attenuation
  coefficient. It deposits no energy and, with atomic form factors, deflects photons by
  small angles (mean ≲ 20° above 50 keV in water); XCOM puts it at < 10 % of the
  interaction probability in soft tissue above 20 keV. Its effect on absorbed fractions is
  within the tolerance of the sphere validation (tests/test_dosimetry_sphere.py).
* Electrons are not transported (kerma approximation); photons below 1 keV (the table's
  lower end) deposit their energy where they are; source lines below 1 keV (L/M x-rays in
  ICRP-107 spectra) are deposited in the emitting voxel.

Tracking
--------
Woodcock (delta-scattering) tracking (E. Woodcock et al., ANL-7050, 1965, p. 557; Lux &
Koblinger 1991, §7.3): flight distances are sampled with the majorant
μ_max(E) = max_material (μ/ρ)_m(E) · max ρ_m over the grid; at each tentative collision a
real interaction happens with probability μ(x)/μ_max, otherwise the photon continues
unchanged. This is exact for any heterogeneous voxel map and needs no voxel-boundary
arithmetic. Photons leaving the grid escape.

Arrays are indexed [z, y, x]; ``spacing_mm`` is (dx, dy, dz), the convention of
:class:`immunopet.core.volume.Volume`. The random stream is numba's (seeded with ``seed``), so
a given seed reproduces a run on the same machine.

Uncertainty
-----------
``edep_var_mev2`` is the per-voxel variance of the summed deposit estimated from the
per-history scores (N·Var of the per-history deposit, histories' deposits in a voxel
merged before squaring). Per-region uncertainties use the batch method: histories are split
into ``n_batches`` equal batches and ``edep_by_label_sd_mev`` = √(n_b) · SD over batches
of the per-batch sums (the SD of the total).

Code layout
-----------
This module holds the public driver (:func:`transport_photons`: checks, unit conversion,
variance and batch SD) and :class:`TransportResult`; the numba interaction physics is in
:mod:`.photon_interactions` and the tracking loop in :mod:`.woodcock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import InputError

# The numba kernels live in .photon_interactions (interaction physics) and .woodcock (the
# tracking loop); the underscored ones stay importable from here for the sphere kernel.
from .photon_interactions import _cross_sections as _cross_sections
from .photon_interactions import _interact as _interact
from .photon_interactions import _isotropic as _isotropic
from .photon_interactions import _kahn_klein_nishina as _kahn_klein_nishina
from .photon_interactions import _rotate as _rotate
from .photon_interactions import photon_tables
from .woodcock import woodcock_kernel

__all__ = ["TransportResult", "photon_tables", "transport_photons"]


@dataclass(frozen=True)
class TransportResult:
    """Energy deposited by a photon Monte Carlo run.

    Attributes
    ----------
    edep_mev
        Energy deposited per voxel (MeV), summed over histories; same shape as the density.
    edep_var_mev2
        Variance estimate (MeV²) of each voxel's summed deposit, or None.
    escaped_mev
        Energy carried out of the grid by photons (MeV).
    emitted_mev
        Energy of all source photons (MeV); Σ edep + escaped = emitted (kerma approximation).
    n_histories
        Number of source photons.
    edep_by_label_mev
        With ``score_labels``: energy deposited per label value (index = label), else None.
    edep_by_label_sd_mev
        Batch-method standard deviation of ``edep_by_label_mev``, else None.
    """

    edep_mev: np.ndarray
    edep_var_mev2: np.ndarray | None
    escaped_mev: float
    emitted_mev: float
    n_histories: int
    edep_by_label_mev: np.ndarray | None = field(default=None)
    edep_by_label_sd_mev: np.ndarray | None = field(default=None)

    @property
    def deposited_mev(self) -> float:
        """Σ edep over the grid (MeV)."""
        return float(self.edep_mev.sum())


def _validate(
    density: np.ndarray,
    material: np.ndarray,
    source_weight: np.ndarray,
    energies_mev: np.ndarray,
    yields: np.ndarray,
    n_materials: int,
) -> None:
    if density.ndim != 3:
        raise InputError(
            f"density must be a 3-D [z, y, x] array, got shape {density.shape}", field="density"
        )
    for name, arr in (("material", material), ("source_weight", source_weight)):
        if arr.shape != density.shape:
            raise InputError(
                f"{name} shape {arr.shape} differs from density shape {density.shape}",
                field=name,
            )
    if not np.all(np.isfinite(density)) or density.min() < 0:
        raise InputError("density must be finite and ≥ 0 g/cm³", field="density")
    if material.size and int(material.max()) >= n_materials:
        raise InputError(
            f"material code {int(material.max())} has no cross-section table "
            f"(codes 0..{n_materials - 1}; see immunopet.dosimetry.xsections)",
            field="material",
            value=int(material.max()),
        )
    if not np.all(np.isfinite(source_weight)) or source_weight.min() < 0:
        raise InputError("source_weight must be finite and ≥ 0", field="source_weight")
    if not source_weight.any():
        raise InputError("source_weight is zero everywhere: nothing to transport")
    if energies_mev.shape != yields.shape or energies_mev.ndim != 1 or energies_mev.size == 0:
        raise InputError("energies_mev and yields must be 1-D arrays of equal, non-zero length")
    if energies_mev.min() <= 0 or energies_mev.max() > 10.0:
        raise InputError(
            "photon energies must lie in (0, 10] MeV (the XCOM table ends at 10 MeV)",
            field="energies_mev",
        )
    if yields.min() < 0 or yields.sum() <= 0:
        raise InputError("photon yields must be ≥ 0 with a positive sum", field="yields")


def transport_photons(
    density_g_cm3: np.ndarray,
    material: np.ndarray,
    spacing_mm: tuple[float, float, float],
    source_weight: np.ndarray,
    energies_mev: np.ndarray,
    yields: np.ndarray,
    n_histories: int,
    *,
    seed: int = 0,
    score_labels: np.ndarray | None = None,
    n_batches: int = 10,
) -> TransportResult:
    """Transport photons emitted in a voxel grid; score the energy they deposit.

    Parameters
    ----------
    density_g_cm3
        Mass density per voxel, [z, y, x].
    material
        Material code per voxel (uint8; 0 air, 1 ICRU-44 soft tissue, 2 lung, 3 cortical
        bone, 4 water — see :mod:`.xsections`).
    spacing_mm
        Voxel size (dx, dy, dz) in mm, as :attr:`immunopet.core.volume.Volume.spacing_mm`.
    source_weight
        Relative emission probability per voxel (≥ 0), uniform within each voxel.
    energies_mev, yields
        Photon lines and their yields (only relative yields matter: one photon per history),
        e.g. ``EmissionSpectrum.photon_energy_mev`` and ``.photon_yield``. Lines below 1 keV
        are absorbed in the emitting voxel.
    n_histories
        Number of source photons.
    seed
        Random seed (numba generator).
    score_labels
        Optional integer label map [z, y, x] (≥ 0); energy is also summed per label.
    n_batches
        Batches for the batch-method SD of the per-label sums (≥ 2).

    Returns
    -------
    TransportResult
        Totals over all histories; divide by ``n_histories`` and multiply by Σ yields for
        per-decay values.

    Raises
    ------
    InputError
        Inconsistent shapes, negative weights or densities, unknown material codes,
        energies outside (0, 10] MeV.
    """
    density = np.ascontiguousarray(density_g_cm3, dtype=np.float64)
    mat = np.ascontiguousarray(material)
    weight = np.ascontiguousarray(source_weight, dtype=np.float64)
    e_lines = np.ascontiguousarray(energies_mev, dtype=np.float64).ravel()
    y_lines = np.ascontiguousarray(yields, dtype=np.float64).ravel()
    xs, log_e0, dlog_e = photon_tables()
    n_mat = xs.shape[0]
    _validate(density, mat, weight, e_lines, y_lines, n_mat)
    if n_histories < 1:
        raise InputError("n_histories must be ≥ 1", field="n_histories", value=n_histories)
    n_batches = max(1, min(int(n_batches), int(n_histories)))
    dx, dy, dz = (float(s) / 10.0 for s in spacing_mm)
    if min(dx, dy, dz) <= 0:
        raise InputError(f"voxel spacing must be positive, got {spacing_mm} mm", field="spacing")
    nz, ny, nx = density.shape
    # compact voxel arrays (uint8 codes, float32 densities): fewer cache misses per step
    mat_flat = mat.ravel().astype(np.uint8)
    dens_flat = density.ravel().astype(np.float32)
    rho_max = np.zeros(n_mat)
    for m in np.unique(mat_flat):
        rho_max[m] = float(dens_flat[mat_flat == m].max())
    if rho_max.max() <= 0:
        raise InputError("density is zero everywhere", field="density")
    w_flat = weight.ravel()
    src_voxels = np.flatnonzero(w_flat > 0).astype(np.int64)
    src_cdf = np.cumsum(w_flat[src_voxels])
    line_cdf = np.cumsum(y_lines)
    if score_labels is not None:
        labels = np.ascontiguousarray(score_labels).astype(np.int32).ravel()
        if score_labels.shape != density.shape or labels.min() < 0:
            raise InputError(
                "score_labels must be a non-negative integer map shaped like density",
                field="score_labels",
            )
        n_labels = int(labels.max()) + 1
    else:
        labels = np.zeros(1, dtype=np.int32)
        n_labels = 0
    edep, edep_sq, escaped, emitted, by_label = woodcock_kernel(
        dens_flat,
        mat_flat,
        nz,
        ny,
        nx,
        dx,
        dy,
        dz,
        src_voxels,
        src_cdf,
        e_lines,
        line_cdf,
        int(n_histories),
        int(seed),
        labels,
        n_labels,
        n_batches,
        xs,
        log_e0,
        dlog_e,
        rho_max,
    )
    var = np.maximum(edep_sq - edep * edep / n_histories, 0.0)
    by_label_sum = by_label_sd = None
    if n_labels > 0:
        by_label_sum = by_label.sum(axis=0)
        if n_batches >= 2:
            by_label_sd = np.sqrt(n_batches) * by_label.std(axis=0, ddof=1)
        else:
            by_label_sd = np.full(n_labels, np.nan)
    return TransportResult(
        edep_mev=edep.reshape(density.shape),
        edep_var_mev2=var.reshape(density.shape),
        escaped_mev=float(escaped),
        emitted_mev=float(emitted),
        n_histories=int(n_histories),
        edep_by_label_mev=by_label_sum,
        edep_by_label_sd_mev=by_label_sd,
    )
