"""Micro-PET %ID/g: tumour, muscle and liver VOIs of one animal image, and tumour/muscle.

%ID/g (percent of the injected dose per gram), the paper's unit:

    %ID/g = 100 · C₀ / (ρ · A₀)

with C₀ the VOI's mean activity concentration decay-corrected to the
injection time (Bq/mL), A₀ the activity injected into *this* animal (Bq) and ρ
the tissue density (g/mL; 1 g/mL by default, the usual micro-PET convention).
Decay correction is the caller's (:func:`immunopet.quant.activity_concentration_at_injection_bq_per_ml`
does it from the header's decay reference: C₀ = C_ref / exp(−λ Δt)).

VOIs (rules, so that two users get the same numbers):

* **tumour** — the hottest voxel within ``search_mm`` of a given seed point;
  the VOI is the 6-connected set of voxels ≥ ``threshold`` × that maximum
  containing it, kept within ``max_radius_mm`` of it (so it cannot leak into a
  neighbouring hot organ). A relative-threshold region grow is the usual
  small-animal tumour VOI (fixed 50 % of maximum, as in the 41–50 % isocontour
  conventions of EANM/NEMA-style analyses); it reads a partial-volume-affected
  mean, like the paper's ROI analysis, with no recovery correction;
* **muscle**, **liver** — spheres of ``sphere_mm`` diameter at given centres
  (e.g. the contralateral thigh), or
* any region from a user's label map (its voxels with the region's label value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..core.errors import InvalidValueError, PhysicsError
from ..core.volume import Volume

__all__ = [
    "PRECLINICAL_COLUMNS",
    "AnimalVois",
    "measure_animal_image",
    "percent_id_per_g",
    "sphere_voi",
    "tumour_voi",
]

#: Columns of the tidy ``preclinical`` table (one row per animal, time, region, metric).
PRECLINICAL_COLUMNS = ("group", "animal", "time_h", "region", "metric", "value", "unit")


def percent_id_per_g(
    conc_at_injection_bq_per_ml: float | np.ndarray,
    injected_activity_bq: float,
    density_g_per_ml: float = 1.0,
) -> float | np.ndarray:
    """100 · C₀ / (ρ · A₀) (module docstring).

    Raises
    ------
    PhysicsError
        A non-positive injected activity or density.
    """
    if not injected_activity_bq > 0:
        raise PhysicsError(f"injected activity must be positive, got {injected_activity_bq} Bq")
    if not density_g_per_ml > 0:
        raise PhysicsError(f"tissue density must be positive, got {density_g_per_ml} g/mL")
    return (
        100.0 * np.asarray(conc_at_injection_bq_per_ml) / (density_g_per_ml * injected_activity_bq)
    )


def _ball(grid: Volume, centre_lps_mm: Sequence[float], radius_mm: float) -> np.ndarray:
    """Mask of the voxel centres within ``radius_mm`` of an LPS point, array order (z, y, x).

    Distances are computed only in the index box that can hold the ball.
    """
    centre = np.asarray(centre_lps_mm, dtype=float)
    c_ijk = grid.lps_to_index(centre)
    reach = radius_mm / min(grid.spacing_mm) + 1.0
    shape_ijk = grid.shape[::-1]
    lo = [max(int(np.floor(c - reach)), 0) for c in c_ijk]
    hi = [min(int(np.ceil(c + reach)) + 1, n) for c, n in zip(c_ijk, shape_ijk, strict=True)]
    mask = np.zeros(grid.shape, dtype=bool)
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        return mask
    i, j, k = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi, strict=True)), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float)
    d = np.linalg.norm(grid.index_to_lps(ijk) - centre, axis=-1).reshape(i.shape)
    mask[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]] = np.transpose(d <= radius_mm, (2, 1, 0))
    return mask


def sphere_voi(grid: Volume, centre_lps_mm: Sequence[float], diameter_mm: float) -> np.ndarray:
    """Boolean mask of the voxels whose centres lie within a sphere (at least the nearest one).

    Raises
    ------
    InvalidValueError
        If the centre lies outside the image.
    """
    idx = grid.lps_to_index(np.asarray(centre_lps_mm, dtype=float))
    shape_ijk = grid.shape[::-1]
    if any(not (-0.5 <= c <= n - 0.5) for c, n in zip(idx, shape_ijk, strict=True)):
        raise InvalidValueError(
            f"VOI centre {list(centre_lps_mm)} mm (LPS) lies outside the image",
            field="centre_mm",
            value=list(centre_lps_mm),
        )
    mask = _ball(grid, centre_lps_mm, diameter_mm / 2.0)
    if not mask.any():
        nearest = np.clip(np.round(idx).astype(int), 0, np.asarray(shape_ijk) - 1)
        mask[nearest[2], nearest[1], nearest[0]] = True
    return mask


def tumour_voi(
    image: Volume,
    seed_lps_mm: Sequence[float],
    *,
    search_mm: float = 5.0,
    threshold: float = 0.5,
    max_radius_mm: float = 8.0,
) -> np.ndarray:
    """Relative-threshold region grow from the hottest voxel near ``seed_lps_mm`` (module docstring).

    Raises
    ------
    InvalidValueError
        If the seed lies outside the image, or the search sphere holds no positive voxel.
    """
    arr = np.asarray(image.array, dtype=np.float64)
    search = sphere_voi(image, seed_lps_mm, 2.0 * search_mm)
    values = np.where(search, arr, -np.inf)
    peak = np.unravel_index(int(np.argmax(values)), arr.shape)
    peak_value = arr[peak]
    if not peak_value > 0:
        raise InvalidValueError(
            f"no uptake within {search_mm} mm of the tumour seed {list(seed_lps_mm)} mm",
            field="tumour_seed_mm",
            value=list(seed_lps_mm),
        )
    peak_lps = image.index_to_lps(np.asarray(peak[::-1], dtype=float))
    allowed = _ball(image, peak_lps, max_radius_mm)
    above = (arr >= threshold * peak_value) & allowed
    components, _ = ndimage.label(above)
    return components == components[peak]


@dataclass(frozen=True)
class AnimalVois:
    """How to find the VOIs of one image (study-file fields of one animal and the arm)."""

    tumour_seed_mm: tuple[float, float, float] | None = None
    muscle_centre_mm: tuple[float, float, float] | None = None
    liver_centre_mm: tuple[float, float, float] | None = None
    labels: Volume | None = None
    label_values: Mapping[str, int] | None = None
    search_mm: float = 5.0
    threshold: float = 0.5
    max_radius_mm: float = 8.0
    sphere_mm: float = 4.0


def _masks(conc: Volume, vois: AnimalVois) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    if vois.labels is not None:
        if not vois.labels.same_grid(conc):
            raise InvalidValueError(
                "the animal's label map is not on its image grid (resample it first)",
                field="labels",
            )
        lab = np.asarray(vois.labels.array)
        for region, value in (vois.label_values or {}).items():
            m = lab == value
            if m.any():
                masks[region] = m
    if "tumour" not in masks and vois.tumour_seed_mm is not None:
        masks["tumour"] = tumour_voi(
            conc, vois.tumour_seed_mm, search_mm=vois.search_mm,
            threshold=vois.threshold, max_radius_mm=vois.max_radius_mm,
        )  # fmt: skip
    for region, centre in (("muscle", vois.muscle_centre_mm), ("liver", vois.liver_centre_mm)):
        if region not in masks and centre is not None:
            masks[region] = sphere_voi(conc, centre, vois.sphere_mm)
    return masks


def measure_animal_image(
    conc_at_injection: Volume,
    injected_activity_bq: float,
    vois: AnimalVois,
    *,
    density_g_per_ml: float = 1.0,
) -> list[dict[str, object]]:
    """%ID/g rows (mean, max, VOI volume) of every VOI found, and tumour/muscle.

    Parameters
    ----------
    conc_at_injection
        The image in Bq/mL decay-corrected to the injection time.
    injected_activity_bq
        Activity injected into this animal.
    vois
        Seed, centres and/or label map.
    density_g_per_ml
        Tissue density (%ID/mL → %ID/g).

    Returns
    -------
    list of dict
        ``region, metric, value, unit`` with metrics ``percent_id_per_g`` (VOI mean),
        ``percent_id_per_g_max``, ``voi_ml``; region ``tumour`` also gets
        ``tumour_to_muscle`` (ratio of VOI means) when a muscle VOI exists.
    """
    arr = np.asarray(conc_at_injection.array, dtype=np.float64)
    rows: list[dict[str, object]] = []
    means: dict[str, float] = {}
    for region, mask in _masks(conc_at_injection, vois).items():
        values = percent_id_per_g(arr[mask], injected_activity_bq, density_g_per_ml)
        means[region] = float(np.mean(values))
        rows += [
            dict(region=region, metric="percent_id_per_g", value=means[region], unit="%ID/g"),
            dict(region=region, metric="percent_id_per_g_max", value=float(np.max(values)),
                 unit="%ID/g"),
            dict(region=region, metric="voi_ml",
                 value=float(mask.sum() * conc_at_injection.voxel_volume_ml), unit="mL"),
        ]  # fmt: skip
    if "tumour" in means and means.get("muscle", 0.0) > 0:
        rows.append(
            dict(region="tumour", metric="tumour_to_muscle",
                 value=means["tumour"] / means["muscle"], unit="ratio")
        )  # fmt: skip
    return rows
