"""The wide lesion table: one row per lesion and scan, one column per metric.

Built from the tidy measurement table (rows with ``region_kind == "lesion"``),
with the subjects' group labels and optional per-lesion labels joined on.

Time points: scans are grouped into nominal time points by clustering their
``time_h`` per tracer (a new time point starts when a time exceeds the previous
one by more than 25 % + 0.5 h); the nominal value is the cluster median, rounded
to the hour from 2 h on, to the half hour from 0.5 h, else to 0.1 h. A
``time_point_h`` column in the measurements wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import MissingFieldError
from ..core.schema import RegionKind

__all__ = ["lesion_table", "nominal_time_points", "tracer_matches"]


def nominal_time_points(time_h: Sequence[float] | np.ndarray) -> np.ndarray:
    """Nominal time point (h) of each scan time, by gap clustering (module docstring)."""
    t = np.asarray(time_h, dtype=float)
    out = np.full_like(t, np.nan)
    finite = np.isfinite(t)
    if not finite.any():
        return out
    values = np.unique(t[finite])
    clusters: list[list[float]] = [[values[0]]]
    for v in values[1:]:
        prev = clusters[-1][-1]
        if v > prev * 1.25 + 0.5:
            clusters.append([v])
        else:
            clusters[-1].append(v)
    lookup = {}
    for c in clusters:
        med = float(np.median(c))
        if med >= 2:
            nominal = float(round(med))
        elif med >= 0.5:
            nominal = round(med * 2) / 2
        else:
            nominal = round(med, 1)
        for v in c:
            lookup[v] = nominal
    out[finite] = [lookup[v] for v in t[finite]]
    return out


#: Columns of a lesions table that identify the lesion or its scan, never a group label.
_NOT_LABELS = frozenset(
    {"subject", "region", "analysed", "scan_id", "tracer", "nuclide", "time_h", "time_point_h",
     "region_kind", "metric", "value", "unit", "lesion", "lesion_id", "truth_id"}
)  # fmt: skip


def tracer_matches(tracers: pd.Series, tracer: str) -> pd.Series:
    """Rows whose tracer is ``tracer`` (case-insensitive), else contains it ("FDG")."""
    exact = tracers.str.lower() == tracer.lower()
    if exact.any():
        return exact
    return tracers.str.lower().str.contains(tracer.lower(), regex=False)


def lesion_table(
    measurements: pd.DataFrame,
    subjects: pd.DataFrame | None = None,
    lesions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Wide lesion table: one row per lesion and scan, one column per metric.

    Columns: ``subject, scan_id, tracer, time_h, time_point_h, region``, the
    metrics (``suv_max``, ``tnr_background``…), the subject group labels
    (from ``subjects``) overridden by per-lesion labels from ``lesions`` where
    given (matched on ``subject`` and ``region``/``lesion_id``/``lesion``);
    lesions marked ``analysed = False`` are dropped.
    """
    needed = ("subject", "tracer", "time_h", "region", "region_kind", "metric", "value")
    for col in needed:
        if col not in measurements.columns:
            raise MissingFieldError(f"the measurement table has no column {col!r}", field=col)
    m = measurements[measurements["region_kind"] == RegionKind.LESION].copy()
    m["tracer"] = m["tracer"].astype(str)
    if "scan_id" not in m.columns:
        m["scan_id"] = m["tracer"] + "@" + m["time_h"].astype(str)
    index = ["subject", "scan_id", "tracer", "time_h", "region"]
    if "time_point_h" in m.columns:
        index.append("time_point_h")
    if m.empty:
        return pd.DataFrame(columns=[*index, "time_point_h"])
    wide = m.pivot_table(index=index, columns="metric", values="value", aggfunc="first")
    wide = wide.reset_index()
    wide.columns.name = None
    if "time_point_h" not in wide.columns:
        wide["time_point_h"] = np.nan
        for _tracer, idx in wide.groupby("tracer").groups.items():
            wide.loc[idx, "time_point_h"] = nominal_time_points(wide.loc[idx, "time_h"])
    if subjects is not None and not subjects.empty and "subject" in subjects.columns:
        wide = wide.merge(subjects.drop_duplicates("subject"), on="subject", how="left")
    if lesions is not None and not lesions.empty and "subject" in lesions.columns:
        key = next((c for c in ("region", "lesion_id", "lesion") if c in lesions.columns), None)
        if key is not None:
            les = lesions.rename(columns={key: "region"}).drop_duplicates(["subject", "region"])
            if "analysed" in les.columns:
                dropped = les.loc[~les["analysed"].fillna(True).astype(bool), ["subject", "region"]]
                if not dropped.empty:
                    drop_keys = set(map(tuple, dropped.to_numpy()))
                    keep = [
                        (s, r) not in drop_keys
                        for s, r in zip(wide.subject, wide.region, strict=True)
                    ]
                    wide = wide[keep]
            labels = [
                c for c in les.columns
                if c not in _NOT_LABELS
                and not pd.api.types.is_numeric_dtype(les[c])
                and not pd.api.types.is_bool_dtype(les[c])
            ]  # fmt: skip
            if labels:
                extra = les[["subject", "region", *labels]]
                wide = wide.merge(
                    extra, on=["subject", "region"], how="left", suffixes=("", "_lesion")
                )
                for c in labels:
                    if f"{c}_lesion" in wide.columns:
                        wide[c] = wide[f"{c}_lesion"].where(wide[f"{c}_lesion"].notna(), wide[c])
                        wide = wide.drop(columns=[f"{c}_lesion"])
    return wide.reset_index(drop=True)
