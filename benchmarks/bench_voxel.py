"""Benchmark: voxel dosimetry — FFT dose convolution and voxel TIA fitting (issue 14).

Targets (issue 14), each printed beside its baseline and floor measured in the same run:

1. a 256 × 256 × 300 TIA map convolved with a 51³ dose kernel in < 0.5 s on 2 cores
   (:func:`immunopet.dosimetry.voxel.voxel_dose`, method ``dvk``: float32 FFT, kernel
   transform cached);
   baseline: float64 :func:`scipy.signal.fftconvolve` (``mode="same"``); floor: one forward
   + inverse ``rfftn`` of the fully padded float32 volume (``workers=2``), the work a
   single-shot linear FFT convolution cannot avoid;
2. voxel TIA fitting (mono-exponential, per voxel) of 20 M voxels × 4 time points in < 3 s
   (:func:`immunopet.dosimetry.voxel.voxel_tia`, 2 numba threads); floor: one pass reading
   the 4 maps (their sum); the trapezoid beside it;
3. peak memory of the convolution < 3 × the TIA map's size (``tracemalloc``: numpy
   allocations during the call, output included; cold = kernel transform not yet cached).

Run: ``.venv/bin/python benchmarks/bench_voxel.py`` (``--small`` for a quick check).
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc

import numpy as np
import scipy.fft as sfft
import scipy.signal

from immunopet.core.volume import Volume
from immunopet.dosimetry.voxel import ArrayKernel, clear_kernel_cache, voxel_dose, voxel_tia

WORKERS = 2
SMALL = "--small" in sys.argv
MAP_SHAPE = (60, 64, 64) if SMALL else (300, 256, 256)
KERNEL_HALF = 25  # 51³
FIT_SHAPE = (40, 100, 100) if SMALL else (250, 283, 283)  # 20.0 M voxels
TIMES_H = np.array([1.0, 24.0, 48.0, 96.0])


def best_of(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def dose_kernel() -> np.ndarray:
    """A DVK-like kernel: 1 / (r² + ½) falling off, 51³, point-symmetric, float32."""
    z = np.arange(-KERNEL_HALF, KERNEL_HALF + 1, dtype=np.float32)
    r2 = z[:, None, None] ** 2 + z[None, :, None] ** 2 + z[None, None, :] ** 2
    return (0.2 / (r2 + 0.5) * np.exp(-np.sqrt(r2) / 8.0)).astype(np.float32)


def bench_convolution() -> None:
    rng = np.random.default_rng(0)
    tia = rng.gamma(2.0, 1.0, MAP_SHAPE).astype(np.float32)
    k = dose_kernel()
    map_bytes = tia.nbytes

    tia_vol = Volume(tia, (4.0, 4.0, 4.0), unit="MBq*s")
    kernel = ArrayKernel(k, (4.0, 4.0, 4.0))

    def run() -> np.ndarray:
        return np.asarray(voxel_dose(tia_vol, kernel, workers=WORKERS).array)

    clear_kernel_cache()
    tracemalloc.start()
    t0 = time.perf_counter()
    ours = run()
    cold_s = time.perf_counter() - t0
    cold_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ours = ours * 1e3  # Gy → mGy, to compare with the kernel's unit
    tracemalloc.start()
    run()
    warm_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    warm_s = best_of(run)

    t0 = time.perf_counter()
    ref = scipy.signal.fftconvolve(tia.astype(np.float64), k.astype(np.float64), mode="same")
    base_s = time.perf_counter() - t0
    err = float(np.abs(ours - ref).max() / np.abs(ref).max())
    del ref

    full = [
        sfft.next_fast_len(n + m - 1, real=True) for n, m in zip(tia.shape, k.shape, strict=True)
    ]
    padded = np.zeros(full, dtype=np.float32)
    padded[: tia.shape[0], : tia.shape[1], : tia.shape[2]] = tia

    def floor() -> None:
        sfft.irfftn(sfft.rfftn(padded, workers=WORKERS), s=full, workers=WORKERS)

    floor_s = best_of(floor)
    print(f"1. convolution {MAP_SHAPE} ⊛ {k.shape}, {WORKERS} workers")
    print(f"   ours voxel_dose (kernel cached)  {warm_s:7.3f} s   target < 0.5 s")
    print(f"   ours (first call, kernel FFT)    {cold_s:7.3f} s")
    print(f"   baseline fftconvolve float64     {base_s:7.3f} s   ({base_s / warm_s:.1f}× ours)")
    print(f"   floor rfftn+irfftn {tuple(full)} f32 {floor_s:7.3f} s")
    print(f"   max |ours − float64| / max       {err:9.2e}")
    print(f"3. peak memory / TIA map size ({map_bytes / 2**20:.0f} MiB): "
          f"warm {warm_peak / map_bytes:.2f}×, cold {cold_peak / map_bytes:.2f}×   target < 3×")  # fmt: skip


def bench_tia() -> None:
    rng = np.random.default_rng(1)
    n = int(np.prod(FIT_SHAPE))
    a0 = rng.uniform(1e3, 1e5, FIT_SHAPE).astype(np.float32)
    lam = rng.uniform(0.00288, 0.05, FIT_SHAPE).astype(np.float32)
    noise = 0.05
    maps = []
    for t in TIMES_H:
        m = a0 * np.exp(-lam * np.float32(t))
        m *= rng.normal(1.0, noise, FIT_SHAPE).astype(np.float32)
        maps.append(Volume(m, (4.0, 4.0, 4.0), unit="Bq"))
    del a0, lam
    small = [Volume(v.array[:2, :8, :8], v.spacing_mm, unit=v.unit) for v in maps]
    voxel_tia(small, TIMES_H, "Zr-89", method="mono", workers=WORKERS)  # compile / load cache
    voxel_tia(small, TIMES_H, "Zr-89", method="trapezoid", workers=WORKERS)
    mono_s = best_of(lambda: voxel_tia(maps, TIMES_H, "Zr-89", method="mono", workers=WORKERS), 2)
    res = voxel_tia(maps, TIMES_H, "Zr-89", method="mono", workers=WORKERS)
    trap_s = best_of(lambda: voxel_tia(maps, TIMES_H, "Zr-89", workers=WORKERS), 2)
    arrays = [v.array for v in maps]
    out = np.empty_like(arrays[0])

    def floor() -> None:
        np.add(arrays[0], arrays[1], out=out)
        np.add(out, arrays[2], out=out)
        np.add(out, arrays[3], out=out)

    floor_s = best_of(floor)
    print(f"2. voxel TIA, {n / 1e6:.1f} M voxels × {TIMES_H.size} time points, {WORKERS} threads")
    print(f"   ours mono-exponential fit        {mono_s:7.3f} s   target < 3 s "
          f"({res.n_failed} failed fits)")  # fmt: skip
    print(f"   ours trapezoid + physical tail   {trap_s:7.3f} s")
    print(f"   floor: one pass summing the maps {floor_s:7.3f} s")


if __name__ == "__main__":
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} CPUs"
    )
    bench_convolution()
    bench_tia()
