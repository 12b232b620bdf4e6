"""Lesion segmentation on SUV images, size filtering, and user-supplied lesion masks.

Methods (``method`` of :func:`segment_lesions`; spec strings as on the CLI):

``fixed:T``
    Voxels with SUV ≥ T (e.g. ``fixed:4.0``, the reference study's 24 h cutoff).
``relative:F``
    Seed components are the connected regions with SUV ≥ ``seed_suv``; in each,
    the lesion is each connected focus of the voxels with SUV ≥ F × that
    component's SUVmax (e.g. 0.41
    or 0.5 — the 41 %/50 % isocontours of EANM procedure guidelines for tumour
    PET, Boellaard et al., Eur J Nucl Med Mol Imaging 2015;42:328).
``adaptive[:F]``
    As ``relative`` with threshold = bg + F × (SUVmax − bg), F = 0.5 by default,
    bg = mean SUV in a shell 5–15 mm around the seed component (background-
    adapted threshold, after Nestle et al., J Nucl Med 2005;46:1342), or a given
    ``background_suv``.

Connected components use 26-connectivity (``cc3d``). Lesions whose
equivalent-sphere diameter (6V/π)^(1/3) is below ``min_diameter_mm`` (default
10 mm, the reference study's ≥ 1 cm rule) are dropped.

Lesion ids are stable: 1, 2, … in order of decreasing SUVmax, ties broken by
the centroid's (z, y, x) LPS position in increasing order; names are
``lesion_001`` …
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike

import cc3d
import numpy as np
import pandas as pd

from ..core.errors import InputError, InvalidValueError
from ..core.volume import Volume
from .label_kernels import apply_lut, component_moments, label_maxima, threshold_by_label
from .labels import LabelMap, check_overlap, label_dtype
from .lesion_background import BACKGROUND_SHELL_MM, shell_background_suv

__all__ = [
    "BACKGROUND_SHELL_MM",
    "LesionSet",
    "equivalent_diameter_mm",
    "lesions_from_labels",
    "lesions_from_mask",
    "parse_method",
    "segment_lesions",
    "shell_background_suv",
]

_TABLE_COLUMNS = (
    "lesion_id",
    "region",
    "suv_max",
    "voxels",
    "volume_ml",
    "equivalent_diameter_mm",
    "centroid_x_mm",
    "centroid_y_mm",
    "centroid_z_mm",
)


def equivalent_diameter_mm(volume_ml: float | np.ndarray) -> float | np.ndarray:
    """Diameter (mm) of the sphere with the given volume (mL): (6V/π)^(1/3)."""
    return np.cbrt(6.0 * np.asarray(volume_ml, dtype=float) * 1000.0 / math.pi)


@dataclass(frozen=True, eq=False)
class LesionSet:
    """Lesion labels on a PET grid plus one row per lesion.

    Attributes
    ----------
    labels
        Label map (region_kind ``lesion``), label n = lesion id n, named ``lesion_00n``.
    table
        Columns ``lesion_id, region, suv_max, voxels, volume_ml,
        equivalent_diameter_mm, centroid_x_mm, centroid_y_mm, centroid_z_mm``
        (centroids in LPS mm; ``suv_max`` NaN when no SUV was given).
    """

    labels: LabelMap
    table: pd.DataFrame

    def __len__(self) -> int:
        return len(self.table)


def parse_method(spec: str) -> tuple[str, float]:
    """``"fixed:4.0"`` → (``"fixed"``, 4.0); ``"adaptive"`` → (``"adaptive"``, 0.5)."""
    name, _, value = str(spec).partition(":")
    name = name.strip().lower()
    defaults = {"fixed": None, "relative": 0.41, "adaptive": 0.5}
    if name not in defaults:
        raise InvalidValueError(
            "lesion method must be fixed:T, relative:F or adaptive[:F]", field="method", value=spec
        )
    if not value:
        if defaults[name] is None:
            raise InvalidValueError("fixed needs an SUV threshold, e.g. fixed:4.0", value=spec)
        return name, float(defaults[name])  # type: ignore[arg-type]
    try:
        v = float(value)
    except ValueError:
        raise InvalidValueError(
            "method value must be a number", field="method", value=spec
        ) from None
    if not v > 0 or (name != "fixed" and v >= 1):
        raise InvalidValueError(
            "threshold must be > 0 (fractions in (0, 1))", field="method", value=spec
        )
    return name, v


def _components(mask: np.ndarray) -> np.ndarray:
    return cc3d.connected_components(np.ascontiguousarray(mask, dtype=np.uint8), connectivity=26)


def _label_max(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Maximum of ``values`` per label 1..n-1 (NaN for the background and absent labels)."""
    return label_maxima(values, labels, n)


