"""Benchmark: DICOM PET ingest of a 300-slice series (issue 11).

A 300-slice PET series (192 × 192 int16 slices, per-slice RescaleSlope, the
``"siemens"`` flavour of :mod:`immunopet.io.dicom_write`) is generated in a
temporary folder and read

1. by :func:`immunopet.io.load_scan` followed by :func:`immunopet.quant.suv_volume`
   (ours: header discovery, geometry, every plausibility check, pixels, SUV);
2. by the *floor*: ``pydicom.dcmread`` of every slice + ``pixel_array`` into a
   preallocated float32 array, with the per-slice rescale — the least any reader
   that decodes every slice must do.

Each figure is the best of ``REPEATS`` runs (the OS file cache is warm after
the first). The "before" figure below was measured on the development machine
(2 shared cores) before the issue-11 changes, with the same command:

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        PYTHONPATH=src .venv/bin/python benchmarks/bench_ingest.py

BEFORE (commit 6eb3ec5): ours 0.391 s, floor 0.210 s in the same run (ratio 1.86).
AFTER (issue 11, every check on), three interleaved runs with the before code
re-run from a checkout of 6eb3ec5 on the same data (``PYTHONPATH=<checkout>/src``):
ours 0.405 / 0.426 / 0.411 s, before-code 0.438 / 0.410 / 0.429 s, floors
0.209–0.223 s; ratio to the floor 1.85–1.98 (ours) vs 1.90–2.00 (before): equal
within the noise of the shared machine. The checks cost ~10 %; reading native
16-bit pixels straight from the buffer (``io.dicom_pixels._native_int16``) wins it
back. Compare ratios to the floor of the same run.

Run: ``.venv/bin/python benchmarks/bench_ingest.py``
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom

from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import load_scan
from immunopet.io.dicom_write import write_pet_series
from immunopet.quant import suv_volume

N_SLICES = 300
N_XY = 192
REPEATS = 3
#: load_scan + suv_volume (s), best of 3, measured before the issue-11 changes (commit 6eb3ec5).
BEFORE_S: float | None = 0.391  # floor in the same run: 0.210 s


def make_series(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    # Mean 300 Bq/mL over the 530-L box: 160 MBq, 0.7 × the dose at scan start (a box
    # holding more than the injected activity is refused by suv_volume). The values do not
    # change the timing: the "before" figure was measured with gamma(2, 2000).
    arr = rng.gamma(2.0, 150.0, size=(N_SLICES, N_XY, N_XY))
    vol = Volume(arr, (4.0, 4.0, 3.0), (-384.0, -384.0, -900.0), unit="BQML")
    start = datetime(2024, 3, 1, 10, 0, 0)
    acq = Acquisition(
        nuclide=Nuclide.from_name("F-18"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=start,
        injection_datetime=start - timedelta(hours=1),
        injected_activity_bq=350e6,
        patient_weight_kg=75.0,
        frame_duration_s=180.0,
    )
    return write_pet_series(vol, acq, folder, flavour="siemens")


def ours(folder: Path) -> np.ndarray:
    scan = load_scan(folder)
    return suv_volume(scan).array


def floor(files: list[Path]) -> np.ndarray:
    out = np.empty((len(files), N_XY, N_XY), np.float32)
    for k, path in enumerate(files):
        ds = pydicom.dcmread(path)
        out[k] = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return out


def best_of(fn, *args) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = make_series(Path(tmp))
        t_ours = best_of(ours, Path(tmp))
        t_floor = best_of(floor, files)
    print(f"ingest of a {N_SLICES}-slice {N_XY}x{N_XY} PET series (best of {REPEATS}):")
    print(f"  ours   load_scan + suv_volume : {t_ours:7.3f} s")
    if BEFORE_S is not None:
        print(f"  before (commit 6eb3ec5)       : {BEFORE_S:7.3f} s  (recorded, same command)")
    print(f"  floor  dcmread + pixel_array  : {t_floor:7.3f} s")
    print(f"  ours / floor = {t_ours / t_floor:.2f}")


if __name__ == "__main__":
    main()
