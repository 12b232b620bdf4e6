"""A synthetic cohort workload for exercising and benchmarking the engine.

The tasks mimic the shape of a real study — per subject·scan image work, per
subject time-activity integration, a cohort summary — with generated numpy
images instead of files, so the engine can be tested and timed without the
science modules. They emit the tidy measurement table's columns.

Each function optionally appends its task name to ``options["counter_file"]``
(one line per call; ``O_APPEND`` makes this safe across processes) so tests can
count what was recomputed, sleeps ``options["sleep_s"]`` to make runs slow
enough to kill, and raises for a subject when a file of its name exists in ``options["fail_dir"]``
(removing the file and rerunning recomputes only that subject).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from immunopet.measure import TABLE_COLUMNS
from immunopet.pipeline.engine import Task

__all__ = [
    "GENERATED_LESION_SUV",
    "GENERATED_ORGAN_SUV",
    "cohort_summary",
    "scan_regions",
    "subject_tac",
    "synthetic_tasks",
    "write_dicom_study",
]

_REGIONS = ("blood", "liver", "spleen", "kidneys", "muscle", "lesion")


def _count(options: Mapping[str, Any], name: str) -> None:
    counter = options.get("counter_file")
    if counter:
        with open(counter, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    if options.get("sleep_s"):
        time.sleep(float(options["sleep_s"]))


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def scan_regions(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Generate one noisy, blurred SUV image and measure its regions (tidy rows)."""
    subject, scan_id, time_h = options["subject"], options["scan_id"], float(options["time_h"])
    _count(options, f"scan/{subject}/{scan_id}")
    fail_dir = options.get("fail_dir")
    if fail_dir and os.path.exists(os.path.join(fail_dir, subject)):
        raise ValueError(f"synthetic failure of subject {subject}")
    n = int(options.get("shape", 48))
    rng = np.random.default_rng(_seed(subject, scan_id))
    labels = np.zeros((n, n, n), np.int32)
    step = n // 4
    for k in range(len(_REGIONS)):
        z, y = divmod(k, 3)
        labels[z * step + 2 : z * step + step, y * step + 2 : y * step + step, 4 : n - 4] = k + 1
    uptake = np.array([0.5, 8.0, 5.0, 4.0, 2.0, 1.0, 7.0]) * np.exp(-time_h / 80.0)
    image = uptake[labels] + rng.normal(0.0, 0.3, labels.shape)
    for _ in range(int(options.get("smooth_passes", 2))):
        image = ndimage.gaussian_filter(image, sigma=1.5)
    idx = labels.ravel()
    flat = image.ravel()
    counts = np.bincount(idx, minlength=len(_REGIONS) + 1)
    sums = np.bincount(idx, weights=flat, minlength=len(_REGIONS) + 1)
    maxima = ndimage.maximum(image, labels, index=np.arange(1, len(_REGIONS) + 1))
    rows = []
    for k, region in enumerate(_REGIONS, start=1):
        kind = "lesion" if region == "lesion" else "organ"
        for metric, value, unit in (
            ("suv_mean", sums[k] / counts[k], "g/mL"),
            ("suv_max", maxima[k - 1], "g/mL"),
            ("voxels", counts[k], "1"),
        ):
            rows.append(
                (
                    subject,
                    scan_id,
                    "synthetic",
                    "124I",
                    time_h,
                    region,
                    kind,
                    metric,
                    float(value),
                    unit,
                )
            )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def subject_tac(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Trapezoid integral of each region's mean SUV over the subject's scans."""
    _count(options, f"tac/{options['subject']}")
    df = pd.concat([upstream[k] for k in sorted(upstream)], ignore_index=True)
    df = df[df.metric == "suv_mean"].sort_values(["region", "time_h"])
    rows = []
    for region, g in df.groupby("region", sort=True):
        t = g.time_h.to_numpy()
        v = g.value.to_numpy()
        auc = float(np.sum(np.diff(t) * (v[1:] + v[:-1]) / 2.0))
        rows.append({"subject": options["subject"], "region": region, "auc_suv_h": auc})
    return pd.DataFrame(rows)


def cohort_summary(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Mean, SD and n of each region's integral across the subjects that finished."""
    _count(options, "cohort")
    df = pd.concat([upstream[k] for k in sorted(upstream)], ignore_index=True)
    out = df.groupby("region", sort=True).auc_suv_h.agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": "auc_mean", "std": "auc_sd", "count": "n"})


def synthetic_tasks(
    n_subjects: int = 4,
    times_h: tuple[float, ...] = (1.0, 24.0, 48.0),
    **options: Any,
) -> list[Task]:
    """The task graph of a generated cohort: scans → subject TACs → cohort summary."""
    tasks: list[Task] = []
    tacs = []
    for s in range(1, n_subjects + 1):
        subject = f"S{s:03d}"
        scans = []
        for t in times_h:
            scan_id = f"{t:g}h"
            name = f"scan/{subject}/{scan_id}"
            opts = dict(options, subject=subject, scan_id=scan_id, time_h=t)
            tasks.append(
                Task(name, "scan", scan_regions, opts, subject=subject, table="measurements")
            )
            scans.append(name)
        tac = f"tac/{subject}"
        tasks.append(
            Task(
                tac,
                "tac",
                subject_tac,
                dict(options, subject=subject),
                deps=tuple(scans),
                subject=subject,
                table="tacs",
            )
        )
        tacs.append(tac)
    tasks.append(
        Task(
            "cohort",
            "cohort",
            cohort_summary,
            dict(options),
            deps=tuple(tacs),
            table="statistics",
            optional_deps=True,
        )
    )
    return tasks


# --- a small generated DICOM study (end-to-end tests, benchmark) ------------------------

#: SUV of each labelled region in the generated images (exact: no blur, no noise).
GENERATED_ORGAN_SUV = {
    1: ("liver", 3.0),
    2: ("muscle", 0.6),
    3: ("heart_contents", 3.5),
    4: ("kidneys", 2.0),
}
#: Lesion SUV of a HER2-positive subject per scan (FDG, then 124I at 1/24/48 h);
#: HER2-negative subjects get a quarter of the 124I values.
GENERATED_LESION_SUV = {"FDG": 9.0, 1.0: 2.0, 24.0: 8.0, 48.0: 6.0}
_BACKGROUND_SUV = 0.3
_LESION_DIAMETER_MM = 24.0


def _write_generated_subject(
    root: Path, subject: str, her2_factor: float, n: int
) -> dict[str, Any]:
    from datetime import datetime, timedelta

    import nibabel as nib
    from pydicom.uid import generate_uid

    from immunopet.core.nuclides import Nuclide
    from immunopet.core.scan import Acquisition
    from immunopet.core.volume import Volume
    from immunopet.io.dicom_write import write_pet_series

    voxel_mm = 160.0 / n
    shape = (n, n, n)
    s = n / 40.0  # region boxes are defined on a 40-voxel grid and scaled
    labels = np.zeros(shape, np.int16)

    def box(z0: int, z1: int, y0: int, y1: int, x0: int, x1: int) -> tuple[slice, ...]:
        return tuple(slice(round(a * s), round(b * s)) for a, b in ((z0, z1), (y0, y1), (x0, x1)))

    labels[box(4, 14, 6, 20, 4, 16)] = 1
    labels[box(4, 14, 24, 36, 24, 36)] = 2
    labels[box(18, 28, 4, 14, 4, 14)] = 3
    labels[box(4, 10, 24, 30, 4, 10)] = 4
    centre_ijk = np.array([20, 20, 28]) * s  # (x, y, z)
    z, y, x = np.indices(shape)
    r2 = (
        (x - centre_ijk[0]) ** 2 + (y - centre_ijk[1]) ** 2 + (z - centre_ijk[2]) ** 2
    ) * voxel_mm**2
    lesion = r2 <= (_LESION_DIAMETER_MM / 2) ** 2
    frame = generate_uid()
    grid = Volume(np.zeros(shape, np.float32), (voxel_mm,) * 3, (-80.0, -80.0, -80.0),
                  unit="BQML", frame_of_reference_uid=frame)  # fmt: skip
    folder = root / subject
    folder.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.transpose(labels, (2, 1, 0)), grid.affine_ras),
             str(folder / "labels.nii.gz"))  # fmt: skip
    weight_kg, injected_bq = 70.0, 74e6
    scans: dict[str, float] = {}
    plan = (("FDG", "18F", None), ("124I-trastuzumab", "124I", 1.0),
            ("124I-trastuzumab", "124I", 24.0), ("124I-trastuzumab", "124I", 48.0))  # fmt: skip
    for tracer, nuclide, t_h in plan:
        nuc = Nuclide.from_name(nuclide)
        time_h = 1.0 if t_h is None else t_h
        suv = np.full(shape, _BACKGROUND_SUV)
        for number, (_, value) in GENERATED_ORGAN_SUV.items():
            suv[labels == number] = value
        suv[lesion] = GENERATED_LESION_SUV["FDG" if t_h is None else t_h] * (
            1.0 if t_h is None else her2_factor
        )
        injection = datetime(2024, 3, 1, 9, 0) - (timedelta(days=3) if t_h is None else timedelta())
        start = injection + timedelta(hours=time_h)
        # SUVbw = C(scan start) / (A0 decayed to scan start / weight) — QIBA SUV definition.
        present_bq = injected_bq * float(nuc.decay_factor(time_h * 3600.0))
        conc = suv * present_bq / (weight_kg * 1000.0)
        acq = Acquisition(nuc, "BQML", "START", start, injection_datetime=injection,
                          injected_activity_bq=injected_bq, patient_weight_kg=weight_kg,
                          patient_height_m=1.75, patient_sex="M", tracer=tracer,
                          patient_id=subject)  # fmt: skip
        scan_id = "FDG-1h" if t_h is None else f"I124-{t_h:g}h"
        write_pet_series(grid.with_array(conc.astype(np.float32), "BQML"), acq, folder / scan_id,
                         frame_of_reference_uid=frame, patient_id=subject)  # fmt: skip
        scans[scan_id] = time_h
    centre = grid.index_to_lps(centre_ijk)
    return {"scans": scans, "centre": [float(v) for v in centre]}


