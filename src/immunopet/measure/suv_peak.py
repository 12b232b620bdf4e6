"""SUVpeak: the mean SUV in a 1 cm³ sphere, at every voxel (PERCIST 1.0).

PERCIST 1.0 (Wahl et al., J Nucl Med 2009;50:122S–150S) defines SUVpeak as
the highest mean SUV in a 1 cm³ sphere (radius 6.2 mm) inside the lesion.
Here the sphere holds the voxels whose centres lie within the radius of the
centre voxel's centre, and it is centred on every voxel; a region's SUVpeak
is the maximum of this map over the region's voxels
(:func:`immunopet.measure.region_statistics` ``peak=``). Near the image edge
the mean is over the sphere voxels inside the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numba
import numpy as np

from ..core.errors import InputError
from ..core.volume import Volume

__all__ = [
    "SUV_PEAK_RADIUS_MM",
    "sphere_offsets",
    "sphere_mean_at",
    "suv_peak_map",
    "suv_peak_maxima",
]

#: Radius (mm) of a 1 cm³ sphere: (3 / (4π) · 1000 mm³)^(1/3) = 6.20 mm (PERCIST 1.0).
SUV_PEAK_RADIUS_MM = 6.2


def sphere_offsets(
    spacing_mm: Sequence[float], radius_mm: float = SUV_PEAK_RADIUS_MM
) -> np.ndarray:
    """Integer (dz, dy, dx) offsets of the voxels whose centres lie within ``radius_mm``."""
    dx, dy, dz = spacing_mm
    rz, ry, rx = (int(math.floor(radius_mm / s + 1e-9)) for s in (dz, dy, dx))
    zz, yy, xx = np.meshgrid(
        np.arange(-rz, rz + 1), np.arange(-ry, ry + 1), np.arange(-rx, rx + 1), indexing="ij"
    )
    inside = (zz * dz) ** 2 + (yy * dy) ** 2 + (xx * dx) ** 2 <= radius_mm**2 * (1 + 1e-12)
    return np.stack([zz[inside], yy[inside], xx[inside]], axis=1)


def _chords(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sphere as x-chords: for each (dz, dy) the half-width in voxels along x."""
    keys = {}
    for dz, dy, dx in offsets:
        key = (int(dz), int(dy))
        keys[key] = max(keys.get(key, 0), abs(int(dx)))
    dz = np.array([k[0] for k in keys], dtype=np.int64)
    dy = np.array([k[1] for k in keys], dtype=np.int64)
    w = np.array(list(keys.values()), dtype=np.int64)
    return dz, dy, w


@numba.njit(cache=True, nogil=True)
def _prefix_plane(arr: np.ndarray, k: int, out: np.ndarray) -> None:  # pragma: no cover
    """Row prefix sums (float64) of plane ``k``: ``out[j, i + 1] = Σ arr[k, j, :i + 1]``."""
    ny, nx = arr.shape[1], arr.shape[2]
    for j in range(ny):
        acc = 0.0
        out[j, 0] = 0.0
        for i in range(nx):
            acc += arr[k, j, i]
            out[j, i + 1] = acc


