"""Benchmark: the whole per-scan recipe on a clinical-size scan (issue 16).

The scan of :mod:`clinical_data` (440 × 440 × 645 PET at 1.65 mm, Siemens-like
DICOM, 117-label TotalSegmentator map, 20 lesions) goes through what
``immunopet run`` does for a lesion-reference scan:
:func:`immunopet.workflow.find_lesions` (read, SUV, organ labels, lesion search
under the study's default lesion policy) then
:func:`immunopet.workflow.measure_scan` (read, SUV, organs with lesion voxels
taken out, blood pool, lesions with SUVpeak, core SUVmax, background shell,
MTV/TLG), each in one fresh process for its own peak memory
(``os.wait4`` ``ru_maxrss``). The pydicom floor of
``bench_clinical_measure.py`` runs beside it in the same run.

Target (issue 16): ≤ 60 s and ≤ 3 GB on 2 cores.

Run::

    PYTHONPATH=src python benchmarks/bench_clinical_recipe.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clinical_measure import run_child  # noqa: E402
from clinical_data import DEFAULT_CACHE, generate  # noqa: E402


def recipe(cache: Path, out: Path) -> dict[str, float]:
    """find_lesions + measure_scan of the study defaults, as ``immunopet run`` calls them."""
    t0 = time.perf_counter()
    import warnings

    from immunopet.study import LesionOptions
    from immunopet.workflow import ScanInput, find_lesions, lesion_policy, measure_scan

    warnings.simplefilter("ignore")
    si = ScanInput(
        subject="CLIN-001", scan_id="FDG_1h", path=str(cache / "pet"), tracer="FDG",
        nuclide="18F", time_h=1.0, labels=str(cache / "labels.nii"),
        labels_from="totalsegmentator",
    )  # fmt: skip
    options = LesionOptions()
    lesions, suv = find_lesions(si, lesion_policy(options))
    del suv
    t_lesions = time.perf_counter() - t0
    table, suv, _ = measure_scan(
        si, suv_kind="bw", references=("muscle", "liver", "blood"),
        lesion_core_mm=options.core_mm, reference=lesions, is_reference=True,
    )  # fmt: skip
    frame = table.frame
    return {
        "work_s": time.perf_counter() - t0,
        "find_lesions_s": t_lesions,
        "lesions": len(lesions.table),
        "regions": int(frame.region.nunique()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(recipe(args.cache, args.out)))
        return
    info = generate(args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        floor = run_child("floor", args.cache, Path(tmp))
        r = run_child("recipe", args.cache, Path(tmp), script=__file__)
    print(f"        floor: {floor['wall_s']:6.1f} s wall, peak RSS {floor['peak_gb']:5.2f} GB")
    print(f"       recipe: {r['wall_s']:6.1f} s wall (find_lesions {r['find_lesions_s']:.1f} s), "
          f"peak RSS {r['peak_gb']:5.2f} GB; {r['lesions']} lesions found "
          f"({len(info['lesions'])} drawn), {r['regions']} regions measured")  # fmt: skip
    print(f"target ≤ 60 s and ≤ 3 GB: {'met' if r['wall_s'] <= 60 and r['peak_gb'] <= 3 else 'NOT met'}"
          f" ({r['wall_s'] / floor['wall_s']:.1f}× the floor's time, "
          f"{r['peak_gb'] / floor['peak_gb']:.1f}× its memory)")  # fmt: skip


if __name__ == "__main__":
    main()
