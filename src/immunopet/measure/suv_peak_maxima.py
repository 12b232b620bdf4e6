"""Per-region SUVpeak maxima without the SUVpeak map: a pruned sweep (issue 16).

A region's PERCIST SUVpeak is the maximum over its voxels of the 1 cm³
sphere-mean map (:mod:`.suv_peak`). At clinical size (125 M voxels) the map
is 0.5–1 GB and most of it is never the maximum of anything: this module
finds the maxima of every region of several label sets in one sweep over the
planes, computing the sphere mean only in the x-blocks where it could raise a
region's best so far (an exact upper bound, the largest SUV the block's
spheres reach), with the same sums as the map so the maxima are identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from ..core.errors import InputError
from ..core.volume import Volume
from .suv_peak import SUV_PEAK_RADIUS_MM, _chords, _prefix_plane, _sphere_at, sphere_offsets

__all__ = ["suv_peak_maxima"]

#: Voxels per x-block of the upper bounds that let :func:`suv_peak_maxima` skip work.
_BLOCK = 32


@numba.njit(cache=True, nogil=True)
def _block_max(arr: np.ndarray, block: int, reach: int) -> np.ndarray:  # pragma: no cover
    """Max of each run of ``block`` voxels along x and its ``reach`` neighbour runs each side.

    Shape (nz, ny, ceil(nx / block)): entry b bounds every value a sphere centred
    in run b can reach along its row.
    """
    nz, ny, nx = arr.shape
    nb = (nx + block - 1) // block
    own = np.empty(nb)
    out = np.empty((nz, ny, nb))
    for k in range(nz):
        for j in range(ny):
            for b in range(nb):
                m = -np.inf
                for i in range(b * block, min((b + 1) * block, nx)):
                    if arr[k, j, i] > m:
                        m = arr[k, j, i]
                own[b] = m
            for b in range(nb):
                m = -np.inf
                for bb in range(max(b - reach, 0), min(b + reach + 1, nb)):
                    if own[bb] > m:
                        m = own[bb]
                out[k, j, b] = m
    return out


@numba.njit(cache=True, nogil=True)
def _plane_bounds(
    bmax: np.ndarray, k: int, dz: np.ndarray, dy: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Upper bound of the sphere mean over each x-block of plane ``k``.

    A mean never exceeds the largest value it averages, and every sphere
    centred in block ``b`` lies in the runs ``bmax[kk, jj, b]`` bounds
    (:func:`_block_max`) of the rows its chords cross.
    """
    nz, ny, nb = bmax.shape
    out[:, :] = -np.inf
    for q in range(dz.size):
        kk = k + dz[q]
        if kk < 0 or kk >= nz:
            continue
        for j in range(max(0, -dy[q]), min(ny, ny - dy[q])):
            src = bmax[kk, j + dy[q]]
            dst = out[j]
            for b in range(nb):
                if src[b] > dst[b]:
                    dst[b] = src[b]


