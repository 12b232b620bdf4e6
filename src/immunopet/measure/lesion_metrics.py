"""Lesion metrics of PET quantification tools: MTV, TLG/TLU and two named SUVpeaks.

Definitions (per lesion label of a whole-voxel lesion map, per scan)
---------------------------------------------------------------------
* ``mtv_ml`` — metabolic tumour volume (mL) at the segmentation threshold used:
  the lesion label *is* the segmentation, so by default MTV is its voxel count ×
  voxel volume. With a threshold (``threshold_suv``, absolute SUV, or
  ``threshold_fraction_of_max``, e.g. 0.41 of the lesion's SUVmax as the EANM
  guideline's fixed-threshold method, Boellaard et al. 2015) MTV is the volume of
  the voxels of the VOI with SUV ≥ threshold.
* ``tlg_suv_ml`` — total lesion glycolysis (Larson et al. 1999) or, for a tracer
  other than FDG, total lesion uptake (TLU): SUVmean over the MTV voxels × MTV,
  i.e. Σ SUV × voxel volume over those voxels (unit: SUV unit · mL).
* ``suv_peak`` — PERCIST 1.0 (Wahl et al. 2009): the highest mean SUV of a 1 cm³
  sphere (radius 6.2 mm) centred on any voxel of the lesion (already in the
  measurement table, :func:`.suv_peak.suv_peak_map`).
* ``suv_peak_at_max`` — the mean SUV of the 1 cm³ sphere centred on the
  lesion's SUVmax voxel (the "peak centred on the maximum" definition compared
  with PERCIST's by Vanderhoek et al. 2012). Ties of SUVmax go to the voxel
  whose sphere mean is highest (then the last in C order), so the value is
  deterministic. It is never above ``suv_peak``.

Both spheres reach beyond the lesion where it is smaller than the sphere, as the
definitions do; the sphere holds the voxels whose centres lie within 6.2 mm.

References
----------
R. L. Wahl, H. Jacene, Y. Kasamon, M. A. Lodge, "From RECIST to PERCIST: evolving
considerations for PET response criteria in solid tumors", J. Nucl. Med.
50:122S–150S (2009).
M. Vanderhoek, S. B. Perlman, R. Jeraj, "Impact of the definition of peak
standardized uptake value on quantification of treatment response", J. Nucl.
Med. 53:4–11 (2012).
S. M. Larson et al., "Tumor treatment response based on visual and quantitative
changes in global tumor glycolysis using PET-FDG imaging", Clin. Positron
Imaging 2:159–171 (1999).
R. Boellaard et al., "FDG PET/CT: EANM procedure guidelines for tumour imaging:
version 2.0", Eur. J. Nucl. Med. Mol. Imaging 42:328–354 (2015).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..core.errors import InvalidValueError
from ..core.schema import EXTRA_METRICS
from .suv_peak import sphere_mean_at

__all__ = ["LESION_METRICS", "LESION_METRIC_LABELS", "LesionMetrics", "lesion_metrics"]

#: The metric names this module adds to the lesion rows of the measurement table.
LESION_METRICS = ("mtv_ml", "tlg_suv_ml", "suv_peak_at_max")
EXTRA_METRICS.update(LESION_METRICS)  # known to core.schema.is_metric / parse_metric

#: Display names (report, tables) of the two SUVpeak definitions and of MTV / TLG.
LESION_METRIC_LABELS = {
    "suv_peak": "SUVpeak (PERCIST: 1 cm³ sphere, highest mean in the lesion)",
    "suv_peak_at_max": "SUVpeak centred on SUVmax (1 cm³ sphere)",
    "mtv_ml": "MTV (mL)",
    "tlg_suv_ml": "TLG / TLU (SUVmean × MTV)",
}


@dataclass(frozen=True)
class LesionMetrics:
    """Per-label arrays (index = label number; index 0 unused) of the module's metrics."""

    mtv_ml: np.ndarray
    tlg_suv_ml: np.ndarray
    suv_peak_at_max: np.ndarray
    threshold: str  # how MTV was delimited, for the methods text


