"""Linear (not circular) FFT convolution of a time-integrated activity map with a dose kernel.

The absorbed dose of a voxel is the sum over source voxels of Ã(source) × K(offset), with
K the dose voxel kernel (DVK: mean dose to the voxel at an offset per decay in the centre
voxel, MIRD Pamphlet 17, Bolch et al., J Nucl Med 1999;40:11S, eq. 3). That sum is a
discrete convolution, computed here by FFT (convolution theorem) in float32 with
:mod:`scipy.fft` and ``workers`` threads.

Linear, not circular
    A discrete Fourier transform convolves circularly. Every axis is zero-padded so that no
    dose wraps around: along y and x, where only the ``same``-sized output is kept, a
    padding of c = K//2 voxels suffices (an output voxel then only sees offsets within
    ±(n − 1), which the padded period N ≥ n + c keeps apart from the kernel's support);
    along z each slab of the overlap-add has the full padding 2c. Lengths are rounded up
    to :func:`scipy.fft.next_fast_len`.

Peak memory
    The map is processed in slabs along z (overlap-add, Oppenheim & Schafer, *Discrete-Time
    Signal Processing*, 3rd ed., §8.7.3), transformed axis by axis with pruning: the x
    transform reads the unpadded slab (``n=`` pads implicitly), the y and z transforms pad
    in turn, and the inverse keeps only the output rows and slices that are needed. The slab
    height is chosen so that the working arrays stay under ``max_block_bytes``.

Cached kernel transforms
    The kernel transform for one (kernel content, padded shape) pair is kept in a small LRU
    cache, so that a cohort of maps on one grid transforms each kernel once. A kernel that is
    point-symmetric, K(−r) = K(r) (every isotropic DVK), has a real transform once centred
    at the origin; only its real part is stored (float32, half the memory).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.fft as sfft

from ...core.errors import GeometryError, InvalidValueError

__all__ = [
    "ArrayKernel",
    "DoseKernel",
    "clear_kernel_cache",
    "convolve_linear",
    "default_workers",
    "kernel_cache_info",
]


@runtime_checkable
class DoseKernel(Protocol):
    """What a dose voxel kernel must offer (duck type of ``dosimetry.kernels.VoxelKernel``).

    Attributes
    ----------
    array_mgy_per_mbq_s
        Mean absorbed dose (mGy) to each voxel per MBq·s (10⁶ decays) in the centre voxel;
        float32, (z, y, x), odd-sized and centred.
    voxel_mm
        Voxel size (dx, dy, dz) in mm.
    """

    @property
    def array_mgy_per_mbq_s(self) -> np.ndarray: ...

    @property
    def voxel_mm(self) -> tuple[float, float, float]: ...


@dataclass(frozen=True, eq=False)
class ArrayKernel:
    """A dose voxel kernel given as an array (a user's own DVK, or an analytic one in tests).

    Attributes
    ----------
    array_mgy_per_mbq_s
        Dose per MBq·s in the centre voxel, (z, y, x), odd sizes, centred.
    voxel_mm
        Voxel size (dx, dy, dz) in mm.
    medium
        The homogeneous medium the kernel was computed in (``"water"``, ``"soft_tissue"``,
        ``"bone"``).
    nuclide
        The nuclide, when the kernel belongs to one.
    density_g_cm3
        Density of the medium; None takes :data:`~.density.MEDIUM_DENSITY_G_CM3`.
    """

    array_mgy_per_mbq_s: np.ndarray
    voxel_mm: tuple[float, float, float]
    medium: str = "water"
    nuclide: str = ""
    density_g_cm3: float | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.array_mgy_per_mbq_s, dtype=np.float32)
        check_kernel_array(arr)
        arr.flags.writeable = False
        object.__setattr__(self, "array_mgy_per_mbq_s", arr)
        object.__setattr__(self, "voxel_mm", tuple(float(v) for v in self.voxel_mm))


def check_kernel_array(arr: np.ndarray) -> None:
    """Raise :class:`InvalidValueError` unless ``arr`` is a finite 3-D array with odd sizes."""
    if arr.ndim != 3 or any(n % 2 == 0 for n in arr.shape):
        raise InvalidValueError(
            f"a dose kernel must be a 3-D array with odd sizes (centred), got shape {arr.shape}",
            field="kernel",
            value=arr.shape,
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidValueError("the dose kernel has non-finite values", field="kernel")


def default_workers() -> int:
    """CPU cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


# --- kernel transform cache -------------------------------------------------------------

_CACHE_ENTRIES = 4
#: Default slab working-memory budget, in units of the map's float32 size: 3 slabs of
#: 100 slices for 256 × 256 × 300 with a 51³ kernel; measured peak 2.64 × the map with the
#: kernel transform cached, 2.96 × on the first call (the cached transform included),
#: ``benchmarks/bench_voxel.py``.
DEFAULT_BLOCK_FACTOR = 2.5
#: Smallest default budget (bytes): small maps with a large kernel go in one slab.
MIN_BLOCK_BYTES = 32 * 2**20
_cache: OrderedDict[tuple[str, tuple[int, int, int]], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()
_cache_stats = {"hits": 0, "misses": 0}


def kernel_digest(kernel: np.ndarray) -> str:
    """Content hash of a kernel array (its shape, dtype and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((kernel.shape, str(kernel.dtype))).encode())
    h.update(np.ascontiguousarray(kernel).tobytes())
    return h.hexdigest()


def clear_kernel_cache() -> None:
    """Forget every cached kernel transform (and the hit/miss counts)."""
    with _cache_lock:
        _cache.clear()
        _cache_stats.update(hits=0, misses=0)


def kernel_cache_info() -> dict[str, int]:
    """``{"entries", "hits", "misses", "bytes"}`` of the kernel transform cache."""
    with _cache_lock:
        return {
            "entries": len(_cache),
            "hits": _cache_stats["hits"],
            "misses": _cache_stats["misses"],
            "bytes": int(sum(v.nbytes for v in _cache.values())),
        }


def _kernel_spectrum(
    kernel: np.ndarray, digest: str, shape: tuple[int, int, int], workers: int
) -> np.ndarray:
    """rfftn of the kernel centred at the origin of a ``shape`` grid (cached).

    Real float32 for a point-symmetric kernel, complex64 otherwise.
    """
    key = (digest, shape)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            _cache_stats["hits"] += 1
            return _cache[key]
        _cache_stats["misses"] += 1
    # rfftn of the corner-placed kernel (zero-padded by ``s``), then the shift theorem
    # moves its centre c to the origin: × exp(+2πi k c / N) along each axis — no padded
    # real copy of the kernel is made.
    spec = sfft.rfftn(kernel, s=shape, workers=workers)
    for axis, (n, k_len) in enumerate(zip(shape, kernel.shape, strict=True)):
        k = np.arange(spec.shape[axis], dtype=np.float64)
        phase = np.exp(2j * np.pi * k * (k_len // 2) / n).astype(np.complex64)
        view = [1, 1, 1]
        view[axis] = phase.size
        spec *= phase.reshape(view)
    symmetric = np.allclose(
        kernel, kernel[::-1, ::-1, ::-1], rtol=1e-5, atol=1e-7 * float(np.abs(kernel).max())
    )
    out = spec.real.astype(np.float32) if symmetric else spec.astype(np.complex64)
    del spec
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return out


# --- the convolution ----------------------------------------------------------------------


def _plan(
    shape: tuple[int, int, int], kshape: tuple[int, int, int], max_block_bytes: int | None
) -> tuple[int, int, int, int]:
    """Slab height B and padded lengths (Bp, Yp, Xp)."""
    nz, ny, nx = shape
    cz, cy, cx = (k // 2 for k in kshape)
    yp = sfft.next_fast_len(ny + cy, real=False)
    xp = sfft.next_fast_len(nx + cx, real=True)
    xc = xp // 2 + 1
    if max_block_bytes is None:
        max_block_bytes = max(int(DEFAULT_BLOCK_FACTOR * 4 * nz * ny * nx), MIN_BLOCK_BYTES)
    best_b = 1
    for b in range(nz, 0, -1):
        bp = sfft.next_fast_len(b + 2 * cz, real=False)
        # complex64 spectrum (bp), its predecessor (b rows), kernel (≤ complex64), output slab.
        work = 8 * yp * xc * (2 * bp + b) + 4 * (b + 2 * cz) * ny * xp
        if work <= max_block_bytes:
            best_b = b
            break
    n_blocks = -(-nz // best_b)
    b = -(-nz // n_blocks)  # equal slabs: one padded shape, one cached kernel transform
    bp = sfft.next_fast_len(b + 2 * cz, real=False)
    return b, bp, yp, xp


def convolve_linear(
    values: np.ndarray,
    kernel: np.ndarray,
    *,
    workers: int | None = None,
    max_block_bytes: int | None = None,
    kernel_key: str | None = None,
) -> np.ndarray:
    """``same``-sized linear convolution of a 3-D map with a centred odd kernel (float32 FFT).

    Parameters
    ----------
    values
        The map, (z, y, x); cast to float32.
    kernel
        Odd-sized centred kernel, (z, y, x); cast to float32.
    workers
        Threads for :mod:`scipy.fft`; None uses every core this process may use.
    max_block_bytes
        Budget of the working arrays of one z-slab (bytes); None = :data:`DEFAULT_BLOCK_FACTOR`
        × the map's float32 size, at least :data:`MIN_BLOCK_BYTES`.
        Smaller budgets use thinner slabs (more overlap, more time, less memory).
    kernel_key
        Cache key of the kernel content; None hashes the array.

    Returns
    -------
    numpy.ndarray
        float32, same shape as ``values``: out[i] = Σ_j values[j] · kernel[c + i − j].
    """
    vals = np.asarray(values)
    if vals.ndim != 3:
        raise GeometryError(f"the map to convolve must be 3-D, got shape {vals.shape}")
    if vals.dtype != np.float32:
        vals = vals.astype(np.float32)
    kern = np.asarray(kernel, dtype=np.float32)
    check_kernel_array(kern)
    w = default_workers() if workers is None else int(workers)
    nz, ny, nx = vals.shape
    # Offsets beyond ±(n − 1) never reach an output voxel: crop the kernel to them.
    half = [min(k // 2, n - 1) for k, n in zip(kern.shape, vals.shape, strict=True)]
    if any(h < k // 2 for h, k in zip(half, kern.shape, strict=True)):
        kern = kern[
            tuple(slice(k // 2 - h, k // 2 + h + 1) for k, h in zip(kern.shape, half, strict=True))
        ]
        kernel_key = None
    cz = kern.shape[0] // 2
    b, bp, yp, xp = _plan(vals.shape, kern.shape, max_block_bytes)
    digest = kernel_key or kernel_digest(kern)
    spec_k = _kernel_spectrum(kern, digest, (bp, yp, xp), w)
    out = np.zeros(vals.shape, dtype=np.float32)
    for z0 in range(0, nz, b):
        slab = vals[z0 : z0 + b]
        nb = slab.shape[0]
        s = sfft.rfft(slab, n=xp, axis=2, workers=w)
        s = sfft.fft(s, n=yp, axis=1, workers=w, overwrite_x=True)
        s = sfft.fft(s, n=bp, axis=0, workers=w, overwrite_x=True)
        s *= spec_k
        s = sfft.ifft(s, axis=0, workers=w, overwrite_x=True)
        # The slab's linear result covers output slices z0 − cz … z0 + nb − 1 + cz: the
        # non-negative offsets sit at the start of the period, the negative ones at its end.
        for lo, hi, first in ((0, nb + cz, z0), (bp - cz, bp, z0 - cz)):
            a, e = max(first, 0), min(first + hi - lo, nz)
            if e <= a or hi <= lo:
                continue
            part = s[lo + (a - first) : lo + (e - first)]
            part = sfft.ifft(part, axis=1, workers=w)[:, :ny]
            out[a:e] += sfft.irfft(part, n=xp, axis=2, workers=w)[:, :, :nx]
        del s
    return out
