"""Voxel dose uncertainty from the per-voxel TIA standard deviation (mono-exponential fits).

The dose is linear in the TIA map: D_i = Σ_j K_ij Ã_j (``"dvk"``: K the dose voxel kernel;
``"local"``: K diagonal, Δ/m; ``"dvk-density"``: row i scaled by ρ_K/ρ_i). The law of
propagation of uncertainty (JCGM 100:2008, *Guide to the expression of uncertainty in
measurement*, eq. 13; its linearisation is exact for a linear function) gives

    u²(D_i) = Σ_j Σ_k K_ij K_ik u(Ã_j) u(Ã_k) r(Ã_j, Ã_k)

with r the correlation of the voxel TIAs. PET voxel noise is correlated between
neighbours (reconstruction, post-filter, the scanner's resolution), and r is not known
here, so two limits are computed — never one number that pretends to know r:

``sd_uncorrelated_gy``
    r = 0 for j ≠ k (GUM eq. 10): u²(D) = (K²) ⊛ u²(Ã) — the convolution of the variance map with the
    squared kernel. This *assumes* independent voxels; with positively correlated noise it
    underestimates u(D).
``sd_correlated_gy``
    r = 1 (GUM §5.2.2, note 1): u(D) = K ⊛ u(Ã), the kernel applied to the SD map. By the
    Cauchy–Schwarz inequality no correlation gives more: an upper bound (for K ≥ 0).

The SD of Ã comes from the mono-exponential fit per voxel (delta method,
:func:`~.tia_maps.voxel_tia`, ``"mono"`` with ≥ 3 time points); the uncertainties of the
kernel, the calibration, the segmentation and the model choice are not in it (EANM
practical guidance on uncertainty analysis, Gear et al., Eur J Nucl Med Mol Imaging
2018;45:2456–2474, list them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...core.errors import GeometryError
from ...core.volume import Volume
from .convolution import DoseKernel, convolve_linear
from .dose import (
    DoseMethod,
    _density_on_grid,
    _enum,
    kernel_density_g_cm3,
    local_deposition_dose,
    tia_unit_to_bq_s,
)

__all__ = ["DoseUncertainty", "dose_uncertainty", "relative_sd_table"]


@dataclass(frozen=True)
class DoseUncertainty:
    """The two limits of a dose map's SD (Gy), see the module docstring."""

    sd_uncorrelated_gy: Volume
    sd_correlated_gy: Volume

    def relative(self, dose: Volume, which: str = "uncorrelated") -> Volume:
        """u(D)/D per voxel (unit ``"1"``; NaN where D = 0)."""
        sd = self.sd_uncorrelated_gy if which == "uncorrelated" else self.sd_correlated_gy
        d = np.asarray(dose.array, dtype=np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(d > 0, np.asarray(sd.array, dtype=np.float32) / d, np.nan)
        return dose.with_array(rel.astype(np.float32), unit="1")


def dose_uncertainty(
    tia_sd: Volume,
    kernel: DoseKernel | None,
    *,
    method: DoseMethod | str = DoseMethod.DVK,
    nuclide: str | None = None,
    ct: Volume | None = None,
    workers: int | None = None,
    min_density_g_cm3: float = 0.01,
) -> DoseUncertainty:
    """SD maps (Gy) of :func:`~.dose.voxel_dose` from the SD map of the TIA.

    Parameters
    ----------
    tia_sd
        u(Ã) per voxel (a TIA unit, as the TIA map); NaN (no SD: n = 2, trapezoid-filled
        voxels) counts as 0 — those voxels' uncertainty is *not* in the result.
    kernel, method, nuclide, ct
        As given to :func:`~.dose.voxel_dose` for the dose map.

    Returns
    -------
    DoseUncertainty
    """
    how = _enum(DoseMethod, method, "method")
    sd = np.nan_to_num(np.asarray(tia_sd.array, dtype=np.float32), nan=0.0)
    sd_vol = tia_sd.with_array(np.maximum(sd, 0.0))
    if how is DoseMethod.LOCAL:
        # Diagonal K: both limits coincide, u(D_i) = (Δ/m_i) u(Ã_i).
        one = local_deposition_dose(sd_vol, nuclide or "", ct=ct,
                                    min_density_g_cm3=min_density_g_cm3)  # fmt: skip
        return DoseUncertainty(one, one)
    if kernel is None:
        raise GeometryError("a kernel dose uncertainty needs the dose voxel kernel")
    # Gy per (TIA unit · voxel), as in voxel_dose; the variance map in (TIA unit)², scaled to
    # its maximum so that float32 keeps its range.
    k_gy = np.asarray(kernel.array_mgy_per_mbq_s, dtype=np.float64) * (
        tia_unit_to_bq_s(sd_vol) * 1e-9
    )
    scale = float(sd.max()) if sd.size and sd.max() > 0 else 1.0
    var = (np.asarray(sd_vol.array, dtype=np.float64) / scale) ** 2
    var_d = convolve_linear(var.astype(np.float32), (k_gy**2).astype(np.float32), workers=workers)
    sd_unc = np.sqrt(np.maximum(var_d, 0.0)) * np.float32(scale)
    sd_cor = convolve_linear(
        (np.asarray(sd_vol.array, dtype=np.float64) / scale).astype(np.float32),
        k_gy.astype(np.float32),
        workers=workers,
    ) * np.float32(scale)
    sd_cor = np.maximum(sd_cor, 0.0)
    if how is DoseMethod.DVK_DENSITY:
        rho = _density_on_grid(sd_vol, None, ct, 1.0)
        rho_k = np.float32(kernel_density_g_cm3(kernel))
        ratio = np.divide(rho_k, rho, out=np.zeros_like(rho), where=rho >= min_density_g_cm3)
        sd_unc, sd_cor = sd_unc * ratio, sd_cor * ratio
    return DoseUncertainty(
        sd_vol.with_array(sd_unc.astype(np.float32), unit="Gy"),
        sd_vol.with_array(sd_cor.astype(np.float32), unit="Gy"),
    )


def relative_sd_table(
    dose: Volume,
    uncertainty: DoseUncertainty,
    labels: Volume,
    names: Mapping[int, str],
    *,
    subject: str = "",
    region_kind: str = "organ",
) -> pd.DataFrame:
    """Median u(D)/D over each region's voxels, both limits (tidy, as the dose table).

    Metrics ``dose_rel_sd_median`` (uncorrelated voxels) and ``dose_rel_sd_bound_median``
    (fully correlated: the upper bound), unit ``"1"``.
    """
    if not labels.same_grid(dose, tol_mm=1e-2):
        raise GeometryError("the label map is not on the dose grid")
    lab = np.asarray(labels.array)
    rel = {
        "dose_rel_sd_median": np.asarray(uncertainty.relative(dose, "uncorrelated").array),
        "dose_rel_sd_bound_median": np.asarray(uncertainty.relative(dose, "correlated").array),
    }
    rows = []
    for label, name in sorted((int(k), str(v)) for k, v in names.items() if int(k) != 0):
        inside = lab == label
        for metric, arr in rel.items():
            vals = arr[inside]
            vals = vals[np.isfinite(vals)]
            value = float(np.median(vals)) if vals.size else float("nan")
            rows.append((subject, name, region_kind, metric, value, "1"))
    return pd.DataFrame(rows, columns=["subject", "region", "region_kind", "metric", "value",
                                       "unit"])  # fmt: skip
