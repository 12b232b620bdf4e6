"""Benchmark: one-pass region statistics vs a per-label Python loop (issue 3).

A whole-body-sized PET (300 × 200 × 200 voxels of 4 mm, ~12 M voxels) with
117 organ labels (TotalSegmentator ``total`` numbering; blocky, spatially
coherent regions) plus 12 lesions is measured

1. by :func:`immunopet.measure.region_statistics` (one compiled sweep over the
   voxels): count, mean, SD, max for every label at once;
2. by the same plus SUVpeak (:func:`immunopet.measure.suv_peak_map` and its
   per-region max) — the full set of per-voxel statistics of the table;
3. by :func:`immunopet.measure.measure` (the whole tidy table);
4. by a naive loop over labels (``mask = labels == n`` then mean/std/max).

It also tries PyRadiomics first-order features for a few labels if
``radiomics`` is importable (it is not a dependency; on the development
machine ``pip install pyradiomics`` failed — no wheel for this Python and the
sdist build needs numpy at build time — so it is reported as skipped). Target: (1) < 1 s and
≥ 20× faster than (4).

Run: ``.venv/bin/python benchmarks/bench_measure.py``
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import numpy as np

from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition, Scan
from immunopet.core.volume import Volume
from immunopet.measure import measure, region_statistics, suv_peak_map
from immunopet.regions import TOTALSEGMENTATOR_V2_TOTAL, LabelMap

SHAPE = (300, 200, 200)
SPACING_MM = (4.0, 4.0, 4.0)
N_ORGANS = 117
N_LESIONS = 12


def phantom(seed: int = 0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """SUV volume, organ labels (0–117) and lesion labels (0–12)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, N_ORGANS + 1, size=(30, 20, 20)).astype(np.int16)
    organs = np.repeat(np.repeat(np.repeat(coarse, 10, 0), 10, 1), 10, 2)
    uptake = rng.uniform(0.3, 6.0, N_ORGANS + 1)
    suv = uptake[organs] * rng.gamma(20.0, 1 / 20.0, size=SHAPE)
    lesions = np.zeros(SHAPE, np.int16)
    kk, jj, ii = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    for n in range(1, N_LESIONS + 1):
        c = rng.integers(10, np.array(SHAPE) - 10)
        r = rng.uniform(2.0, 5.0)
        ball = (kk - c[0]) ** 2 + (jj - c[1]) ** 2 + (ii - c[2]) ** 2 <= r**2
        lesions[ball] = n
        suv[ball] = rng.uniform(4.0, 14.0)
    return Volume(suv, SPACING_MM, unit="SUVbw"), organs, lesions


def naive_loop(suv: np.ndarray, labels: np.ndarray, n: int) -> dict[int, tuple[float, ...]]:
    out = {}
    for lab in range(1, n):
        v = suv[labels == lab]
        out[lab] = (v.size, v.mean(), v.std(), v.max()) if v.size else (0, np.nan, np.nan, np.nan)
    return out


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    suv, organs, lesions = phantom()
    arr = np.asarray(suv.array)
    print(
        f"volume {SHAPE} = {arr.size / 1e6:.1f} M voxels, {N_ORGANS} organ labels + {N_LESIONS} lesions"
    )

    t_onepass = best_of(
        lambda: (
            region_statistics(arr, organs, N_ORGANS + 1),
            region_statistics(arr, lesions, N_LESIONS + 1),
        ),
        repeat=7,
    )
    peak = suv_peak_map(suv)
    t_peak = best_of(
        lambda: (
            region_statistics(arr, organs, N_ORGANS + 1, peak=suv_peak_map(suv)),
            region_statistics(arr, lesions, N_LESIONS + 1, peak=peak),
        ),
        repeat=2,
    )
    t_loop = best_of(
        lambda: (naive_loop(arr, organs, N_ORGANS + 1), naive_loop(arr, lesions, N_LESIONS + 1)),
        repeat=3,
    )
    # Check the two agree before quoting a speed-up.
    fast = region_statistics(arr, organs, N_ORGANS + 1)
    slow = naive_loop(arr, organs, N_ORGANS + 1)
    for lab, (cnt, mean, sd, mx) in slow.items():
        assert fast.voxels[lab] == cnt and fast.maximum[lab] == mx
        assert np.isclose(fast.mean[lab], mean) and np.isclose(fast.sd[lab], sd)

    t = datetime(2024, 3, 5, 10)
    acq = Acquisition(
        nuclide=Nuclide.from_name("124I"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=t,
        injection_datetime=t - timedelta(hours=24),
        injected_activity_bq=74e6,
        patient_weight_kg=70.0,
    )
    scan = Scan(pet=suv, acquisition=acq, subject_id="bench", scan_id="24h")
    org_map = LabelMap(suv.with_array(organs, "label"), TOTALSEGMENTATOR_V2_TOTAL)
    les_map = LabelMap(
        suv.with_array(lesions, "label"), {n: f"lesion_{n:03d}" for n in range(1, 13)}, "lesion"
    )
    t_table = best_of(
        lambda: measure(
            scan,
            [org_map, les_map],
            suv=suv,
            activity_at_scan_bq_per_ml=suv,
            activity_at_injection_bq_per_ml=suv,
            references=("liver",),
        ),
        repeat=2,
    )

    print(f"one pass (count/mean/SD/max, 129 regions): {t_onepass:7.3f} s")
    print(f"one pass + SUVpeak (sphere map + max):     {t_peak:7.3f} s")
    print(f"measure() full tidy table:                 {t_table:7.3f} s")
    print(f"per-label Python loop (count/mean/SD/max): {t_loop:7.3f} s")
    print(f"speed-up one pass vs loop:                 {t_loop / t_onepass:7.1f} ×")
    print(f"target: one pass < 1 s: {t_onepass < 1.0}; ≥ 20× faster: {t_loop / t_onepass >= 20}")
    try:
        import radiomics  # noqa: F401
    except ImportError:
        print("PyRadiomics: not installed (its source build fails here) — skipped")
    else:
        _bench_pyradiomics(suv, organs, t_onepass)


def _bench_pyradiomics(suv: Volume, organs: np.ndarray, t_onepass: float) -> None:
    import SimpleITK as sitk
    from radiomics import firstorder

    img = suv.to_sitk()
    labels_img = sitk.GetImageFromArray(organs.astype(np.int32))
    labels_img.CopyInformation(img)
    n = 5
    t0 = time.perf_counter()
    for lab in range(1, n + 1):
        ext = firstorder.RadiomicsFirstOrder(img, labels_img, label=lab)
        ext.enableAllFeatures()
        ext.execute()
    per_label = (time.perf_counter() - t0) / n
    print(
        f"PyRadiomics first-order: {per_label:.3f} s/label → {per_label * 129:.1f} s for 129 "
        f"regions ({per_label * 129 / t_onepass:.0f}× the one pass)"
    )


if __name__ == "__main__":
    main()