def lesion_metrics(
    suv: np.ndarray,
    labels: np.ndarray,
    n: int,
    voxel_ml: float,
    *,
    peak_map: np.ndarray | None = None,
    spacing_mm: Sequence[float] | None = None,
    threshold_suv: float | None = None,
    threshold_fraction_of_max: float | None = None,
) -> LesionMetrics:
    """MTV, TLG/TLU and SUVpeak-at-max of every label of a whole-voxel lesion map.

    Parameters
    ----------
    suv
        SUV array (z, y, x).
    labels
        Integer lesion labels on the same grid, 0 = background.
    n
        Number of label values (``labels.max() + 1`` or more).
    voxel_ml
        Voxel volume in mL.
    peak_map
        The 1 cm³ sphere-mean map (:func:`.suv_peak.suv_peak_map`).
    spacing_mm
        Without ``peak_map``: the voxel spacing (dx, dy, dz), and the sphere means
        are computed at the lesions' SUVmax voxels only
        (:func:`.suv_peak.sphere_mean_at`, the map's values to the last bit).
        Neither: ``suv_peak_at_max`` is NaN.
    threshold_suv, threshold_fraction_of_max
        At most one: MTV counts the VOI voxels with SUV ≥ the absolute value, or
        ≥ the fraction of the lesion's SUVmax. Neither: the whole VOI.

    Returns
    -------
    LesionMetrics
        Arrays of length ``n``; NaN for labels without voxels.
    """
    if threshold_suv is not None and threshold_fraction_of_max is not None:
        raise InvalidValueError(
            "give threshold_suv or threshold_fraction_of_max, not both",
            field="mtv_threshold",
            value=(threshold_suv, threshold_fraction_of_max),
        )
    if threshold_fraction_of_max is not None and not 0 < threshold_fraction_of_max <= 1:
        raise InvalidValueError(
            "the MTV threshold fraction of SUVmax must be in (0, 1]",
            field="mtv_threshold",
            value=threshold_fraction_of_max,
        )
    s = np.asarray(suv)
    lab = np.asarray(labels)
    if s.shape != lab.shape:
        raise InvalidValueError("SUV and lesion labels must share one grid", value=lab.shape)
    if threshold_suv is not None:
        how = f"voxels of the VOI with SUV ≥ {threshold_suv:g}"
    elif threshold_fraction_of_max is not None:
        how = f"voxels of the VOI with SUV ≥ {100 * threshold_fraction_of_max:g} % of its SUVmax"
    else:
        how = "the lesion VOI as segmented"
    mtv = np.full(n, math.nan)
    tlg = np.full(n, math.nan)
    at_max = np.full(n, math.nan)
    # Each lesion is measured in its bounding box: memory and time follow the lesions,
    # not the image (ndimage.find_objects is one sweep over the labels).
    boxes = ndimage.find_objects(lab, max_label=n - 1) if n > 1 else []
    for number, box in enumerate(boxes, start=1):
        if box is None:
            continue
        inside = lab[box] == number
        values = s[box][inside].astype(np.float64)
        if threshold_suv is not None:
            keep = values >= float(threshold_suv)
        elif threshold_fraction_of_max is not None:
            keep = values >= threshold_fraction_of_max * values.max()
        else:
            keep = slice(None)
        kept = values[keep]
        mtv[number] = kept.size * voxel_ml
        tlg[number] = float(np.sum(kept)) * voxel_ml if kept.size else 0.0
        if peak_map is None and spacing_mm is None:
            continue
        # SUVmax voxel; ties: the highest sphere mean, then the last in C order.
        local = np.flatnonzero(inside.ravel())[np.flatnonzero(values == values.max())]
        zyx = np.stack(np.unravel_index(local, inside.shape), axis=1) + [b.start for b in box]
        if peak_map is not None:
            means = np.asarray(peak_map)[tuple(zyx.T)].astype(np.float64)
        else:
            means = sphere_mean_at(s, zyx, spacing_mm)  # type: ignore[arg-type]
        best = np.flatnonzero(means == means.max())[-1]
        at_max[number] = means[best]
    return LesionMetrics(mtv, tlg, at_max, how)