def write_dicom_study(
    root: str | Path, n_subjects: int = 2, *, voxels: int = 40, dosimetry: bool = False
) -> Path:
    """Write a small DICOM study (FDG + 124I at 1/24/48 h per subject) and its YAML.

    Each subject has four organ boxes (:data:`GENERATED_ORGAN_SUV`), one 24 mm
    spherical lesion (:data:`GENERATED_LESION_SUV`; odd subjects HER2-positive,
    even ones HER2-negative with a quarter of the 124I uptake), and an organ label
    map. No blur, no noise: measured values must equal the written ones up to the
    int16 rescaling of DICOM.

    Returns
    -------
    Path
        ``root/study.yaml``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    names = {str(k): v[0] for k, v in GENERATED_ORGAN_SUV.items()}
    (root / "names.json").write_text(json.dumps(names))
    lines = ["name: generated study", "subjects:"]
    for i in range(1, n_subjects + 1):
        subject = f"G{i:03d}"
        her2, factor = ("positive", 1.0) if i % 2 else ("negative", 0.25)
        info = _write_generated_subject(root / "data", subject, factor, voxels)
        cx, cy, cz = info["centre"]
        lines += [
            f"  - id: {subject}",
            f"    groups: {{her2: {her2}}}",
            f"    lesions: [{{id: L1, site: liver, her2: {her2}, center_mm: [{cx}, {cy}, {cz}]}}]",
            "    scans:",
        ]
        for scan_id, time_h in info["scans"].items():
            fdg = scan_id.startswith("FDG")
            tracer, nuclide = ("FDG", "18F") if fdg else ("124I-trastuzumab", "124I")
            lines.append(
                f"      - {{id: {scan_id}, path: data/{subject}/{scan_id}, tracer: {tracer}, "
                f"nuclide: {nuclide}, time: {time_h:g}h, lesion_reference: {str(fdg).lower()}, "
                f"labels: data/{subject}/labels.nii.gz, labels_from: names.json}}"
            )
    lines += [
        "analysis:",
        "  references: [muscle, liver, blood]",
        "  lesions: {method: relative, threshold: 0.41, seed_suv: 4.0}",
        f"  dosimetry: {{enabled: {str(dosimetry).lower()}}}",
    ]
    path = root / "study.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
