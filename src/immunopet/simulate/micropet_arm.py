"""The micro-PET arm written as images: 3 groups × 5 mice × 5 time points, 124I, 14.8 MBq.

Per animal (seeded): weight N(24, 1.5) g, injected activity 14.8 MBq × N(1, 0.03)
(syringe measurement), tumour diameter U(5, 8) mm, injection times 10 min apart.
Per-animal uptakes are a random draw from the published group means and SDs
(:data:`~.preclinical.MICROPET_GROUPS`; 24 h tumour %ID/g and T/M, liver
3.62 ± 1.18 %ID/g), not forced to the exact sample statistics; other time
points follow the assumed IgG profiles of :mod:`.preclinical` with 10 % CV.
Kidneys (0.35 × blood), lungs (0.4 × blood) and bladder are assumed.

The published values are what the paper's readers measured on micro-PET images
(ROI-based, no partial-volume correction). As the clinical twin does, the twin
reads each drawn tumour, muscle and liver value as an image reading and sets
the true concentrations so that the noiseless image reads them in a reader's
ROI: the tumour's true sphere, and 4 mm spheres at the muscle and liver
centres written to the study file. Readings are linear in the true values,
``reading_i = Σ_j M_ij · true_j + spill_i`` (M_ij: mean over ROI i of region j's
blurred weight map; spill_i from blood, lungs, kidneys, bladder, used as
drawn), so ``true = M⁻¹ (target − spill)``. For the tumour M_tt is the
sphere-mean recovery coefficient of that animal's tumour under the micro-PET
kernel (:mod:`.mouse`; ≈ 0.43 for 6.5 mm with 124I). The analysis never sees
this: it grows its own tumour VOI on noisy images.

Output (``out_dir``): ``images/<animal>_<t>h.nii.gz`` + PET-BIDS ``.json`` (Bq/mL
at scan start, TimeZero = injection, weight, injected activity, tracer), and
``micropet_truth.csv`` (true and target %ID/g per animal, region, time; hidden
from the analysis, read by validation only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.nuclides import Nuclide
from ..core.scan import Acquisition
from ..io.nifti import write_nifti
from ..measure.preclinical import sphere_voi
from .mouse import (
    MOUSE_REGIONS,
    Blurrer,
    MicroPetSystem,
    micropet_kernel,
    mouse_anatomy,
    noisy_image,
)
from .preclinical import (
    _BLOOD_PCT,
    _LIVER_PCT,
    _MUSCLE_PROFILE,
    _TUMOUR_PROFILE,
    MICROPET_GROUPS,
    TIMES_H,
)

__all__ = ["READER_SPHERE_MM", "MicropetArm", "simulate_micropet_arm"]

_BLADDER_PCT = (6.0, 4.0, 3.0, 2.5, 2.0)  # assumed free-iodide excretion
_CALIBRATED = ("tumour", "muscle", "liver")
#: Diameter (mm) of the reader's muscle and liver spheres (the study model's default).
READER_SPHERE_MM = 4.0
_INJECTION_START = datetime(2026, 1, 5, 9, 0, 0)


@dataclass(frozen=True)
class MicropetArm:
    """Where the arm was written and its study-file section."""

    study_section: dict[str, Any]
    truth: pd.DataFrame
    truth_path: Path


def _targets(rng: np.random.Generator, group: str, n: int) -> list[dict[str, np.ndarray]]:
    """Per animal: region → %ID/g at each of TIMES_H (image readings for tumour/muscle/liver)."""
    _, _, _, (t_mean, t_sd), (r_mean, r_sd) = MICROPET_GROUPS[group]
    tumour24 = np.clip(rng.normal(t_mean, t_sd, n), 0.5, None)
    tm24 = np.clip(rng.normal(r_mean, r_sd, n), 1.2, None)
    liver_sd = 1.18 if group == "trastuzumab_her2pos" else 0.5
    liver24 = np.clip(rng.normal(3.62, liver_sd, n), 1.0, None)
    out = []
    for a in range(n):
        cv = lambda: np.where(np.asarray(TIMES_H) == 24.0, 1.0, rng.normal(1.0, 0.1, len(TIMES_H)))  # noqa: E731
        blood = np.asarray(_BLOOD_PCT) * rng.normal(1.0, 0.1, len(TIMES_H))
        out.append(
            {
                "tumour": tumour24[a] * np.asarray(_TUMOUR_PROFILE[group]) * cv(),
                "muscle": tumour24[a] / tm24[a] * np.asarray(_MUSCLE_PROFILE) * cv(),
                "liver": liver24[a] * np.asarray(_LIVER_PCT) / _LIVER_PCT[1],
                "blood": blood,
                "lungs": 0.4 * blood,
                "kidneys": 0.35 * blood,
                "bladder": np.asarray(_BLADDER_PCT) * rng.normal(1.0, 0.2, len(TIMES_H)),
            }
        )
    return out


def simulate_micropet_arm(
    out_dir: str | Path,
    *,
    seed: int = 0,
    system: MicroPetSystem | None = None,
    rel_to: str | Path | None = None,
    n_per_group: int = 5,
) -> MicropetArm:
    """Write the arm's images and truth; return the ``preclinical`` study-file section.

    ``rel_to`` is the folder the study file's paths are relative to (default: ``out_dir``).
    """
    system = system or MicroPetSystem()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    base = Path(rel_to) if rel_to is not None else out
    nuclide = Nuclide.from_name("I-124")
    kernel = micropet_kernel(nuclide, system)
    blurrer = None
    rng = np.random.default_rng([seed, 15])
    groups, animals, truth_rows = [], [], []
    k_animal = 0
    for group, (tracer, model, her2, _, _) in MICROPET_GROUPS.items():
        groups.append(dict(name=group, tracer=tracer, model=model, her2=her2))
        for a, target in enumerate(_targets(rng, group, n_per_group)):
            animal = f"{group}-{a + 1}"
            weight_g = float(np.clip(rng.normal(24.0, 1.5), 19.0, 30.0))
            activity_bq = 14.8e6 * float(rng.normal(1.0, 0.03))
            diameter = float(rng.uniform(5.0, 8.0))
            anat = mouse_anatomy(weight_g, diameter, voxel_mm=system.voxel_mm)
            blurrer = blurrer or Blurrer(kernel, anat.grid.shape)
            blurred = {r: blurrer(anat.weights[r]) for r in MOUSE_REGIONS}
            rois = {
                "tumour": anat.weights["tumour"] >= 0.5,
                "muscle": sphere_voi(anat.grid, anat.muscle_centre_mm, READER_SPHERE_MM),
                "liver": sphere_voi(anat.grid, anat.liver_centre_mm, READER_SPHERE_MM),
            }
            read = {
                (i, j): float(blurred[j][m].mean()) for i, m in rois.items() for j in MOUSE_REGIONS
            }
            rc = read[("tumour", "tumour")]
            matrix = np.array([[read[(i, j)] for j in _CALIBRATED] for i in _CALIBRATED])
            injection = _INJECTION_START + timedelta(minutes=10 * k_animal)
            k_animal += 1
            images = {}
            for k, time_h in enumerate(TIMES_H):
                pct = {r: float(target[r][k]) for r in MOUSE_REGIONS}
                goals = np.array([pct[i] for i in _CALIBRATED])
                spill = np.array([sum(pct[j] * read[(i, j)] for j in MOUSE_REGIONS
                                      if j not in _CALIBRATED) for i in _CALIBRATED])  # fmt: skip
                true = np.linalg.solve(matrix, goals - spill)
                for i, value, goal in zip(_CALIBRATED, true, goals, strict=True):
                    pct[i] = max(float(value), 0.25 * float(goal))
                noiseless_pct = sum(pct[r] * blurred[r] for r in MOUSE_REGIONS)
                # %ID/g → Bq/mL at injection (1 g/mL), then decayed to the scan start.
                decay = float(nuclide.decay_factor(time_h * 3600.0))
                conc = anat.grid.with_array(noiseless_pct * (activity_bq / 100.0) * decay, "BQML")
                image = noisy_image(conc, nuclide=nuclide, system=system, rng=rng)
                label = f"{int(time_h)}h"
                path = out / "images" / f"{animal}_{label}.nii.gz"
                acq = Acquisition(
                    nuclide=nuclide,
                    units="BQML",
                    decay_correction="START",
                    scan_start_datetime=injection + timedelta(hours=time_h),
                    injection_datetime=injection,
                    injected_activity_bq=activity_bq,
                    patient_weight_kg=weight_g / 1000.0,
                    frame_duration_s=system.frame_s,
                    tracer=tracer,
                )
                write_nifti(
                    image.with_array(np.asarray(image.array, dtype=np.float32)),
                    path,
                    acquisition=acq,
                    sidecar={"SubjectID": animal, "SeriesDescription": f"micro-PET {label}"},
                )
                images[label] = str(path.relative_to(base))
                for region in MOUSE_REGIONS:
                    truth_rows.append(
                        dict(animal=animal, group=group, time_h=time_h, region=region,
                             true_percent_id_per_g=pct[region],
                             target_percent_id_per_g=float(target[region][k]),
                             tumour_diameter_mm=diameter, tumour_sphere_rc=rc)
                    )  # fmt: skip
            seed_jitter = rng.normal(0.0, 1.0, 3)
            animals.append(
                dict(
                    id=animal,
                    group=group,
                    weight_g=round(weight_g, 2),
                    injected_activity_mbq=round(activity_bq / 1e6, 4),
                    injection_datetime=injection.isoformat(),
                    images=images,
                    tumour_seed_mm=[round(float(c + j), 1) for c, j in
                                    zip(anat.tumour_centre_mm, seed_jitter, strict=True)],
                    muscle_centre_mm=[round(c, 1) for c in anat.muscle_centre_mm],
                    liver_centre_mm=[round(c, 1) for c in anat.liver_centre_mm],
                )
            )  # fmt: skip
    truth = pd.DataFrame(truth_rows)
    truth_path = out / "micropet_truth.csv"
    truth.to_csv(truth_path, index=False)
    section = dict(
        nuclide="124I",
        injected_activity_mbq=14.8,
        time_points=[f"{int(t)}h" for t in TIMES_H],
        groups=groups,
        animals=animals,
    )
    return MicropetArm(section, truth, truth_path)
