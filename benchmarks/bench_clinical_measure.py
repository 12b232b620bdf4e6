"""Benchmark: clinical-size ``immunopet measure`` vs the pydicom floor and the hand-written way (issue 16).

On a generated 440 × 440 × 645 PET at 1.65 mm (Siemens-like DICOM, BQML,
125 M voxels) with a 117-label TotalSegmentator-numbered organ map on the PET
grid (:mod:`clinical_data`, generated once into a cache folder), three ways
run one after another, each in a fresh process so that its peak memory is
its own (``os.wait4`` resource usage of that child, ``ru_maxrss``):

* **floor** — pydicom reads every slice's pixels into one preallocated
  float32 array, rescaled (RescaleSlope / RescaleIntercept per slice): the
  least any reader of this series must do;
* **hand-written** — what a user writes: SimpleITK series read
  (``ImageSeriesReader``), SUVbw factor from the headers, the label map with
  nibabel, per-label count/sum/sum of squares with :func:`numpy.bincount`
  and maxima with :func:`numpy.maximum.at`;
* **immunopet** — the CLI ``immunopet measure PET --labels labels.nii
  --labels-from totalsegmentator -o table.parquet`` (load_scan → suv_volume →
  labels_on_pet_grid → blood pool → measure, with SUVpeak and activities).

Time is the wall time of the whole process (interpreter start and imports
included, as a user waits for it); ``work_s`` is the time after the imports.

Targets (issue 16): immunopet ≤ 6× the floor's time and ≤ 4× its peak memory,
and faster and leaner than the hand-written way.

Run (2 cores, nothing else heavy running)::

    PYTHONPATH=src python benchmarks/bench_clinical_measure.py [--cache /tmp/immunopet-clinical-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clinical_data import DEFAULT_CACHE, generate  # noqa: E402


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dcm"))


def floor(cache: Path, out: Path) -> dict[str, float]:
    """pydicom: every slice's pixels into a preallocated float32 array, rescaled."""
    import numpy as np
    import pydicom

    t0 = time.perf_counter()
    files = _files(cache / "pet")
    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    arr = np.empty((len(files), int(first.Rows), int(first.Columns)), np.float32)
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        np.multiply(ds.pixel_array, np.float32(ds.RescaleSlope), out=arr[k], casting="unsafe")
        arr[k] += np.float32(ds.get("RescaleIntercept") or 0.0)
    return {"work_s": time.perf_counter() - t0, "sum": float(arr.sum(dtype=np.float64))}


def hand_written(cache: Path, out: Path) -> dict[str, float]:
    """SimpleITK series read + nibabel labels + numpy bincount / maximum.at."""
    import nibabel as nib
    import numpy as np
    import pandas as pd
    import pydicom
    import SimpleITK as sitk

    t0 = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(cache / "pet")))
    pet = sitk.GetArrayFromImage(reader.Execute())
    ds = pydicom.dcmread(_files(cache / "pet")[0], stop_before_pixels=True)
    info = ds.RadiopharmaceuticalInformationSequence[0]
    t_inj = datetime_of(str(ds.SeriesDate), str(info.RadiopharmaceuticalStartTime))
    t_scan = datetime_of(str(ds.SeriesDate), str(ds.SeriesTime))
    half_life_s = float(info.RadionuclideHalfLife)
    decayed = float(info.RadionuclideTotalDose) * 2 ** (
        -(t_scan - t_inj).total_seconds() / half_life_s
    )
    suv = pet * (float(ds.PatientWeight) * 1000.0 / decayed)
    lab = np.asanyarray(nib.load(str(cache / "labels.nii")).dataobj)
    lab = np.ascontiguousarray(np.transpose(lab, (2, 1, 0))).ravel().astype(np.intp)
    flat = suv.ravel()
    n = int(lab.max()) + 1
    count = np.bincount(lab, minlength=n)
    s1 = np.bincount(lab, weights=flat, minlength=n)
    s2 = np.bincount(lab, weights=flat * flat, minlength=n)
    vmax = np.full(n, -np.inf)
    np.maximum.at(vmax, lab, flat)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / count
        sd = np.sqrt(np.maximum(s2 / count - mean**2, 0.0))
    table = pd.DataFrame({"label": np.arange(n), "voxels": count, "mean": mean, "sd": sd,
                          "max": vmax})  # fmt: skip
    table[1:].to_csv(out / "hand.csv", index=False)
    return {"work_s": time.perf_counter() - t0, "regions": int((count[1:] > 0).sum())}


def datetime_of(da: str, tm: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.strptime(da + tm.split(".")[0], "%Y%m%d%H%M%S")


def ours(cache: Path, out: Path) -> dict[str, float]:
    """``immunopet measure`` through its CLI entry point (the same code path as the shell)."""
    t0 = time.perf_counter()
    from immunopet.cli import app

    try:
        app(
            [
                "measure",
                str(cache / "pet"),
                "--labels",
                str(cache / "labels.nii"),
                "--labels-from",
                "totalsegmentator",
                "-o",
                str(out / "table.parquet"),
            ],
            standalone_mode=False,
        )
    except SystemExit as exc:  # pragma: no cover - typer exits 0 on success
        if exc.code:
            raise
    import pandas as pd

    df = pd.read_parquet(out / "table.parquet")
    return {"work_s": time.perf_counter() - t0, "regions": int(df.region.nunique())}


WAYS = {"floor": floor, "hand-written": hand_written, "immunopet": ours}


def run_child(way: str, cache: Path, out: Path, script: str | None = None) -> dict[str, float]:
    """Run one way in a fresh interpreter; its wall time and its own peak RSS.

    ``script`` (default this file) is run with ``--child`` (and the way, for this file).
    """
    env = dict(os.environ)
    if script is None:
        cmd = [sys.executable, __file__, "--child", way]
    else:
        cmd = [sys.executable, script, "--child"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, "--cache", str(cache), "--out", str(out)],
        stdout=subprocess.PIPE,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{way} failed with exit code {proc.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall_s=wall, peak_gb=usage.ru_maxrss * 1024 / 1e9)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--child", choices=list(WAYS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", nargs="*", choices=list(WAYS), default=list(WAYS))
    args = parser.parse_args()
    if args.child:
        result = WAYS[args.child](args.cache, args.out)
        print(json.dumps(result))
        return
    t0 = time.perf_counter()
    info = generate(args.cache)
    print(f"data: {info['pet']} ({'×'.join(map(str, info['shape_zyx']))} at "
          f"{info['spacing_mm']} mm), {info['label_map']} ({info['present_labels']} labels); "
          f"ready in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for way in args.only:
            results[way] = run_child(way, args.cache, Path(tmp))
            r = results[way]
            print(f"{way:>13}: {r['wall_s']:6.1f} s wall ({r['work_s']:5.1f} s after imports), "
                  f"peak RSS {r['peak_gb']:5.2f} GB", flush=True)  # fmt: skip
    if "floor" in results and "immunopet" in results:
        f, o = results["floor"], results["immunopet"]
        print(f"immunopet / floor: time {o['wall_s'] / f['wall_s']:.1f}× (target ≤ 6×), "
              f"peak memory {o['peak_gb'] / f['peak_gb']:.1f}× (target ≤ 4×)")  # fmt: skip
    if "hand-written" in results and "immunopet" in results:
        h, o = results["hand-written"], results["immunopet"]
        print(f"immunopet / hand-written: time {o['wall_s'] / h['wall_s']:.2f}×, "
              f"peak memory {o['peak_gb'] / h['peak_gb']:.2f}× (target < 1 for both)")  # fmt: skip


if __name__ == "__main__":
    main()
