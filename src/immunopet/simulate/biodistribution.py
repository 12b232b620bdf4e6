"""Organ and lesion uptake of the digital twin, as SUV curves from the reference paper.

All SUVs here are *true* activity concentrations expressed in SUVbw units
(decay-corrected to injection), before the scanner blurs them. The observed
SUVmax of a small object is lower (partial-volume effect); :mod:`.imaging`
gives the recovery coefficients used to invert that for lesions.

Sources
-------
Guo X. et al., "Safety and dosimetry of 124I-trastuzumab PET/CT in HER2
gastric cancer" (the reference study, ``shared/reference``):

* Results, "The regional time-activity curves": organ SUVmax ranges at 1 / 24 /
  48 h (blood from the cardiac ventricles, liver, kidneys, urinary bladder,
  spleen, thyroid; patient 6's thyroid 64.5 / 76.1 at 24 / 48 h);
* Discussion: liver SUVmax at 24 h 2.6, 2.9, 4.2, 4.4 (10 mg cold trastuzumab),
  9.9 (trastuzumab-naive, 5 mg) and 5.4 (on trastuzumab therapy, 5 mg);
* lesion SUVmax at 24 h 7.83 ± 0.55 (HER2+, n = 18), 1.75 ± 0.29 (HER2−,
  n = 11), 48 h 5.73 ± 0.47 (HER2+); FDG 6.46 ± 0.44 (HER2−), ranges 4.4–8.9
  (HER2−) and 4.7–14.1 (HER2+). The ± are SEMs (reference-study.md).

Organs the paper does not report (muscle, lungs, marrow, stomach, remainder…)
take typical low values of radio-iodinated IgG (blood-pool fraction × blood
SUV plus a slowly rising interstitial term); FDG organ values are the usual
clinical ones (EANM FDG guideline v2, Boellaard et al. EJNMMI 2015: liver SUVmean
≈ 2–3, blood pool ≈ 1.5–2). They are flagged "assumed" in :data:`ORGAN_RANGES_I124`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "FDG_ORGAN_SUV",
    "I124_TIMES_H",
    "ORGAN_RANGES_I124",
    "LIVER_24H_BY_CONDITION",
    "interpolate_suv",
    "organ_curve_i124",
    "standardised_sample",
]

#: Time points (h p.i.) of the published 124I organ ranges.
I124_TIMES_H: tuple[float, float, float] = (1.0, 24.0, 48.0)

#: Organ SUV ranges (low, high) at 1 / 24 / 48 h. Published rows cite the
#: paper's Results; rows marked "assumed" are this simulation's choice.
ORGAN_RANGES_I124: dict[str, tuple[tuple[float, float], ...]] = {
    # published (Results, regional time-activity curves)
    "blood": ((7.3, 11.2), (3.6, 11.9), (2.2, 8.2)),
    "liver": ((4.6, 7.4), (2.6, 5.4), (2.5, 3.9)),
    "kidneys": ((0.9, 3.3), (0.5, 4.5), (0.4, 3.6)),
    "urinary_bladder_contents": ((0.4, 2.8), (3.3, 14.7), (3.9, 19.5)),
    "spleen": ((4.6, 6.9), (2.2, 6.3), (0.8, 4.6)),
    "thyroid": ((1.9, 2.3), (4.1, 8.4), (4.8, 11.0)),
    # assumed (typical radio-iodinated IgG; low background). Soft tissue and muscle
    # clear after 24 h with the whole body: the paper's own bladder values imply urinary
    # excretion of ~1.5 % of the activity per hour at 24 h (SUV ~9 in ~250 mL, ~2 h
    # after a void), a whole-body biological half-life of ~45 h. With these rows the
    # decay-corrected activity of the simulated trunk falls by ~25 % from 24 to 48 h.
    "muscle": ((0.35, 0.5), (0.45, 0.65), (0.3, 0.45)),
    "remainder": ((0.7, 1.0), (0.6, 0.9), (0.4, 0.65)),
    # free iodide secreted by the gastric mucosa (Discussion), damped by the Lugol block
    "stomach_wall": ((0.9, 1.3), (1.2, 1.8), (0.9, 1.4)),
    "salivary_glands": ((1.0, 1.6), (2.0, 3.5), (2.0, 3.5)),
}

#: Fractions of the blood SUV for blood-rich tissues without their own row (assumed;
#: regional blood volumes after ICRP 89 Table 2.14: the lungs hold 10.5 % of the
#: 5.3 L of blood in ~3.5 L of lung volume, ≈ 0.15 mL/mL; marrow ≈ 0.2).
BLOOD_FRACTION: dict[str, float] = {
    "heart_contents": 1.0,
    "blood": 1.0,
    "heart_wall": 0.3,
    "lungs": 0.15,
    "red_marrow": 0.25,
    "trabecular_bone": 0.12,
    "cortical_bone": 0.05,
    "bone_surfaces": 0.05,
    # site-resolved skeleton of the stylised phantom (mixed cortical/trabecular/marrow)
    "spine": 0.2,
    "pelvis": 0.2,
    "ribs": 0.12,
    "skull": 0.1,
    "arm_bones": 0.1,
    "leg_bones": 0.1,
}

#: Fraction of a tissue's volume that is tissue outside its blood (default: 1 − the
#: blood fraction). Inflated lung is mostly air: ICRU 44 lung density 0.26 g/cm³, of
#: which ~0.15 is blood (above), leaves ~0.1 of parenchyma.
TISSUE_FRACTION: dict[str, float] = {"lungs": 0.1}

#: Liver SUV at 24 h by cold-antibody condition (paper, Discussion): 10 mg cold
#: trastuzumab → 2.6–4.4; 5 mg and trastuzumab-naive → 9.9; 5 mg on therapy → 5.4.
LIVER_24H_BY_CONDITION: dict[str, tuple[float, float]] = {
    "10mg": (2.6, 4.4),
    "5mg_naive": (9.9, 9.9),
    "5mg_on_therapy": (5.4, 5.4),
}

#: Typical FDG SUV at ~60 min (EANM guideline v2 ranges; brain and myocardium variable).
FDG_ORGAN_SUV: dict[str, float] = {
    "brain": 7.5,
    "liver": 2.4,
    "blood": 1.7,
    "heart_contents": 1.7,
    "heart_wall": 3.0,
    "kidneys": 2.6,
    "urinary_bladder_contents": 18.0,
    "urinary_bladder_wall": 3.0,
    "spleen": 1.9,
    "muscle": 0.7,
    "remainder": 0.8,
    "red_marrow": 1.6,
    "spine": 1.3,
    "pelvis": 1.2,
    "ribs": 0.8,
    "skull": 0.8,
    "arm_bones": 0.7,
    "leg_bones": 0.7,
    "trabecular_bone": 1.0,
    "cortical_bone": 0.4,
    "bone_surfaces": 0.4,
    "thyroid": 1.3,
    "stomach_wall": 1.8,
    "stomach_contents": 0.8,
    "salivary_glands": 2.0,
    "lungs": 0.5,
    "small_intestine": 1.6,
    "left_colon": 1.6,
    "right_colon": 1.6,
    "rectosigmoid_colon": 1.6,
    "pancreas": 1.5,
    "adrenals": 1.6,
    "oesophagus": 1.5,
    "thymus": 1.2,
    "breasts": 0.6,
    "skin": 0.6,
    "gallbladder_wall": 1.2,
    "gallbladder_contents": 0.6,
    "uterus": 1.8,
    "ovaries": 1.8,
    "testes": 1.8,
}


def interpolate_suv(
    times_h: Sequence[float], suv: Sequence[float], time_h: float | np.ndarray
) -> np.ndarray:
    """SUV at ``time_h`` from samples, log-linear between time points.

    Before the first point the first value holds (uptake is already distributed
    at 1 h for an IgG; earlier times are never imaged). After the last point the
    curve continues with the last segment's biological slope, clamped to be
    non-increasing: beyond the published window no organ is assumed to keep
    accumulating, so the effective half-life stays ≤ the physical one.

    Parameters
    ----------
    times_h
        Increasing sample times (h p.i.).
    suv
        Positive SUVs at those times.
    time_h
        Query time(s) in hours.
    """
    t = np.asarray(times_h, dtype=float)
    y = np.log(np.maximum(np.asarray(suv, dtype=float), 1e-6))
    q = np.atleast_1d(np.asarray(time_h, dtype=float))
    out = np.interp(q, t, y)
    if t.size >= 2:
        slope = min((y[-1] - y[-2]) / (t[-1] - t[-2]), 0.0)
        late = q > t[-1]
        out[late] = y[-1] + slope * (q[late] - t[-1])
    return np.exp(out)


def _in_range(rng_range: tuple[float, float], quantile: float) -> float:
    lo, hi = rng_range
    return float(lo + (hi - lo) * quantile)


def organ_curve_i124(
    organ: str,
    *,
    quantiles: Mapping[str, float],
    liver_condition: str = "10mg",
    thyroid_escape: float | None = None,
) -> tuple[float, float, float] | None:
    """True SUV of one organ at 1 / 24 / 48 h for one subject.

    Parameters
    ----------
    organ
        Shared snake_case organ name.
    quantiles
        Per-subject position inside each published range (0 → low end, 1 → high
        end), keyed by organ; one number per organ keeps the subject's curve
        coherent over time (a high-blood subject stays high).
    liver_condition
        Key of :data:`LIVER_24H_BY_CONDITION`. The naive 5 mg condition scales
        the whole liver curve by the 24 h ratio (the paper reports only 24 h).
    thyroid_escape
        If given, the thyroid SUV at 24 and 48 h replaced by this pair's
        base (patient 6: 64.5 at 24 h, 76.1 at 48 h; 1 h stays in range).

    Returns
    -------
    (suv_1h, suv_24h, suv_48h), or ``None`` when the organ has no row (the
    caller then uses :data:`BLOOD_FRACTION` or the remainder).
    """
    q = quantiles.get(organ, 0.5)
    if organ == "liver":
        lo24, hi24 = LIVER_24H_BY_CONDITION[liver_condition]
        liver24 = lo24 + (hi24 - lo24) * q
        base = tuple(_in_range(r, q) for r in ORGAN_RANGES_I124["liver"])
        # Keep the published 1 h → 24 h → 48 h shape, anchored on the 24 h value;
        # for conditions outside the published 10 mg range the shape is scaled.
        scale = liver24 / base[1]
        late = base[2] * scale
        if liver_condition != "5mg_naive":  # the five patients inside the published ranges
            late = float(np.clip(late, *ORGAN_RANGES_I124["liver"][2]))
        vals = (base[0] * max(scale, 1.0) ** 0.5, liver24, min(late, liver24))
        return (float(vals[0]), float(vals[1]), float(vals[2]))
    if organ == "thyroid" and thyroid_escape is not None:
        first = _in_range(ORGAN_RANGES_I124["thyroid"][0], q)
        return (first, float(thyroid_escape), float(thyroid_escape * 76.1 / 64.5))
    ranges = ORGAN_RANGES_I124.get(organ)
    if ranges is None:
        return None
    return tuple(_in_range(r, q) for r in ranges)  # type: ignore[return-value]


def standardised_sample(
    rng: np.random.Generator,
    n: int,
    *,
    mean: float,
    sd: float,
    low: float,
    high: float,
    pinned: Mapping[int, float] | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` values whose sample mean and SD equal ``mean``/``sd``, inside [low, high].

    Free values are normal draws, affinely rescaled so that, together with the
    ``pinned`` ones (index → value, e.g. the paper's example lesions), the
    sample has exactly the target mean and SD (ddof = 1); a few clip-and-rescale
    rounds keep all free values inside the bounds. ``initial`` (length ``n``)
    replaces the normal draws, to keep a correlation with other values (e.g. the
    48 h values derived from the 24 h ones keep their ranks).

    Used to give the simulated HER2+ lesions a 24 h SUVmax of 7.83 ± 2.33 (SD =
    SEM 0.55 × √18) as the paper reports, without copying a fixed list.
    """
    pinned = dict(pinned or {})
    free = [i for i in range(n) if i not in pinned]
    vals = np.empty(n)
    for i, v in pinned.items():
        vals[i] = v
    if initial is not None:
        vals[free] = np.asarray(initial, dtype=float)[free]
    else:
        vals[free] = mean + sd * rng.standard_normal(len(free))
    for _ in range(50):
        cur_mean = vals.mean()
        cur_sd = vals.std(ddof=1) if n > 1 else sd
        if abs(cur_mean - mean) < 1e-9 and abs(cur_sd - sd) < 1e-9:
            break
        fv = vals[free]
        # Solve a·fv + b so that the full sample hits the targets (exact in one step
        # when nothing clips).
        tot_pin = sum(pinned.values())
        ss_pin = sum(v * v for v in pinned.values())
        target_sum = mean * n
        target_ss = sd * sd * (n - 1) + n * mean * mean
        m = len(free)
        fmean = fv.mean()
        fdev = fv - fmean
        need_sum = target_sum - tot_pin  # Σ free
        need_ss = target_ss - ss_pin  # Σ free²
        b_mean = need_sum / m
        var_needed = max(need_ss - m * b_mean * b_mean, 0.0)
        cur_dev_ss = float(np.sum(fdev * fdev))
        a = np.sqrt(var_needed / cur_dev_ss) if cur_dev_ss > 0 else 0.0
        vals[free] = np.clip(b_mean + a * fdev, low, high)
    return vals