def _finalise(
    labels: np.ndarray,
    grid: Volume,
    suv: np.ndarray | None,
    min_diameter_mm: float | None,
    *,
    keep_numbers: bool = False,
    source: str | None = None,
) -> LesionSet:
    """Measure components, drop small ones, renumber by the stable order, build the set."""
    lab = np.asarray(labels)
    if not np.issubdtype(lab.dtype, np.integer):
        lab = lab.astype(np.intp)
    n = int(lab.max(initial=0)) + 1
    # One compiled sweep: counts, centroids and SUVmax of every component (no index arrays).
    voxels, cidx, smax = component_moments(lab, suv, n)
    centroid = grid.index_to_lps(cidx[:, ::-1])
    vol_ml = voxels * grid.voxel_volume_ml
    diam = equivalent_diameter_mm(vol_ml)
    if suv is None:
        smax = np.full(n, np.nan)
    ids = np.arange(1, n)
    ids = ids[voxels[1:] > 0]
    if min_diameter_mm is not None:
        ids = ids[diam[ids] >= min_diameter_mm]
    if keep_numbers:
        order = ids
        new_ids = ids
    else:
        # Stable order: SUVmax descending, then centroid z, y, x (LPS) ascending.
        key_max = np.nan_to_num(-smax[ids], nan=np.inf)
        order = ids[np.lexsort((centroid[ids, 0], centroid[ids, 1], centroid[ids, 2], key_max))]
        new_ids = np.arange(1, order.size + 1)
    lut = np.zeros(n, dtype=label_dtype(int(order.size)))
    lut[order] = new_ids
    out = apply_lut(lab, lut)
    names = {int(i): f"lesion_{int(i):03d}" for i in new_ids}
    table = pd.DataFrame(
        {
            "lesion_id": new_ids.astype(int),
            "region": [names[int(i)] for i in new_ids],
            "suv_max": smax[order],
            "voxels": voxels[order].astype(int),
            "volume_ml": vol_ml[order],
            "equivalent_diameter_mm": diam[order],
            "centroid_x_mm": centroid[order, 0],
            "centroid_y_mm": centroid[order, 1],
            "centroid_z_mm": centroid[order, 2],
        },
        columns=list(_TABLE_COLUMNS),
    )
    lm = LabelMap(grid.with_array(out, "label"), names, "lesion", source)
    return LesionSet(lm, table)


def _search_array(search_mask: Volume | LabelMap | np.ndarray | None, suv: Volume) -> np.ndarray:
    if search_mask is None:
        return np.ones(suv.shape, dtype=bool)
    arr = search_mask.array if isinstance(search_mask, (Volume, LabelMap)) else search_mask
    arr = np.asarray(arr)
    if arr.shape != suv.shape:
        raise InputError(
            f"search mask shape {arr.shape} is not the PET grid {suv.shape}",
            field="search_mask",
        )
    return arr > 0


