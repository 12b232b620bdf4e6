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

from ..core.volume import Volume

__all__ = [
    "SUV_PEAK_RADIUS_MM",
    "sphere_offsets",
    "sphere_mean_at",
    "suv_peak_map",
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


def suv_peak_map(
    suv: Volume, radius_mm: float = SUV_PEAK_RADIUS_MM, dtype: type | None = None
) -> np.ndarray:
    """Mean SUV in the sphere of ``radius_mm`` centred on every voxel.

    The sphere (:func:`sphere_offsets`) is summed as x-chords using prefix sums
    along rows, in float64 (a compiled sweep; relative rounding error ~1e-13),
    and stored as ``dtype`` (default: the SUV's own float type — a float32 SUV
    gives a float32 map, half the memory, relative rounding 6e-8). The divisor
    is the number of sphere voxels inside the image (the sphere is not
    zero-padded into the mean). :func:`.suv_peak_maxima.suv_peak_maxima` gives the regions'
    maxima without holding the map.
    """
    if dtype is None:
        dtype = suv.array.dtype if suv.array.dtype == np.float32 else np.float64
    out = np.empty(suv.shape, dtype=dtype)
    for k, plane in _planes(suv, radius_mm):
        out[k] = plane
    return out
