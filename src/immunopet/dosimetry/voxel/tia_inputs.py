"""Checks and conversions of the inputs of the voxel TIA maps (:mod:`.tia_maps`)."""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from ...core.errors import GeometryError, InvalidValueError, UnsupportedDataError
from ...core.volume import Volume

__all__ = ["NumbaThreads", "activity_unit_factor", "check_series", "flat_mask"]

_PER_VOXEL_BQ = {"bq": 1.0, "kbq": 1e3, "mbq": 1e6}
_CONC_BQ_PER_ML = {"bqml": 1.0, "bq/ml": 1.0, "bq/cc": 1.0, "kbq/ml": 1e3, "mbq/ml": 1e6}


def activity_unit_factor(vol: Volume, index: int) -> float:
    """Factor from the map's unit to Bq per voxel (concentrations × voxel volume)."""
    key = vol.unit.strip().lower().replace(" ", "")
    if key in _PER_VOXEL_BQ:
        return _PER_VOXEL_BQ[key]
    if key in _CONC_BQ_PER_ML:
        return _CONC_BQ_PER_ML[key] * vol.voxel_volume_ml
    raise UnsupportedDataError(
        f"activity map {index}: unit {vol.unit!r} is not an activity (Bq, kBq, MBq per voxel) "
        "or a concentration (BQML, Bq/mL, kBq/mL)",
        field="unit",
        value=vol.unit,
    )


def flat_mask(mask: Volume | np.ndarray | None, ref: Volume) -> np.ndarray:
    """The body mask as a flat bool array (all voxels when None)."""
    if mask is None:
        return np.ones(int(np.prod(ref.shape)), dtype=np.bool_)
    if isinstance(mask, Volume):
        if not mask.same_grid(ref):
            raise GeometryError("the body mask is not on the activity maps' grid")
        arr = np.asarray(mask.array)
    else:
        arr = np.asarray(mask)
    if arr.shape != ref.shape:
        raise GeometryError(f"mask shape {arr.shape} differs from the maps' {ref.shape}")
    return np.ascontiguousarray(arr != 0).ravel()


def check_series(activity: Sequence[Volume], time_h: Sequence[float]) -> np.ndarray:
    """The times (h) as an array, after checking them and the maps' common grid."""
    t = np.asarray(time_h, dtype=np.float64)
    if len(activity) != t.size or t.size < 1:
        raise InvalidValueError(
            f"{len(activity)} activity maps but {t.size} times", field="time_h", value=t.size
        )
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise InvalidValueError(
            "times must be > 0 h post-injection and strictly increasing",
            field="time_h",
            value=t.tolist(),
        )
    ref = activity[0]
    for i, vol in enumerate(activity[1:], start=1):
        if not vol.same_grid(ref):
            raise GeometryError(
                f"activity map {i} is not on the grid of map 0: align the time points first "
                "(immunopet.dosimetry.voxel.alignment)"
            )
    return t


class NumbaThreads:
    """Context manager: run numba kernels with ``workers`` threads, then restore."""

    def __init__(self, workers: int | None) -> None:
        self.n = (
            None if workers is None else max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS))
        )
        self.old = numba.get_num_threads()

    def __enter__(self) -> None:
        if self.n is not None:
            numba.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        numba.set_num_threads(self.old)
