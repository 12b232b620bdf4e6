"""Compiled one-pass sweeps over label images: counts, masks, LUTs, lesion moments (issue 16).

A whole-body PET has 125 M voxels and a lesion search meets thousands of
candidate components; these loops visit every voxel once and keep per-label
accumulators, instead of building full-volume index, coordinate or
threshold arrays (each 0.5–1 GB at clinical size).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "apply_lut",
    "component_moments",
    "count_labels",
    "label_mask",
    "label_maxima",
    "threshold_by_label",
]


@numba.njit(cache=True, nogil=True)
def _moments(
    labels: np.ndarray, values: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:  # pragma: no cover
    voxels = np.zeros(n)
    sk = np.zeros(n)
    sj = np.zeros(n)
    si = np.zeros(n)
    vmax = np.full(n, -np.inf)
    use_v = values.size > 0
    nz, ny, nx = labels.shape
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                lab = labels[k, j, i]
                if lab == 0:
                    continue
                voxels[lab] += 1.0
                sk[lab] += k
                sj[lab] += j
                si[lab] += i
                if use_v:
                    v = float(values[k, j, i])
                    if v > vmax[lab]:
                        vmax[lab] = v
    return voxels, sk, sj, si, vmax


def component_moments(
    labels: np.ndarray, values: np.ndarray | None = None, n: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(voxel count, centroid index (k, j, i) as (n, 3), max of ``values``) of every label.

    Labels 0 … n−1 (0 = background: zeros); centroids NaN and maxima NaN for
    labels without voxels (and without ``values``).
    """
    lab = np.ascontiguousarray(labels)
    n = int(lab.max(initial=0)) + 1 if n is None else int(n)
    vals = np.zeros((0, 0, 0)) if values is None else np.ascontiguousarray(values)
    voxels, sk, sj, si, vmax = _moments(lab, vals, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = np.stack([sk, sj, si], axis=1) / voxels[:, None]
    vmax = np.where(np.isfinite(vmax), vmax, np.nan)
    vmax[0] = np.nan
    return voxels, centroid, vmax


@numba.njit(cache=True, nogil=True)
def _maxima(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:  # pragma: no cover
    out = np.full(n, -np.inf)
    for v in range(labels.size):
        lab = labels[v]
        if lab > 0 and lab < n:
            x = float(values[v])
            if x > out[lab]:
                out[lab] = x
    return out


def label_maxima(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Maximum of ``values`` per label 1 … n−1 (NaN for the background and absent labels)."""
    out = _maxima(np.ascontiguousarray(values).ravel(), np.ascontiguousarray(labels).ravel(), n)
    out = np.where(np.isfinite(out), out, np.nan)
    out[0] = np.nan
    return out


@numba.njit(cache=True, nogil=True)
def _at_least(
    values: np.ndarray, labels: np.ndarray, thr: np.ndarray
) -> np.ndarray:  # pragma: no cover
    out = np.zeros(labels.shape, dtype=np.bool_)
    flat_o = out.ravel()
    for v in range(labels.size):
        lab = labels[v]
        if lab > 0 and values[v] >= thr[lab]:
            flat_o[v] = True
    return out


def threshold_by_label(values: np.ndarray, labels: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Boolean mask: labelled voxels (label > 0) whose value is ≥ their label's ``thr``.

    The same as ``(labels > 0) & (values >= thr[labels])`` without the
    full-volume threshold array.
    """
    lab = np.ascontiguousarray(labels)
    out = _at_least(np.ascontiguousarray(values).ravel(), lab.ravel(), np.asarray(thr, float))
    return out.reshape(lab.shape)


@numba.njit(cache=True, nogil=True)
def _lut(labels: np.ndarray, lut: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    for v in range(labels.size):
        out[v] = lut[labels[v]]


def apply_lut(labels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``lut[labels]`` in ``lut``'s dtype, without an intp copy of ``labels``."""
    lab = np.ascontiguousarray(labels)
    out = np.empty(lab.shape, dtype=lut.dtype)
    _lut(lab.ravel(), lut, out.ravel())
    return out


@numba.njit(cache=True, nogil=True)
def _count(labels: np.ndarray, n: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.zeros(n, dtype=np.int64)
    for v in range(labels.size):
        out[labels[v]] += 1
    return out


def count_labels(labels: np.ndarray) -> np.ndarray:
    """Voxels per label number 0 … max (:func:`numpy.bincount` without its intp copy)."""
    lab = np.ascontiguousarray(labels).ravel()
    if lab.size and int(lab.min()) < 0:
        raise ValueError("label numbers must be non-negative")
    return _count(lab, int(lab.max(initial=0)) + 1)


def label_mask(labels: np.ndarray, numbers: object) -> np.ndarray:
    """Boolean mask of the voxels whose label is one of ``numbers`` (a LUT, not :func:`numpy.isin`)."""
    lab = np.asarray(labels)
    lut = np.zeros(int(lab.max(initial=0)) + 1, dtype=np.bool_)
    wanted = np.asarray(list(numbers) if not isinstance(numbers, np.ndarray) else numbers, int)
    wanted = wanted[(wanted >= 0) & (wanted < lut.size)]
    lut[wanted] = True
    return apply_lut(lab, lut)
