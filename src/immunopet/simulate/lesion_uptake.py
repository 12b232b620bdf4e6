"""How the digital twin chooses each lesion's true uptake: the design's targets made visible.

A lesion's *target* is the SUVmax a reader following the trial's protocol
(:data:`.study_file.REFERENCE_ANALYSIS`: SUVmax of the lesion's core) should see on
the image: the cohort's sample drawn to the paper's statistics, or a design role
(occult at 1 h, washed out at 48 h). :func:`calibrate_lesions` finds the true
activity that makes the simulated image show it, partial volume, neighbours'
spill-in and the noise bias of a maximum included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..measure import LESION_CORE_MM
from .anatomy import SubjectAnatomy
from .biodistribution import interpolate_suv
from .cohort import LesionSpec
from .imaging import SphereLesion, add_noise, form_pet_image, render_suv_map

__all__ = ["FDG_TRACER", "calibrate_lesions", "lesion_target", "max_in_sphere"]

FDG_TRACER = "FDG"

#: A HER2+ lesion without a faint role stands at least this × its local background, so
#: that only the lesions the cohort design makes faint (cohort module docstring) are
#: missed at 1 h and 48 h, not others that a random 1 h / 48 h ratio happens to dim.
_CONSPICUOUS_RATIO = 2.0
#: A lesion the design makes faint (occult at 1 h, washed out at 48 h) shows this ×
#: its local background: at or below its surroundings, as a reader would not call it.
_FAINT_RATIO = 0.6
#: Noise realisations averaged to estimate a lesion's SUVmax noise bias (SE ≈ SD/√6).
_NOISE_BIAS_DRAWS = 6


def lesion_target(lesion: LesionSpec, time_h: float, background: float, tracer: str) -> float:
    """Observed SUVmax the image should show (design roles applied against the real background)."""
    if tracer == FDG_TRACER:
        return lesion.target_suvmax_fdg
    nominal = round(time_h)
    if "occult_1h" in lesion.role and nominal <= 2:
        return _FAINT_RATIO * background  # not distinguishable from its surroundings
    if "faint_48h" in lesion.role and 40 <= nominal <= 56:
        return _FAINT_RATIO * background
    times = sorted(lesion.target_suvmax_i124)
    value = float(interpolate_suv(times, [lesion.target_suvmax_i124[t] for t in times], time_h)[0])
    if lesion.her2_positive and nominal != 24:  # conspicuous unless designed faint; the
        value = max(value, _CONSPICUOUS_RATIO * background)  # 24 h sample is the paper's
    return value


def core_maxima(image, spheres: list[SphereLesion], voxel_mm: float, to_suv: float) -> np.ndarray:
    """Each lesion's SUVmax as the protocol reads it: over its core (``suv_max_core``)."""
    out = []
    for sphere in spheres:
        radius_mm = max(sphere.diameter_mm / 2.0 - LESION_CORE_MM, 0.5 * np.sqrt(3.0) * voxel_mm)
        out.append(max_in_sphere(image, sphere.centre_lps_mm, radius_mm) / to_suv)
    return np.asarray(out)


def calibrate_lesions(
    spheres: list[SphereLesion],
    rows: list[dict[str, Any]],
    anatomy: SubjectAnatomy,
    organ_lut: dict[int, float],
    grid: Any,
    form: dict[str, Any],
    to_suv: float,
    *,
    rng: np.random.Generator | None,
) -> list[SphereLesion]:
    """True lesion uptakes that make the image show each row's ``target_suvmax``.

    1. The analytic recovery coefficient ignores sampling offsets and neighbours:
       measure each lesion's core maximum on the noiseless image and rescale its
       contrast to the background linearly (the image is linear in the uptake).
    2. With noise (``rng`` given), a maximum of noisy voxels is biased upwards
       (Boellaard et al., J Nucl Med 2004;45:1519), and the published values are
       maxima of noisy images: the mean bias over :data:`_NOISE_BIAS_DRAWS`
       realisations is taken off each lesion's noiseless goal, so that the *expected
       observed* SUVmax equals the target. Each row records ``noise_bias_suv``.

    ``rows`` (the lesions' truth rows, in the order of ``spheres``) are updated with
    the final ``true_suv`` and the noiseless contrast ``recovery_coefficient``.
    """
    system = form["system"]

    def noiseless() -> Any:
        return form_pet_image(render_suv_map(anatomy.labels, organ_lut, spheres), grid,
                              rng=None, **form)  # fmt: skip

    def rescaled(goals: np.ndarray, measured: np.ndarray) -> list[SphereLesion]:
        out = []
        for sphere, row, goal, got in zip(spheres, rows, goals, measured, strict=True):
            bg, true = row["background_suv"], sphere.suv
            if abs(got - bg) > 1e-3 and (goal - bg) / (got - bg) > 0:
                true = max(bg + (true - bg) * (goal - bg) / (got - bg), 0.05)
            out.append(SphereLesion(sphere.centre_lps_mm, sphere.diameter_mm, true))
        return out

    if not spheres:
        return spheres
    targets = np.array([row["target_suvmax"] for row in rows])
    spheres = rescaled(targets, core_maxima(noiseless(), spheres, system.voxel_mm, to_suv))
    goals, bias = targets, np.zeros(len(spheres))
    if rng is not None:
        expected = noiseless()
        clean = core_maxima(expected, spheres, system.voxel_mm, to_suv)
        draws = np.random.default_rng(int(rng.integers(2**63)))
        noisy = np.mean(
            [
                core_maxima(
                    add_noise(expected, nuclide=form["nuclide"], system=system, rng=draws),
                    spheres,
                    system.voxel_mm,
                    to_suv,
                )
                for _ in range(_NOISE_BIAS_DRAWS)
            ],
            axis=0,
        )
        bias = noisy - clean
        goals = targets - bias
        spheres = rescaled(goals, clean)
    for sphere, row, goal, b in zip(spheres, rows, goals, bias, strict=True):
        bg = row["background_suv"]
        row["true_suv"] = round(sphere.suv, 4)
        row["noise_bias_suv"] = round(float(b), 4)
        row["recovery_coefficient"] = (
            round((goal - bg) / (sphere.suv - bg), 4) if abs(sphere.suv - bg) > 1e-6 else None
        )
    return spheres


def max_in_sphere(image, centre_lps_mm, radius_mm: float) -> float:
    """Largest voxel value of ``image`` among voxels at least half inside the sphere."""
    from .imaging import sphere_occupancy

    sl, frac = sphere_occupancy(image, centre_lps_mm, 2.0 * radius_mm)
    block = np.asarray(image.array)[sl]
    inside = frac > 0.5
    return float(block[inside].max()) if inside.any() else float(block.max())
