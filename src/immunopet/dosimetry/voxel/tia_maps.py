"""Voxel time-integrated activity (TIA) maps from aligned activity maps at several times.

The rules are those of the region-level kinetics, applied to every voxel of a body mask
at once (numba, :mod:`.tia_kernels`):

``"trapezoid"``
    Ã = head + Σ trapezoids + tail (MIRD Pamphlet 21, Bolch et al., J Nucl Med
    2009;50:477, "hybrid" integration; :mod:`immunopet.kinetics.trapezoid`): head
    ``"linear"`` from A(0) = 0 or ``"constant"``; tail ``"physical"`` A_n/λ_phys (an upper
    bound for a clearing voxel), ``"fit"`` A_n/λ_tail with λ_tail ≥ λ_phys from a
    log-linear fit to the last ``n_tail_points`` points (only those from the voxel's
    maximum on, at least 2; physical decay where a tail point is ≤ 0 — counted), or
    ``"none"``.
``"mono"``
    Least-squares A(t) = A₀ e^(−λt) with λ ≥ λ_phys (no biology slows physical decay) per
    voxel, Ã = A₀/λ (:mod:`immunopet.kinetics.exponential`, model ``mono``); its SD by the
    delta method with the covariance (JᵀJ)⁻¹ · RSS/(n − 2) (no SD without residual degrees
    of freedom, n = 2). A voxel whose fit fails (non-finite values, no positive activity,
    no convergence) is counted and filled by the trapezoid with a physical tail (or 0 /
    NaN, ``on_failure``); it never stops the map.

Activities are those *present at scan time* (MIRD Pamphlet 21, eq. 2); maps decay-corrected
to injection are un-corrected first (``decay_corrected=True``).

Therapy prediction (:func:`predict_therapy_tia`): each map is decay-corrected to the
biological curve with the imaging nuclide's half-life, the therapy nuclide's decay is
re-applied, A_th(t) = r · A_img(t) · exp((λ_img − λ_th) t) with r the ratio of administered
activities, and that curve is integrated with the therapy nuclide's λ_phys in the tail
and bounds. After the last scan the assumption is the tail's (physical decay of the
therapy nuclide: biology is frozen at its last measured value — an upper bound), and its
share of the TIA is reported (``tail_fraction``): for a long-lived therapy nuclide such
as I-131 after I-124 imaging it is large, and the prediction is only as good as the tail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from ...core.errors import FitError, InvalidValueError
from ...core.nuclides import Nuclide
from ...core.volume import Volume
from ...kinetics.exponential import _LAMBDA_MAX_PER_H
from ...kinetics.trapezoid import HEADS, TAILS
from . import tia_kernels as tk
from .tia_inputs import NumbaThreads, activity_unit_factor, check_series, flat_mask

__all__ = ["VoxelTiaMethod", "VoxelTiaResult", "predict_therapy_tia", "voxel_tia"]

#: Upper bound of a voxel's decay constant (h⁻¹): a 6-minute half-life, the one bound of
#: :func:`immunopet.kinetics.exponential.fit_exponential`.
LAMBDA_MAX_PER_H = _LAMBDA_MAX_PER_H


class VoxelTiaMethod(str, Enum):
    """How each voxel's curve is integrated."""

    TRAPEZOID = "trapezoid"
    MONO = "mono"


@dataclass(frozen=True)
class VoxelTiaResult:
    """A voxel TIA map with its bookkeeping.

    Attributes
    ----------
    tia
        Ã per voxel (unit ``"Bq*s"``), 0 outside the mask.
    tia_sd
        SD of Ã (Bq·s) where the fit gives it (``"mono"`` with ≥ 3 points; NaN elsewhere);
        None for the trapezoid.
    status
        uint8 code per voxel (:mod:`.tia_kernels`: 0 ok, 1 non-finite input, 2 no
        positive activity, 3 no convergence, 4 fitted tail fell back to physical decay).
    lambda_per_h
        Fitted decay constant (h⁻¹) per voxel (``"mono"``), else None.
    method, nuclide, tail
        What was integrated: method, the nuclide whose decay Ã contains, tail rule.
    n_voxels, n_failed, n_tail_fallback
        Voxels in the mask; fits that failed (filled by ``on_failure``); fitted tails
        replaced by physical decay.
    tail_fraction
        Σ Ã after the last scan / Σ Ã over the mask.
    """

    tia: Volume
    tia_sd: Volume | None
    status: Volume
    lambda_per_h: Volume | None
    method: str
    nuclide: str
    tail: str
    n_voxels: int
    n_failed: int
    n_tail_fallback: int
    tail_fraction: float

    def as_record(self) -> dict[str, Any]:
        """Flat summary for tables and logs."""
        return {
            "method": self.method,
            "nuclide": self.nuclide,
            "tail": self.tail,
            "n_voxels": self.n_voxels,
            "n_failed": self.n_failed,
            "n_tail_fallback": self.n_tail_fallback,
            "tail_fraction": self.tail_fraction,
            "tia_total_bq_s": float(np.sum(self.tia.array, dtype=np.float64)),
        }


