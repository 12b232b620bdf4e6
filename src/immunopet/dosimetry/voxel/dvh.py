"""Dose statistics of regions and lesions: mean, max, D2/D50/D98, cumulative DVHs.

Definitions (ICRU Report 83, *Prescribing, Recording, and Reporting Photon-Beam
Intensity-Modulated Radiation Therapy*, J ICRU 2010;10(1), §3.2.2):

* D_x — the minimum dose received by the hottest x % of the volume: with the region's N
  voxels (of equal volume) sorted by decreasing dose and k = ⌈x · N / 100⌉, D_x is the
  k-th highest dose. D2 is ICRU 83's "near-maximum", D98 its "near-minimum", D50 the
  median absorbed dose.
* cumulative DVH — V(D), the fraction of the region's volume receiving a dose ≥ D.
* mean and max — of the voxel doses; ``volume_ml`` — N × voxel volume.

The dose map and the labels must share one grid (resample the labels onto the dose grid,
nearest neighbour, beforehand).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...core.errors import GeometryError, InvalidValueError
from ...core.volume import Volume

__all__ = [
    "DOSE_METRICS",
    "DVH_COLUMNS",
    "TABLE_COLUMNS",
    "DoseVolumeHistogram",
    "cumulative_dvh",
    "dose_at_volume",
    "dose_volume_table",
    "dvh_table",
]

#: Columns of the tidy dose-statistics table (as the measurement table's).
TABLE_COLUMNS = ("subject", "region", "region_kind", "metric", "value", "unit")
#: Columns of the long DVH table.
DVH_COLUMNS = ("subject", "region", "region_kind", "dose_gy", "volume_fraction")
#: Metrics of :func:`dose_volume_table` in their order, with units.
DOSE_METRICS: dict[str, str] = {
    "dose_mean_gy": "Gy",
    "dose_max_gy": "Gy",
    "dose_min_gy": "Gy",
    "d2_gy": "Gy",
    "d50_gy": "Gy",
    "d98_gy": "Gy",
    "volume_ml": "mL",
    "voxels": "1",
}


def dose_at_volume(doses: np.ndarray, percent: float | Sequence[float]) -> np.ndarray:
    """D_x (ICRU 83): the minimum dose of the hottest ``percent`` % of the voxels.

    Parameters
    ----------
    doses
        Voxel doses of one region (any shape, equal voxel volumes).
    percent
        x in (0, 100].

    Returns
    -------
    numpy.ndarray
        D_x per x (NaN for an empty region).
    """
    x = np.atleast_1d(np.asarray(percent, dtype=float))
    if np.any(~np.isfinite(x)) or np.any(x <= 0) or np.any(x > 100):
        raise InvalidValueError("D_x needs 0 < x ≤ 100 %", field="percent", value=x.tolist())
    d = np.sort(np.asarray(doses, dtype=np.float64).ravel())[::-1]
    if d.size == 0:
        return np.full(x.shape, np.nan)
    k = np.clip(np.ceil(x * d.size / 100.0 - 1e-9).astype(int), 1, d.size)
    return d[k - 1]


@dataclass(frozen=True)
class DoseVolumeHistogram:
    """A cumulative DVH: ``volume_fraction[i]`` of the region receives ≥ ``dose_gy[i]``."""

    dose_gy: np.ndarray
    volume_fraction: np.ndarray
    volume_ml: float


def _labels_and_names(
    dose: Volume, labels: Volume, names: Mapping[int, str] | None
) -> tuple[np.ndarray, dict[int, str]]:
    if not labels.same_grid(dose, tol_mm=1e-2):
        raise GeometryError(
            "the label map is not on the dose grid: resample it (nearest neighbour) first"
        )
    lab = np.asarray(labels.array)
    if names is None:
        present = np.unique(lab)
        names = {int(v): f"label_{int(v)}" for v in present if v != 0}
    return lab, {int(k): str(v) for k, v in names.items() if int(k) != 0}


def cumulative_dvh(
    dose: Volume, mask: Volume | np.ndarray, *, n_bins: int = 200, max_dose_gy: float | None = None
) -> DoseVolumeHistogram:
    """Cumulative DVH of the voxels where ``mask`` is non-zero, on ``n_bins + 1`` dose levels.

    The levels run from 0 to ``max_dose_gy`` (default: the region's maximum).
    """
    m = np.asarray(mask.array if isinstance(mask, Volume) else mask) != 0
    if m.shape != dose.shape:
        raise GeometryError(f"mask shape {m.shape} differs from the dose grid {dose.shape}")
    d = np.sort(np.asarray(dose.array, dtype=np.float64)[m])
    top = float(d[-1]) if d.size else 0.0
    top = top if max_dose_gy is None else float(max_dose_gy)
    levels = np.linspace(0.0, top if top > 0 else 1.0, int(n_bins) + 1)
    if d.size == 0:
        frac = np.full(levels.shape, np.nan)
    else:
        frac = 1.0 - np.searchsorted(d, levels, side="left") / d.size
    return DoseVolumeHistogram(levels, frac, float(d.size * dose.voxel_volume_ml))


def _region_slices(lab: np.ndarray, dose: np.ndarray, ids: Sequence[int]):  # type: ignore[no-untyped-def]
    """(label, sorted doses) per wanted label, from one sort over labelled voxels."""
    flat_l = lab.ravel()
    keep = np.isin(flat_l, np.asarray(ids, dtype=flat_l.dtype))
    sub_l = flat_l[keep]
    sub_d = dose.ravel()[keep].astype(np.float64)
    order = np.lexsort((sub_d, sub_l))
    sub_l, sub_d = sub_l[order], sub_d[order]
    for i in ids:
        lo, hi = np.searchsorted(sub_l, i, "left"), np.searchsorted(sub_l, i, "right")
        yield i, sub_d[lo:hi]


def dose_volume_table(
    dose: Volume,
    labels: Volume,
    names: Mapping[int, str] | None = None,
    *,
    subject: str = "",
    region_kind: str | Mapping[int, str] = "organ",
    percents: Sequence[float] = (2.0, 50.0, 98.0),
) -> pd.DataFrame:
    """Tidy dose statistics per region: ``subject, region, region_kind, metric, value, unit``.

    Parameters
    ----------
    dose
        Dose map (Gy).
    labels
        Integer label map on the dose grid (0 = background).
    names
        ``{label: region name}``; None names every label present ``label_<n>``.
    subject
        Subject id for the table.
    region_kind
        ``"organ"``, ``"lesion"``… for all regions, or per label.
    percents
        The x of the D_x rows (ICRU 83), ``d<x>_gy``.

    Returns
    -------
    pandas.DataFrame
        One row per region × metric (:data:`DOSE_METRICS`, with the D_x of ``percents``);
        regions without voxels on the grid have ``voxels = 0`` and NaN doses.
    """
    lab, nm = _labels_and_names(dose, labels, names)
    ids = sorted(nm)
    arr = np.asarray(dose.array)
    rows: list[tuple[str, str, str, str, float, str]] = []
    dx_names = [f"d{x:g}_gy".replace(".", "p") for x in percents]
    for i, d in _region_slices(lab, arr, ids):
        kind = region_kind.get(i, "organ") if isinstance(region_kind, Mapping) else region_kind
        n = d.size
        values: dict[str, tuple[float, str]] = {
            "dose_mean_gy": (float(d.mean()) if n else math.nan, "Gy"),
            "dose_max_gy": (float(d[-1]) if n else math.nan, "Gy"),
            "dose_min_gy": (float(d[0]) if n else math.nan, "Gy"),
        }
        if n:
            k = np.clip(np.ceil(np.asarray(percents) * n / 100.0 - 1e-9).astype(int), 1, n)
            dx = d[::-1][k - 1]
        else:
            dx = np.full(len(percents), math.nan)
        for name, v in zip(dx_names, dx, strict=True):
            values[name] = (float(v), "Gy")
        values["volume_ml"] = (n * dose.voxel_volume_ml, "mL")
        values["voxels"] = (float(n), "1")
        for metric, (v, unit) in values.items():
            rows.append((subject, nm[i], kind, metric, v, unit))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def dvh_table(
    dose: Volume,
    labels: Volume,
    names: Mapping[int, str] | None = None,
    *,
    subject: str = "",
    region_kind: str | Mapping[int, str] = "organ",
    n_bins: int = 200,
) -> pd.DataFrame:
    """Cumulative DVHs of every region in long form (:data:`DVH_COLUMNS`).

    All regions share the dose levels 0 … the maximum dose over the labelled regions.
    """
    lab, nm = _labels_and_names(dose, labels, names)
    ids = sorted(nm)
    arr = np.asarray(dose.array)
    in_any = np.isin(lab, ids)
    top = float(arr[in_any].max()) if in_any.any() else 1.0
    levels = np.linspace(0.0, top if top > 0 else 1.0, int(n_bins) + 1)
    parts = []
    for i, d in _region_slices(lab, arr, ids):
        kind = region_kind.get(i, "organ") if isinstance(region_kind, Mapping) else region_kind
        frac = 1.0 - np.searchsorted(d, levels, side="left") / d.size if d.size else levels * np.nan
        parts.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "region": nm[i],
                    "region_kind": kind,
                    "dose_gy": levels,
                    "volume_fraction": frac,
                }
            )  # fmt: skip
        )
    if not parts:
        return pd.DataFrame(columns=list(DVH_COLUMNS))
    return pd.concat(parts, ignore_index=True)