def organ_suvs(
    organ_names: Sequence[str],
    *,
    tracer: str,
    time_h: float,
    quantiles: Mapping[str, float],
    liver_condition: str = "10mg",
    thyroid_escape: float | None = None,
) -> dict[str, float]:
    """True SUV of every named organ at ``time_h`` for one subject.

    ``tracer`` is ``"FDG"`` (values of :data:`FDG_ORGAN_SUV`, static at ~1 h) or
    ``"124I-trastuzumab"`` (curves of :func:`organ_curve_i124`, interpolated by
    :func:`interpolate_suv`). Organs without a row: a blood fraction of
    :data:`BLOOD_FRACTION` plus the remainder for the rest, or the remainder.
    """
    out: dict[str, float] = {}
    if tracer.upper() == "FDG":
        for name in organ_names:
            out[name] = FDG_ORGAN_SUV.get(name, FDG_ORGAN_SUV["remainder"])
        return out

    def curve(organ: str) -> float | None:
        vals = organ_curve_i124(
            organ,
            quantiles=quantiles,
            liver_condition=liver_condition,
            thyroid_escape=thyroid_escape,
        )
        if vals is None:
            return None
        if organ == "thyroid" and thyroid_escape is not None:
            # iodide keeps accumulating after 48 h in the escaped thyroid: hold the 48 h value
            return float(interpolate_suv(I124_TIMES_H, vals, min(time_h, 48.0))[0])
        return float(interpolate_suv(I124_TIMES_H, vals, time_h)[0])

    blood = curve("blood") or 0.0
    remainder = curve("remainder") or 0.0
    for name in organ_names:
        value = curve(name)
        if value is None and name in BLOOD_FRACTION:
            f = BLOOD_FRACTION[name]
            tissue = TISSUE_FRACTION.get(name, 1.0 - f)
            value = f * blood + tissue * remainder * (0.5 if "bone" in name else 1.0)
        # The bladder wall takes up nothing of its own (the soft-tissue value): in the
        # images it looks hot only by the spill-out of the urine it holds.
        out[name] = remainder if value is None else value
    return out