def _integrate(
    activity: Sequence[Volume],
    t: np.ndarray,
    factors: np.ndarray,
    lam_phys: float,
    nuclide: str,
    *,
    method: VoxelTiaMethod,
    mask: Volume | np.ndarray | None,
    head: str,
    tail: str,
    n_tail_points: int,
    on_failure: str,
    workers: int | None,
) -> VoxelTiaResult:
    ref = activity[0]
    inside = flat_mask(mask, ref)
    maps_t = tuple(np.ascontiguousarray(v.array, dtype=np.float32).ravel() for v in activity)
    # Ã is linear in the activities: the factor 3600 s/h gives Bq·s directly.
    factors = np.ascontiguousarray(factors, dtype=np.float64) * 3600.0
    nvox = inside.size
    tia = np.zeros(nvox, dtype=np.float32)
    tail_part = np.zeros(nvox, dtype=np.float32)
    status = np.zeros(nvox, dtype=np.uint8)  # stays 0 (ok) outside the mask
    sd = lam = None
    tail_mode = TAILS.index(tail)  # 0 physical, 1 fit, 2 none
    with NumbaThreads(workers):
        if method is VoxelTiaMethod.TRAPEZOID:
            tk.trapezoid_kernel(
                maps_t, factors, t, inside, lam_phys, head == "constant", tail_mode, n_tail_points,
                tia, tail_part, status,
            )  # fmt: skip
            failed = status == tk.BAD_INPUT
        else:
            sd = np.full(nvox, np.nan, dtype=np.float32)
            lam = np.zeros(nvox, dtype=np.float32)
            tk.mono_fit_kernel(
                maps_t, factors, t, inside, lam_phys, LAMBDA_MAX_PER_H, 20, tia, sd, lam,
                tail_part, status,
            )  # fmt: skip
            failed = status != tk.OK
            if on_failure == "trapezoid" and failed.any():
                fill_status = np.zeros(nvox, dtype=np.uint8)
                tk.trapezoid_kernel(
                    maps_t, factors, t, failed, lam_phys, head == "constant", 0, n_tail_points,
                    tia, tail_part, fill_status,
                )  # fmt: skip
            elif on_failure == "nan":
                tia[failed] = np.nan
    n_fallback = int(np.count_nonzero(status == tk.TAIL_FALLBACK))
    total = float(np.nansum(tia, dtype=np.float64))  # 0 outside the mask
    tail_sum = float(np.nansum(tail_part, dtype=np.float64))
    shape = ref.shape

    def vol(a: np.ndarray, unit: str) -> Volume:
        return ref.with_array(a.reshape(shape), unit=unit)

    return VoxelTiaResult(
        tia=vol(tia, "Bq*s"),
        tia_sd=None if sd is None else vol(sd, "Bq*s"),
        status=vol(status, "status"),
        lambda_per_h=None if lam is None else vol(lam, "1/h"),
        method=method.value,
        nuclide=nuclide,
        tail=tail if method is VoxelTiaMethod.TRAPEZOID else "mono-exponential",
        n_voxels=int(np.count_nonzero(inside)),
        n_failed=int(np.count_nonzero(failed)),
        n_tail_fallback=n_fallback,
        tail_fraction=tail_sum / total if total != 0 else math.nan,
    )


def _options(
    method: object, head: str, tail: str, n_tail_points: int, on_failure: str
) -> VoxelTiaMethod:
    try:
        how = VoxelTiaMethod(method)
    except ValueError:
        raise FitError(
            f"unknown voxel TIA method {method!r}; use one of {[m.value for m in VoxelTiaMethod]}",
            field="method",
            value=method,
        ) from None
    if head not in HEADS:
        raise FitError(f"unknown head {head!r}; use one of {HEADS}", field="head", value=head)
    if tail not in TAILS:
        raise FitError(f"unknown tail {tail!r}; use one of {TAILS}", field="tail", value=tail)
    if n_tail_points not in (2, 3):
        raise FitError("n_tail_points must be 2 or 3", field="n_tail_points", value=n_tail_points)
    if on_failure not in ("trapezoid", "zero", "nan"):
        raise FitError(
            "on_failure must be 'trapezoid', 'zero' or 'nan'", field="on_failure", value=on_failure
        )
    return how