@numba.njit(cache=True, nogil=True)
def _plane_label_max(
    ring: np.ndarray,
    k: int,
    nz: int,
    dz: np.ndarray,
    dy: np.ndarray,
    w: np.ndarray,
    labels: np.ndarray,
    bounds: np.ndarray,
    block: int,
    best: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Raise ``best[l]`` to the sphere means of plane ``k``'s voxels labelled ``l``.

    Only the x-blocks holding a voxel whose label's best is below the block's
    upper bound are computed; the sums are those of :func:`_sphere_plane`, in
    the same order, so every value computed is the map's to the last bit.
    """
    m = ring.shape[0]
    ny = ring.shape[1]
    nx = ring.shape[2] - 1
    n = best.size
    nb = bounds.shape[1]
    row_s = np.empty(block)
    row_c = np.empty(block)
    # No label present can gain in a block whose bound is below every label's best.
    floor = np.inf
    for lab in range(1, n):
        if np.isfinite(best[lab]) and best[lab] < floor:
            floor = best[lab]
    if not np.isfinite(floor):
        floor = -np.inf
    for j in range(ny):
        for b in range(nb):
            i0 = b * block
            i1 = min(i0 + block, nx)
            bound = bounds[j, b]
            if bound <= floor:
                continue
            need = False
            for i in range(i0, i1):
                lab = labels[j, i]
                if lab > 0 and lab < n and bound > best[lab]:
                    need = True
                    break
            if not need:
                continue
            row_s[:] = 0.0
            row_c[:] = 0.0
            for q in range(dz.size):
                kk = k + dz[q]
                jj = j + dy[q]
                if kk < 0 or kk >= nz or jj < 0 or jj >= ny:
                    continue
                half = w[q]
                p = ring[kk % m, jj]
                a = min(half, nx)
                bb = max(nx - half, a)
                for i in range(max(a, i0), min(bb, i1)):
                    row_s[i - i0] += p[i + half + 1] - p[i - half]
                    row_c[i - i0] += 2 * half + 1
                for i in range(i0, min(a, i1)):
                    hi = min(i + half, nx - 1)
                    row_s[i - i0] += p[hi + 1]
                    row_c[i - i0] += hi + 1
                for i in range(max(bb, i0), i1):
                    lo = max(i - half, 0)
                    row_s[i - i0] += p[nx] - p[lo]
                    row_c[i - i0] += nx - lo
            for i in range(i0, i1):
                lab = labels[j, i]
                if lab > 0 and lab < n:
                    v = row_s[i - i0] / row_c[i - i0]
                    if v > best[lab]:
                        best[lab] = v


@numba.njit(cache=True, nogil=True)
def _argmax_flat(values: np.ndarray) -> int:  # pragma: no cover - compiled
    """Flat index of the first maximum (a compiled loop: numpy's float32 argmax is slower)."""
    best = -np.inf
    where = -1
    for v in range(values.size):
        if values[v] > best:
            best = values[v]
            where = v
    return where


@numba.njit(cache=True, nogil=True)
def _argmax_per_label(
    values: np.ndarray, labels: np.ndarray, n: int
) -> np.ndarray:  # pragma: no cover - compiled
    """Flat index of the first maximum of ``values`` of every label ``0 < l < n`` (−1: none)."""
    best = np.full(n, -np.inf)
    where = np.full(n, -1, dtype=np.int64)
    for v in range(labels.size):
        lab = labels[v]
        if lab > 0 and lab < n and values[v] > best[lab]:
            best[lab] = values[v]
            where[lab] = v
    return where


def suv_peak_maxima(
    suv: Volume,
    label_sets: Sequence[np.ndarray | None],
    n_labels: Sequence[int],
    radius_mm: float = SUV_PEAK_RADIUS_MM,
) -> list[np.ndarray]:
    """Per-label maximum of the sphere-mean map (:func:`suv_peak_map`), without the map.

    Exact (the same sums as the map, in the same order) and much cheaper than
    the map:

    1. each label's best starts at the sphere mean on its SUVmax voxel
       (:func:`sphere_mean_at`), already close to its SUVpeak;
    2. the planes are swept with a ring of row prefix sums (a few planes of
       memory, not a copy of the image), and a block of 32 voxels along x is
       computed only where a label's best is below the block's upper bound
       (the largest SUV its spheres reach): most of a whole-body image —
       background, uniform organs — is never summed.

    Parameters
    ----------
    suv
        The SUV volume.
    label_sets
        Integer label arrays of ``suv``'s shape (label 0 and labels ≥ ``n`` ignored);
        None stands for the whole image as label 1.
    n_labels
        Length ``n`` of each output.

    Returns
    -------
    list of numpy.ndarray
        One float64 array of length ``n`` per set; NaN for labels without voxels.
    """
    for lab in label_sets:
        if lab is not None and lab.shape != suv.shape:
            raise InputError("label arrays must be on the SUV grid", value=lab.shape)
    arr = suv.array
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    nz, ny, nx = arr.shape
    dz, dy, w = _chords(sphere_offsets(suv.spacing_mm, radius_mm))
    best = []
    for lab, n in zip(label_sets, n_labels, strict=True):
        b = np.full(int(n), -np.inf)
        if lab is None:  # the whole image as label 1
            where = np.full(int(n), -1, dtype=np.int64)
            if n > 1 and arr.size:
                where[1] = _argmax_flat(arr.ravel())
        else:
            where = _argmax_per_label(arr.ravel(), np.ascontiguousarray(lab).ravel(), int(n))
        ok = np.flatnonzero(where >= 0)
        if ok.size:
            zyx = np.stack(np.unravel_index(where[ok], arr.shape), axis=1)
            b[ok] = _sphere_at(arr, np.ascontiguousarray(zyx, dtype=np.int64), dz, dy, w)
        best.append(b)
    reach = -(-int(w.max(initial=0)) // _BLOCK)
    bmax = _block_max(arr, _BLOCK, reach)
    bounds = np.empty((ny, bmax.shape[2]))
    everywhere = np.ones((ny, nx), dtype=np.uint8)
    rz = int(np.abs(dz).max(initial=0))
    m = 2 * rz + 1
    ring = np.zeros((m, ny, nx + 1))
    for kk in range(min(rz, nz)):
        _prefix_plane(arr, kk, ring[kk % m])
    for k in range(nz):
        if k + rz < nz:
            _prefix_plane(arr, k + rz, ring[(k + rz) % m])
        _plane_bounds(bmax, k, dz, dy, bounds)
        for lab, b in zip(label_sets, best, strict=True):
            plane = everywhere if lab is None else lab[k]
            _plane_label_max(ring, k, nz, dz, dy, w, plane, bounds, _BLOCK, b)
    return [np.where(np.isfinite(b), b, np.nan) for b in best]