@numba.njit(cache=True, nogil=True)
def _sphere_plane(
    ring: np.ndarray,
    k: int,
    nz: int,
    dz: np.ndarray,
    dy: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Mean over the chords around every voxel of plane ``k``, from the prefix-sum ring.

    ``ring[kk % ring.shape[0]]`` holds the row prefix sums of plane ``kk`` for
    every ``kk`` within the sphere's reach of ``k``. Each chord sum is one
    difference of prefix sums, so the cost is (number of chords) per voxel;
    chords are clipped at the image edge and the divisor counts only the
    voxels inside.
    """
    m = ring.shape[0]
    ny = ring.shape[1]
    nx = ring.shape[2] - 1
    row_s = np.empty(nx)
    row_c = np.empty(nx)
    for j in range(ny):
        row_s[:] = 0.0
        row_c[:] = 0.0
        for q in range(dz.size):
            kk = k + dz[q]
            jj = j + dy[q]
            if kk < 0 or kk >= nz or jj < 0 or jj >= ny:
                continue
            half = w[q]
            p = ring[kk % m, jj]
            a = min(half, nx)  # voxels [0, a) are clipped on the left
            b = max(nx - half, a)  # voxels [b, nx) are clipped on the right
            for i in range(a, b):  # interior: no clipping (vectorisable)
                row_s[i] += p[i + half + 1] - p[i - half]
                row_c[i] += 2 * half + 1
            for i in range(0, a):
                hi = min(i + half, nx - 1)
                row_s[i] += p[hi + 1]
                row_c[i] += hi + 1
            for i in range(b, nx):
                lo = max(i - half, 0)
                row_s[i] += p[nx] - p[lo]
                row_c[i] += nx - lo
        for i in range(nx):
            out[j, i] = row_s[i] / row_c[i]


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


@numba.njit(cache=True, nogil=True)
def _sphere_at(
    arr: np.ndarray, points: np.ndarray, dz: np.ndarray, dy: np.ndarray, w: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """The chord sums of :func:`_sphere_plane` at a few voxels, in the same order of operations."""
    nz, ny, nx = arr.shape
    out = np.empty(points.shape[0])
    p = np.empty(nx + 1)
    for m in range(points.shape[0]):
        k, j, i = points[m, 0], points[m, 1], points[m, 2]
        s = 0.0
        c = 0.0
        for q in range(dz.size):
            kk = k + dz[q]
            jj = j + dy[q]
            if kk < 0 or kk >= nz or jj < 0 or jj >= ny:
                continue
            acc = 0.0
            p[0] = 0.0
            for ii in range(nx):
                acc += arr[kk, jj, ii]
                p[ii + 1] = acc
            half = w[q]
            a = min(half, nx)
            b = max(nx - half, a)
            if a <= i < b:
                s += p[i + half + 1] - p[i - half]
                c += 2 * half + 1
            elif i < a:
                hi = min(i + half, nx - 1)
                s += p[hi + 1]
                c += hi + 1
            else:
                lo = max(i - half, 0)
                s += p[nx] - p[lo]
                c += nx - lo
        out[m] = s / c
    return out


def sphere_mean_at(
    suv: np.ndarray,
    points_zyx: np.ndarray,
    spacing_mm: Sequence[float],
    radius_mm: float = SUV_PEAK_RADIUS_MM,
) -> np.ndarray:
    """The sphere mean of :func:`suv_peak_map` at the voxels ``points_zyx`` ((m, 3) indices).

    The same sums in the same order as the map (float64), so each value equals
    the map's before its storage rounding, without computing the map.
    """
    arr = np.asarray(suv)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    dz, dy, w = _chords(sphere_offsets(spacing_mm, radius_mm))
    pts = np.ascontiguousarray(points_zyx, dtype=np.int64).reshape(-1, 3)
    return _sphere_at(arr, pts, dz, dy, w)


def _planes(suv: Volume, radius_mm: float) -> Iterator[tuple[int, np.ndarray]]:
    """(k, sphere-mean plane k as float64) for every plane, from a ring of prefix planes.

    Memory: the ring holds the prefix sums of the 2·rz + 1 planes a sphere
    reaches (float64, ~14 MB for a 440 × 440 plane and rz = 3), not a copy of
    the image; the plane yielded is reused (copy it to keep it).
    """
    arr = suv.array
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    nz, ny, nx = arr.shape
    dz, dy, w = _chords(sphere_offsets(suv.spacing_mm, radius_mm))
    rz = int(np.abs(dz).max(initial=0))
    m = 2 * rz + 1
    ring = np.zeros((m, ny, nx + 1))
    plane = np.empty((ny, nx))
    for kk in range(min(rz, nz)):
        _prefix_plane(arr, kk, ring[kk % m])
    for k in range(nz):
        if k + rz < nz:
            _prefix_plane(arr, k + rz, ring[(k + rz) % m])
        _sphere_plane(ring, k, nz, dz, dy, w, plane)
        yield k, plane


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


def suv_peak_map(
    suv: Volume, radius_mm: float = SUV_PEAK_RADIUS_MM, dtype: type | None = None
) -> np.ndarray:
    """Mean SUV in the sphere of ``radius_mm`` centred on every voxel.

    The sphere (:func:`sphere_offsets`) is summed as x-chords using prefix sums
    along rows, in float64 (a compiled sweep; relative rounding error ~1e-13),
    and stored as ``dtype`` (default: the SUV's own float type — a float32 SUV
    gives a float32 map, half the memory, relative rounding 6e-8). The divisor
    is the number of sphere voxels inside the image (the sphere is not
    zero-padded into the mean). :func:`suv_peak_maxima` gives the regions'
    maxima without holding the map.
    """
    if dtype is None:
        dtype = suv.array.dtype if suv.array.dtype == np.float32 else np.float64
    out = np.empty(suv.shape, dtype=dtype)
    for k, plane in _planes(suv, radius_mm):
        out[k] = plane
    return out