def voxel_tia(
    activity: Sequence[Volume],
    time_h: Sequence[float],
    nuclide: str | Nuclide,
    *,
    method: VoxelTiaMethod | str = VoxelTiaMethod.TRAPEZOID,
    mask: Volume | np.ndarray | None = None,
    head: str = "linear",
    tail: str = "physical",
    n_tail_points: int = 2,
    decay_corrected: bool = False,
    on_failure: str = "trapezoid",
    workers: int | None = None,
) -> VoxelTiaResult:
    """TIA per voxel (Bq·s) of aligned activity maps at ``time_h`` h post-injection.

    Parameters
    ----------
    activity
        One map per time point on one grid (unit Bq/kBq/MBq per voxel, or a concentration
        BQML / Bq/mL / kBq/mL, multiplied by the voxel volume).
    time_h
        Scan times after injection (h), increasing.
    nuclide
        The imaged nuclide (its ICRP-107 half-life bounds the fits and the tail).
    method
        ``"trapezoid"`` or ``"mono"`` (see the module docstring).
    mask
        Body mask (non-zero = inside), a Volume on the maps' grid or an array; None: all.
    head, tail, n_tail_points
        Trapezoid head/tail rules (:func:`immunopet.kinetics.trapezoid.integrate_trapezoid`).
    decay_corrected
        The maps are decay-corrected to injection (SUV-style): undo it first.
    on_failure
        What a failed mono fit voxel gets: ``"trapezoid"`` (physical tail), ``"zero"``, ``"nan"``.
    workers
        numba threads (None: numba's default).

    Returns
    -------
    VoxelTiaResult

    Raises
    ------
    FitError
        Unknown method/head/tail; ``"mono"`` with fewer than 2 time points.
    GeometryError
        Maps (or the mask) on different grids.
    """
    how = _options(method, head, tail, n_tail_points, on_failure)
    t = check_series(activity, time_h)
    if how is VoxelTiaMethod.MONO and t.size < 2:
        raise FitError("a mono-exponential voxel fit needs ≥ 2 time points", field="time_h")
    nuc = nuclide if isinstance(nuclide, Nuclide) else Nuclide.from_name(nuclide)
    lam_h = nuc.decay_constant_per_s * 3600.0
    factors = np.array([activity_unit_factor(v, i) for i, v in enumerate(activity)])
    if decay_corrected:
        factors = factors * np.exp(-lam_h * t)
    return _integrate(
        activity, t, factors, lam_h, nuc.name, method=how, mask=mask, head=head, tail=tail,
        n_tail_points=n_tail_points, on_failure=on_failure, workers=workers,
    )  # fmt: skip


def predict_therapy_tia(
    activity: Sequence[Volume],
    time_h: Sequence[float],
    imaging_nuclide: str | Nuclide,
    therapy_nuclide: str | Nuclide,
    *,
    activity_ratio: float = 1.0,
    method: VoxelTiaMethod | str = VoxelTiaMethod.TRAPEZOID,
    mask: Volume | np.ndarray | None = None,
    head: str = "linear",
    tail: str = "physical",
    n_tail_points: int = 2,
    decay_corrected: bool = False,
    on_failure: str = "trapezoid",
    workers: int | None = None,
) -> VoxelTiaResult:
    """Voxel TIA (Bq·s) of a therapy nuclide predicted from imaging-nuclide maps.

    A_th(t) = r · A_img(t) · exp((λ_img − λ_th) t): the imaging maps at scan time are
    decay-corrected to the biological curve (imaging half-life), the therapy nuclide's
    decay is re-applied, and the curve is integrated as in :func:`voxel_tia` with the
    therapy nuclide's λ in the tail and bounds (see the module docstring for the tail
    assumption; ``tail_fraction`` reports its share).

    Parameters
    ----------
    activity_ratio
        Administered therapy activity / administered imaging activity (r).

    Other parameters are those of :func:`voxel_tia`.
    """
    how = _options(method, head, tail, n_tail_points, on_failure)
    t = check_series(activity, time_h)
    if how is VoxelTiaMethod.MONO and t.size < 2:
        raise FitError("a mono-exponential voxel fit needs ≥ 2 time points", field="time_h")
    if not (math.isfinite(activity_ratio) and activity_ratio > 0):
        raise InvalidValueError(
            "activity_ratio must be > 0", field="activity_ratio", value=activity_ratio
        )
    img = (
        imaging_nuclide
        if isinstance(imaging_nuclide, Nuclide)
        else Nuclide.from_name(imaging_nuclide)
    )
    th = (
        therapy_nuclide
        if isinstance(therapy_nuclide, Nuclide)
        else Nuclide.from_name(therapy_nuclide)
    )
    lam_img = img.decay_constant_per_s * 3600.0
    lam_th = th.decay_constant_per_s * 3600.0
    factors = np.array([activity_unit_factor(v, i) for i, v in enumerate(activity)])
    bio = factors if decay_corrected else factors * np.exp(lam_img * t)
    factors = activity_ratio * bio * np.exp(-lam_th * t)
    return _integrate(
        activity, t, factors, lam_th, th.name, method=how, mask=mask, head=head, tail=tail,
        n_tail_points=n_tail_points, on_failure=on_failure, workers=workers,
    )  # fmt: skip
