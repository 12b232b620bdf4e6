"""Time-activity curves assembled from the tidy measurement table.

A :class:`TimeActivityCurve` holds, for one subject·region, the activity present
in the region *at each scan time* (not decay-corrected: that is what is
integrated for dosimetry, MIRD Pamphlet 21 eq. 2) with the times post-injection.
:func:`curves_from_table` builds them from the tidy measurement table
(``subject, scan_id, tracer, nuclide, time_h, region, region_kind, metric,
value, unit``): rows with ``metric == "activity_bq"`` form the curve; the
injected activity comes from ``injected_activity_bq`` rows (or an override);
``suv_mean`` and ``volume_ml`` rows, when present, add SUV and concentration;
an optional ``activity_sd_bq`` metric gives measurement standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import (
    InputError,
    InvalidValueError,
    MissingFieldError,
    PhysicsError,
    UnknownNuclideError,
)
from ..core.nuclides import Nuclide
from ..core.schema import Metric

__all__ = [
    "TABLE_COLUMNS",
    "TimeActivityCurve",
    "curves_from_table",
    "injected_activity_by_subject",
]

#: Columns of the tidy measurement table this module reads.
TABLE_COLUMNS = ("subject", "nuclide", "time_h", "region", "metric", "value")


def _as_float_array(values: object) -> np.ndarray:
    arr = np.array(values, dtype=float, copy=True).reshape(-1)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class TimeActivityCurve:
    """Activity in one region of one subject at the scan times.

    Attributes
    ----------
    subject, region
        Identifiers (region names are the snake_case names shared by immunopet).
    nuclide
        The radionuclide (ICRP-107 half-life).
    time_h
        Hours post-injection at each scan start; strictly increasing, ≥ 0.
    activity_bq
        Activity in the region at scan time (Bq), *not* decay-corrected; ≥ 0.
    activity_sd_bq
        Standard deviation of each activity (Bq), if known (> 0).
    injected_activity_bq
        Administered activity (Bq), if known; needed for the TIAC.
    region_kind
        ``organ``, ``lesion``, ``blood``, ``background`` or ``whole_body`` (or ``""``).
    concentration_bq_per_ml
        Activity concentration at scan time (Bq/mL), if the volume is known.
    suv
        Mean SUV at each time, if measured (decay-corrected, for plots).

    Raises
    ------
    InputError
        Arrays of different lengths, non-finite values, times not strictly
        increasing (duplicates included), negative activity or non-positive SD.
    PhysicsError
        A time before injection (``time_h < 0``).
    """

    subject: str
    region: str
    nuclide: Nuclide
    time_h: np.ndarray
    activity_bq: np.ndarray
    activity_sd_bq: np.ndarray | None = None
    injected_activity_bq: float | None = None
    region_kind: str = ""
    concentration_bq_per_ml: np.ndarray | None = None
    suv: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = f"subject {self.subject!r}, region {self.region!r}"
        if not isinstance(self.nuclide, Nuclide):
            raise InputError(
                f"{where}: nuclide must be a Nuclide, got {self.nuclide!r}", field="nuclide"
            )
        time_h = _as_float_array(self.time_h)
        activity_bq = _as_float_array(self.activity_bq)
        object.__setattr__(self, "time_h", time_h)
        object.__setattr__(self, "activity_bq", activity_bq)
        if time_h.size == 0:
            raise InputError(f"{where}: the time-activity curve has no points", field="time_h")
        for name in ("activity_sd_bq", "concentration_bq_per_ml", "suv"):
            values = getattr(self, name)
            if values is None:
                continue
            arr = _as_float_array(values)
            if arr.shape != time_h.shape:
                raise InputError(
                    f"{where}: {name} has {arr.size} values but there are {time_h.size} times",
                    field=name,
                )
            object.__setattr__(self, name, arr)
        if activity_bq.shape != time_h.shape:
            raise InputError(
                f"{where}: {activity_bq.size} activities for {time_h.size} times",
                field="activity_bq",
            )
        if not np.all(np.isfinite(time_h)):
            raise InvalidValueError(f"{where}: times must be finite", field="time_h", value=time_h)
        if np.any(time_h < 0):
            raise PhysicsError(
                f"{where}: a scan time before injection (time_h < 0); check the injection time",
                field="time_h",
                value=float(time_h.min()),
            )
        steps = np.diff(time_h)
        if np.any(steps == 0):
            raise InvalidValueError(
                f"{where}: duplicate scan time; merge or drop repeated measurements",
                field="time_h",
                value=float(time_h[1:][steps == 0][0]),
            )
        if np.any(steps < 0):
            raise InvalidValueError(
                f"{where}: times are not increasing; sort the points by time post-injection",
                field="time_h",
                value=time_h.tolist(),
            )
        if not np.all(np.isfinite(activity_bq)):
            raise InvalidValueError(f"{where}: activities must be finite", field="activity_bq")
        if np.any(activity_bq < 0):
            raise InvalidValueError(
                f"{where}: negative activity; activity at scan time cannot be below zero",
                field="activity_bq",
                value=float(activity_bq.min()),
            )
        if self.activity_sd_bq is not None and not np.all(self.activity_sd_bq > 0):
            raise InvalidValueError(
                f"{where}: activity standard deviations must be positive and finite",
                field="activity_sd_bq",
            )
        if self.injected_activity_bq is not None and not (
            math.isfinite(self.injected_activity_bq) and self.injected_activity_bq > 0
        ):
            raise InvalidValueError(
                f"{where}: injected activity must be a positive number of Bq",
                field="injected_activity_bq",
                value=self.injected_activity_bq,
            )

    @property
    def n_points(self) -> int:
        """Number of time points."""
        return int(self.time_h.size)

    @property
    def decay_constant_per_h(self) -> float:
        """Physical decay constant λ = ln 2 / T½ (h⁻¹), ICRP-107 half-life."""
        return math.log(2.0) / self.nuclide.half_life("h")

    @property
    def label(self) -> str:
        """``subject/region`` for messages."""
        return f"{self.subject}/{self.region}"


def _require_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingFieldError(
            f"the measurement table lacks column(s) {missing}; expected the tidy schema "
            "subject, scan_id, tracer, nuclide, time_h, region, region_kind, metric, value, unit",
            field=missing[0],
        )


def injected_activity_by_subject(table: pd.DataFrame) -> dict[str, float]:
    """Injected activity (Bq) per subject from the ``injected_activity_bq`` rows.

    Raises
    ------
    InvalidValueError
        Non-positive values, or different values for one subject.
    """
    _require_columns(table, ("subject", "metric", "value"))
    rows = table[table["metric"] == Metric.INJECTED_ACTIVITY_BQ]
    out: dict[str, float] = {}
    for subject, group in rows.groupby("subject", sort=True):
        values = group["value"].astype(float).to_numpy()
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        if np.any(values <= 0):
            raise InvalidValueError(
                f"subject {subject!r}: injected activity must be positive",
                field="injected_activity_bq",
                value=float(values.min()),
            )
        if np.ptp(values) > 1e-6 * values.max():
            raise InvalidValueError(
                f"subject {subject!r}: several different injected activities "
                f"({sorted(set(values.tolist()))}); one administration per subject is expected",
                field="injected_activity_bq",
            )
        out[str(subject)] = float(values[0])
    return out


def _metric_by_time(group: pd.DataFrame, metric: str, time_h: np.ndarray) -> np.ndarray | None:
    rows = group[group["metric"] == metric]
    if rows.empty:
        return None
    series = rows.groupby("time_h")["value"].mean()
    return series.reindex(time_h).to_numpy(dtype=float)


def curves_from_table(
    table: pd.DataFrame,
    *,
    injected_activity_bq: float | Mapping[str, float] | None = None,
    relative_sd: float | None = None,
    tracer: str | None = None,
) -> list[TimeActivityCurve]:
    """Build one :class:`TimeActivityCurve` per subject·region of the tidy table.

    Parameters
    ----------
    table
        The tidy measurement table; rows with ``metric == "activity_bq"`` form the curves.
    injected_activity_bq
        Overrides the ``injected_activity_bq`` rows: one value for every subject,
        or a mapping subject → Bq.
    relative_sd
        If given (e.g. ``0.1``), every activity gets a standard deviation of this
        fraction of its value, unless ``activity_sd_bq`` rows give one.
    tracer
        Keep only rows whose ``tracer`` contains this text (case-insensitive), e.g.
        ``"124I"`` when the table also holds FDG scans (rows without a tracer are kept).

    Returns
    -------
    list of TimeActivityCurve
        Sorted by subject then region; times sorted increasing.

    Raises
    ------
    MissingFieldError
        Missing columns, or no ``activity_bq`` rows at all.
    InvalidValueError
        Duplicate times in one curve, negative activity, bad SD.
    UnknownNuclideError
        Several nuclides (or an unknown one) in one curve.
    PhysicsError
        A time before injection.
    """
    _require_columns(table, TABLE_COLUMNS)
    if tracer is not None:
        if "tracer" not in table.columns:
            raise MissingFieldError("no 'tracer' column to select a tracer by", field="tracer")
        names = table["tracer"]
        keep = names.isna() | names.astype(str).str.contains(tracer, case=False, regex=False)
        table = table[keep]
    activity_rows = table[table["metric"] == Metric.ACTIVITY_BQ]
    if activity_rows.empty:
        raise MissingFieldError(
            "the measurement table has no rows with metric 'activity_bq' (activity at scan "
            "time) for the selected tracer; run `immunopet measure` on activity-concentration "
            "images",
            field="metric",
        )
    if isinstance(injected_activity_bq, Mapping):
        injected = {str(k): float(v) for k, v in injected_activity_bq.items()}
    elif injected_activity_bq is not None:
        injected = {str(s): float(injected_activity_bq) for s in table["subject"].unique()}
    else:
        injected = injected_activity_by_subject(table)
    if relative_sd is not None and not (math.isfinite(relative_sd) and relative_sd > 0):
        raise InvalidValueError(
            "relative SD must be a positive fraction, e.g. 0.1",
            field="relative_sd",
            value=relative_sd,
        )

    curves: list[TimeActivityCurve] = []
    for (subject, region), act in activity_rows.groupby(["subject", "region"], sort=True):
        where = f"subject {subject!r}, region {region!r}"
        nuclide_names = sorted({str(n) for n in act["nuclide"].dropna().unique()})
        if not nuclide_names:
            raise MissingFieldError(f"{where}: no nuclide given", field="nuclide")
        nuclides = {Nuclide.from_name(n) for n in nuclide_names}
        if len(nuclides) > 1:
            raise UnknownNuclideError(
                f"{where}: mixed nuclides {nuclide_names} in one time-activity curve; "
                "split the table by tracer",
                field="nuclide",
                value=nuclide_names,
            )
        times = act["time_h"].astype(float).to_numpy()
        if np.unique(times).size != times.size:
            dup = times[np.unique(times, return_counts=True)[1].argmax()]
            raise InvalidValueError(
                f"{where}: several activity_bq rows at the same time; merge or drop duplicates",
                field="time_h",
                value=float(dup),
            )
        order = np.argsort(times, kind="stable")
        time_h = times[order]
        activity_bq = act["value"].astype(float).to_numpy()[order]
        # All rows of this subject·region (any metric) for SUV, volume and SD look-ups.
        group = table[(table["subject"] == subject) & (table["region"] == region)]
        sd = _metric_by_time(group, "activity_sd_bq", time_h)
        if relative_sd is not None:
            rel = relative_sd * np.maximum(activity_bq, 1e-12 * max(activity_bq.max(), 1.0))
            sd = rel if sd is None else np.where(np.isfinite(sd), sd, rel)
        if sd is not None and not np.all(np.isfinite(sd)):
            raise InvalidValueError(
                f"{where}: activity_sd_bq is missing at some times", field="activity_sd_bq"
            )
        volume_ml = _metric_by_time(group, "volume_ml", time_h)
        conc = (
            None if volume_ml is None else activity_bq / np.where(volume_ml > 0, volume_ml, np.nan)
        )
        kind = ""
        if "region_kind" in act.columns:
            kinds = act["region_kind"].dropna().astype(str).unique()
            kind = str(kinds[0]) if kinds.size else ""
        curves.append(
            TimeActivityCurve(
                subject=str(subject),
                region=str(region),
                nuclide=nuclides.pop(),
                time_h=time_h,
                activity_bq=activity_bq,
                activity_sd_bq=sd,
                injected_activity_bq=injected.get(str(subject)),
                region_kind=kind,
                concentration_bq_per_ml=conc,
                suv=_metric_by_time(group, "suv_mean", time_h),
            )
        )
    return curves
