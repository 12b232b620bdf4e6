"""Statistics of every labelled region in one sweep over the voxels.

:func:`region_statistics` is the engine of :func:`immunopet.measure.measure`:
a numba-compiled loop over the voxels (not over the labels) accumulates
count, (weighted) sum, sum of squares, maxima — and optionally the SUVpeak
maximum and two more totals such as activity concentrations — of every label
at once, the way :func:`numpy.bincount` does for a single sum. Its cost does
not grow with the number of labels (``benchmarks/bench_measure.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from ..core.errors import InputError

__all__ = ["RegionStatistics", "region_statistics", "whole_image_statistics"]


@dataclass(frozen=True)
class RegionStatistics:
    """Per-label statistics, each an array indexed by label number (0 … n_labels-1).

    ``weight`` is the voxel count (or the sum of fractional occupancies);
    ``maximum``/``peak`` are NaN for empty labels.
    """

    voxels: np.ndarray
    weight: np.ndarray
    total: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    maximum: np.ndarray
    peak: np.ndarray | None
    extra_totals: tuple[np.ndarray, ...] = ()


_LANES = 4


@numba.njit(cache=True, nogil=True)
def _one_pass_plain(
    values: np.ndarray, labels: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """Single sweep accumulating count, Σx, Σx² and max of every label (unit weights).

    Consecutive voxels go to 4 interleaved sets of accumulators ("lanes") so
    that runs of one label do not serialise on a single memory location; the
    lanes are summed at the end.
    """
    voxels = np.zeros((n, _LANES))
    s1 = np.zeros((n, _LANES))
    s2 = np.zeros((n, _LANES))
    vmax = np.full((n, _LANES), -np.inf)
    size = values.size
    full = size - size % _LANES
    for start in range(0, full, _LANES):
        for lane in range(_LANES):
            k = labels[start + lane]
            if k == 0:
                continue  # background
            x = float(values[start + lane])  # float64 accumulation of float32 input
            voxels[k, lane] += 1.0
            s1[k, lane] += x
            s2[k, lane] += x * x
            if x > vmax[k, lane]:
                vmax[k, lane] = x
    for i in range(full, size):
        k = labels[i]
        if k == 0:
            continue
        x = float(values[i])
        voxels[k, 0] += 1.0
        s1[k, 0] += x
        s2[k, 0] += x * x
        if x > vmax[k, 0]:
            vmax[k, 0] = x
    out_max = np.full(n, -np.inf)
    for k in range(n):
        for lane in range(_LANES):
            if vmax[k, lane] > out_max[k]:
                out_max[k] = vmax[k, lane]
    return voxels.sum(axis=1), s1.sum(axis=1), s2.sum(axis=1), out_max


@numba.njit(cache=True, nogil=True)
def _one_pass_general(
    values: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    peak: np.ndarray,
    extra1: np.ndarray,
    extra2: np.ndarray,
    n: int,
    min_weight: float,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """As :func:`_one_pass_plain` with weights, a SUVpeak map and up to two more
    arrays to total (e.g. activity concentrations); length 0 = absent."""
    voxels = np.zeros(n)
    weight = np.zeros(n)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    vmax = np.full(n, -np.inf)
    pmax = np.full(n, -np.inf)
    e1 = np.zeros(n)
    e2 = np.zeros(n)
    use_w = weights.size > 0
    use_p = peak.size > 0
    use_1 = extra1.size > 0
    use_2 = extra2.size > 0
    for i in range(values.size):
        k = labels[i]
        if k == 0:
            continue  # background
        x = float(values[i])
        w = weights[i] if use_w else 1.0
        voxels[k] += 1.0
        weight[k] += w
        s1[k] += w * x
        s2[k] += w * x * x
        if use_1:
            e1[k] += w * extra1[i]
        if use_2:
            e2[k] += w * extra2[i]
        if w >= min_weight:
            if x > vmax[k]:
                vmax[k] = x
            if use_p and peak[i] > pmax[k]:
                pmax[k] = peak[i]
    return voxels, weight, s1, s2, vmax, pmax, e1, e2


def _float_array(a: np.ndarray) -> np.ndarray:
    """Flat float32/float64 view of ``a`` (no copy when already contiguous); else float64.

    The kernels read float32 or float64 and accumulate in float64, so a float32
    SUV volume is never copied to float64.
    """
    arr = np.asarray(a)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr).ravel()


def region_statistics(
    values: np.ndarray,
    labels: np.ndarray,
    n_labels: int | None = None,
    *,
    weights: np.ndarray | None = None,
    peak: np.ndarray | None = None,
    totals: Sequence[np.ndarray | None] = (),
    max_min_weight: float = 0.5,
) -> RegionStatistics:
    """Statistics of ``values`` for every label ≥ 1 at once, in one sweep over the voxels.

    Label 0 is background and is skipped (its entries are 0 / NaN); give the
    whole image label 1 to measure it.

    The sweep is a compiled (numba) loop over voxels — not over labels — that
    accumulates count, weighted sum, sum of squares and maxima of
    every label together; its cost does not grow with the number of labels.

    Parameters
    ----------
    values
        Voxel values (any shape; flattened).
    labels
        Non-negative integer labels, same size as ``values``.
    n_labels
        Length of the output arrays (default ``labels.max() + 1``).
    weights
        Fractional occupancies (partial-volume labels); default 1.
    peak
        Optional per-voxel SUVpeak map (same size): its per-label max is ``peak``.
    totals
        Up to two more arrays (same size; None = absent) whose weighted per-label
        sums are wanted in the same sweep (activity concentrations); returned
        in ``extra_totals`` (NaN arrays for absent ones).
    max_min_weight
        With weights, maxima consider only entries with weight ≥ this (voxels
        mostly inside the region).

    Returns
    -------
    RegionStatistics
        Arrays indexed by label; mean/SD/maxima NaN for empty labels.
    """
    v = _float_array(values)
    lab = np.ascontiguousarray(labels).ravel()
    if v.shape != lab.shape:
        raise InputError(f"values ({v.size}) and labels ({lab.size}) differ in size")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise InputError("labels must be integers", value=str(lab.dtype))
    n = int(lab.max(initial=0)) + 1 if n_labels is None else int(n_labels)
    if lab.size and (int(lab.min()) < 0 or int(lab.max()) >= n):
        raise InputError("labels must lie in [0, n_labels)")
    # The kernel is compiled once per label dtype (cached on disk); other dtypes are cast.
    if lab.dtype not in (np.uint8, np.int16, np.uint16, np.int32, np.int64):
        lab = lab.astype(np.int64)
    empty = np.zeros(0)
    w = empty if weights is None else _float_array(weights)
    p = empty if peak is None else _float_array(peak)
    if len(totals) > 2:
        raise InputError("at most two extra arrays can be totalled in one sweep")
    ex = [empty if t is None else _float_array(t) for t in totals]
    ex += [empty] * (2 - len(ex))
    if any(a.size not in (0, v.size) for a in (w, p, *ex)):
        raise InputError("weights, peak and totals must match the values in size")
    if weights is None and peak is None and not any(a.size for a in ex):
        voxels, s1, s2, vmax = _one_pass_plain(v, lab, n)
        weight, pmax = voxels, vmax
        e1 = e2 = np.full(n, np.nan)
    else:
        voxels, weight, s1, s2, vmax, pmax, e1, e2 = _one_pass_general(
            v, lab, w, p, ex[0], ex[1], n, max_min_weight if weights is not None else -np.inf
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / weight
        # Σx²/w − mean²: relative error of the variance ~ 1e-16 · (mean / SD)², negligible
        # for PET regions (mean / SD < 10⁴); clipped at 0 for constant regions.
        sd = np.sqrt(np.maximum(s2 / weight - mean**2, 0.0))
    vmax = np.where(np.isfinite(vmax), vmax, np.nan)
    pmax = np.where(np.isfinite(pmax), pmax, np.nan)
    return RegionStatistics(
        voxels=voxels,
        weight=weight,
        total=s1,
        mean=mean,
        sd=sd,
        maximum=vmax,
        peak=pmax if peak is not None else None,
        extra_totals=tuple(
            e if t is not None else np.full(n, np.nan)
            for e, t in zip((e1, e2), totals, strict=False)
        ),
    )


@numba.njit(cache=True, nogil=True)
def _whole_pass(
    values: np.ndarray, extra1: np.ndarray, extra2: np.ndarray
) -> tuple[float, float, float, float, float]:  # pragma: no cover - compiled
    s1 = 0.0
    s2 = 0.0
    vmax = -np.inf
    e1 = 0.0
    e2 = 0.0
    use_1 = extra1.size > 0
    use_2 = extra2.size > 0
    w = 1.0  # written as the weighted sweep of _one_pass_general, so it rounds alike
    for i in range(values.size):
        x = float(values[i])
        s1 += w * x
        s2 += w * x * x
        if use_1:
            e1 += w * extra1[i]
        if use_2:
            e2 += w * extra2[i]
        if x > vmax:
            vmax = x
    return s1, s2, vmax, e1, e2


def whole_image_statistics(
    values: np.ndarray, *, totals: Sequence[np.ndarray | None] = ()
) -> RegionStatistics:
    """:func:`region_statistics` of the whole image as label 1, without a label array.

    The same sums in the same order as :func:`region_statistics` with every
    voxel labelled 1 and unit weights (its general, weighted sweep), so the
    numbers are identical; no 1-valued label volume is built.
    """
    v = _float_array(values)
    empty = np.zeros(0)
    ex = [empty if t is None else _float_array(t) for t in totals]
    ex += [empty] * (2 - len(ex))
    if any(a.size not in (0, v.size) for a in ex):
        raise InputError("totals must match the values in size")
    s1, s2, vmax, e1, e2 = _whole_pass(v, ex[0], ex[1])
    count = float(v.size)
    nan = math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / count if count else nan
        sd = math.sqrt(max(s2 / count - mean**2, 0.0)) if count else nan
    vmax = vmax if np.isfinite(vmax) else nan
    return RegionStatistics(
        voxels=np.array([0.0, count]),
        weight=np.array([0.0, count]),
        total=np.array([0.0, s1]),
        mean=np.array([nan, mean]),
        sd=np.array([nan, sd]),
        maximum=np.array([nan, vmax]),
        peak=None,
        extra_totals=tuple(
            np.array([0.0, e]) if t is not None else np.full(2, nan)
            for e, t in zip((e1, e2), totals, strict=False)
        ),
    )
