"""The micro-PET arm: 3 groups × 5 mice × 5 time points (2, 24, 48, 72, 96 h), 14.8 MBq.

Published anchors (reference study, Results "micro-PET imaging", Discussion;
mean ± SD, n = 5 per group):

* 24 h tumour uptake (%ID/g) and tumour/muscle (T/M): 124I-trastuzumab in the
  HER2+ PDX 11.91 ± 1.08 and 9.13 ± 2.52; 124I-hIgG1 (control) in the HER2+
  PDX 3.83 ± 0.09 and 3.49 ± 0.31; 124I-trastuzumab in the HER2− PDX 5.05 ±
  0.17 and 2.73 ± 0.30;
* liver 3.62 ± 1.18 %ID/g at 24 h (124I-trastuzumab); T/M 17.27 at 72 h.

The 24 h per-animal values are drawn so that the five-animal samples have
exactly the published mean and SD. Other time points are plausible IgG
kinetics (assumed, not published): tumour rising to a plateau at 24–48 h for
the specific antibody, blood clearing with a ~2-day biological half-life, the
muscle falling so that T/M ≈ 17 at 72 h; 10 % inter-animal CV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .biodistribution import standardised_sample

__all__ = ["MICROPET_GROUPS", "micropet_table", "write_micropet_table", "TIMES_H"]

TIMES_H = (2.0, 24.0, 48.0, 72.0, 96.0)

#: group → (tracer, model, her2, 24 h tumour (mean, SD), 24 h T/M (mean, SD)); paper Results.
MICROPET_GROUPS: dict[str, tuple[str, str, str, tuple[float, float], tuple[float, float]]] = {
    "trastuzumab_her2pos": (
        "124I-trastuzumab",
        "HER2+ PDX (IHC 3+)",
        "positive",
        (11.91, 1.08),
        (9.13, 2.52),
    ),
    "higg1_her2pos": ("124I-hIgG1", "HER2+ PDX (IHC 3+)", "positive", (3.83, 0.09), (3.49, 0.31)),
    "trastuzumab_her2neg": (
        "124I-trastuzumab",
        "HER2- PDX (IHC 1+)",
        "negative",
        (5.05, 0.17),
        (2.73, 0.30),
    ),
}

#: Time profiles relative to 24 h (assumed; see module docstring).
_TUMOUR_PROFILE = {
    "trastuzumab_her2pos": (0.35, 1.0, 1.05, 0.97, 0.85),
    "higg1_her2pos": (0.8, 1.0, 0.9, 0.8, 0.7),
    "trastuzumab_her2neg": (0.7, 1.0, 0.9, 0.8, 0.7),
}
_MUSCLE_PROFILE = (0.7, 1.0, 0.8, 0.52, 0.45)  # T/M(72 h) = 0.97 / 0.52 × 9.13 ≈ 17 (paper: 17.27)
_BLOOD_PCT = (28.0, 14.0, 10.5, 8.0, 6.0)
_LIVER_PCT = (8.0, 3.62, 2.9, 2.4, 2.0)


def micropet_table(seed: int = 0, n_per_group: int = 5) -> pd.DataFrame:
    """Per-animal %ID/g (tumour, muscle, liver, blood) and T/M at every time point.

    Returns a tidy DataFrame: ``animal, group, tracer, model, her2, time, time_h,
    region, percent_id_per_g`` plus rows with region ``tumour_to_muscle`` whose
    value column ``ratio`` holds T/M (``percent_id_per_g`` NaN there).
    """
    rng = np.random.default_rng([seed, 7])
    rows = []
    for g, (tracer, model, her2, (t_mean, t_sd), (r_mean, r_sd)) in MICROPET_GROUPS.items():
        tumour24 = standardised_sample(rng, n_per_group, mean=t_mean, sd=t_sd, low=0.1, high=50)
        tm24 = standardised_sample(rng, n_per_group, mean=r_mean, sd=r_sd, low=1.2, high=30)
        muscle24 = tumour24 / tm24
        liver24 = (
            standardised_sample(rng, n_per_group, mean=3.62, sd=1.18, low=1.0, high=10)
            if g == "trastuzumab_her2pos"
            else rng.normal(3.62, 0.5, n_per_group).clip(1.0)
        )
        for a in range(n_per_group):
            animal = f"{g}-{a + 1}"
            for k, t in enumerate(TIMES_H):
                cv = 1.0 if t == 24.0 else rng.normal(1.0, 0.1)
                tum = tumour24[a] * _TUMOUR_PROFILE[g][k] * cv
                mus = (
                    muscle24[a] * _MUSCLE_PROFILE[k] * (1.0 if t == 24.0 else rng.normal(1.0, 0.1))
                )
                values = {
                    "tumour": tum,
                    "muscle": mus,
                    "liver": liver24[a] * _LIVER_PCT[k] / _LIVER_PCT[1],
                    "blood": _BLOOD_PCT[k] * rng.normal(1.0, 0.1),
                }
                base = dict(
                    animal=animal,
                    group=g,
                    tracer=tracer,
                    model=model,
                    her2=her2,
                    time=f"{int(t)}h",
                    time_h=t,
                )
                for region, v in values.items():
                    rows.append(
                        dict(base, region=region, percent_id_per_g=round(float(v), 4), ratio=np.nan)
                    )
                rows.append(
                    dict(
                        base,
                        region="tumour_to_muscle",
                        percent_id_per_g=np.nan,
                        ratio=round(float(tum / mus), 4),
                    )
                )
    return pd.DataFrame(rows)


def write_micropet_table(path: str | Path, *, seed: int = 0) -> Path:
    """Write :func:`micropet_table` as CSV; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    micropet_table(seed).to_csv(p, index=False)
    return p