def segment_lesions(
    suv: Volume,
    method: str = "fixed:4.0",
    *,
    search_mask: Volume | LabelMap | np.ndarray | None = None,
    min_diameter_mm: float | None = 10.0,
    seed_suv: float = 2.5,
    background_suv: float | None = None,
) -> LesionSet:
    """Segment lesions on an SUV volume (see the module docstring for methods).

    Parameters
    ----------
    suv
        SUV volume.
    method
        ``"fixed:T"``, ``"relative:F"`` or ``"adaptive[:F]"``.
    search_mask
        Restrict to voxels > 0 of this mask (same grid); default whole image.
    min_diameter_mm
        Drop lesions with a smaller equivalent-sphere diameter (None keeps all).
    seed_suv
        SUV threshold of the seed components of the relative/adaptive methods.
    background_suv
        Fixed background for ``adaptive`` (default: local shell mean).

    Returns
    -------
    LesionSet
    """
    kind, value = parse_method(method)
    arr = np.asarray(suv.array)  # float32 or float64, never copied
    search = _search_array(search_mask, suv)
    if kind == "fixed":
        search &= arr >= value
        labels = _components(search)
    else:
        search &= arr >= seed_suv
        seeds = _components(search)
        del search
        n = int(seeds.max(initial=0)) + 1
        smax = label_maxima(arr, seeds, n)
        if kind == "relative":
            thr = value * smax
        else:
            if background_suv is not None:
                bg = np.full(n, float(background_suv))
            else:
                bg = shell_background_suv(arr, seeds, n, suv.spacing_mm)
                bg = np.where(np.isfinite(bg), bg, 0.0)
            thr = bg + value * (smax - bg)
        thr[0] = np.inf
        keep = threshold_by_label(arr, seeds, thr)
        del seeds
        # Each seed's thresholded voxels may form several foci (e.g. lesions in a liver
        # whose noisy background joins them into one seed): every focus is its own lesion.
        labels = _components(keep)
    return _finalise(labels, suv, arr, min_diameter_mm)


def lesions_from_labels(
    labels: Volume,
    suv: Volume | None = None,
    *,
    binary: bool = True,
    min_diameter_mm: float | None = None,
    file: str | PathLike[str] | None = None,
) -> LesionSet:
    """Lesions from a user mask already read into a :class:`Volume`.

    A *binary* mask must hold only 0 and 1; its connected components (26) become
    lesions, numbered in the stable order. A *labelled* mask keeps its numbers as
    lesion ids. Masks off the PET grid are resampled (nearest) when ``suv`` is given.

    Raises
    ------
    InputError
        A binary mask with values other than 0/1, or negative/non-integer labels.
    GeometryError
        Mask on another frame of reference / outside the PET.
    """
    arr = np.asarray(labels.array)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(np.mod(arr, 1) != 0):
        raise InputError("lesion mask values must be non-negative integers", file=file)
    if binary:
        bad = np.setdiff1d(np.unique(arr), [0, 1])
        if bad.size:
            raise InputError(
                f"binary lesion mask holds values other than 0/1 ({bad[:5].tolist()}); "
                "pass it as a labelled mask instead (--labelled / binary=False)",
                file=file,
                value=bad[:5].tolist(),
            )
    vol = labels.with_array(arr.astype(np.int32), "label")
    if suv is not None and not vol.same_grid(suv, tol_mm=1e-2):
        check_overlap(vol, suv, file=None if file is None else str(file))
        vol = vol.resample_like(suv, "nearest")
    lab = _components(vol.array > 0) if binary else vol.array
    grid = vol if suv is None else suv
    values = None if suv is None else np.asarray(suv.array)
    return _finalise(
        np.asarray(lab),
        grid,
        values,
        min_diameter_mm,
        keep_numbers=not binary,
        source=None if file is None else str(file),
    )


def lesions_from_mask(
    path: str | PathLike[str],
    suv: Volume | None = None,
    *,
    binary: bool = True,
    min_diameter_mm: float | None = None,
) -> LesionSet:
    """Read a lesion mask (NIfTI or DICOM SEG) and turn it into lesions (see
    :func:`lesions_from_labels`)."""
    from .labels import load_label_map

    lm = load_label_map(path, region_kind="lesion")
    return lesions_from_labels(
        lm.volume, suv, binary=binary, min_diameter_mm=min_diameter_mm, file=path
    )
