"""Typed tables handed between the stages of the recipe.

Each wraps one tidy :class:`pandas.DataFrame` and checks its columns once, at
construction (:mod:`immunopet.core.schema` is the schema). Plain DataFrames
appear only at the file edges (:meth:`read`, :attr:`frame` for Parquet/CSV) and
in the report.

Rules for rows
--------------
* A region with no voxel on a scan's grid (outside the field of view) is measured
  as NaN: the row is carried, as *missing*. :meth:`MeasurementTable.curves` skips
  those points, and a curve never seen at all, with one warning that counts them.
* A table without a ``nuclide`` column takes it from ``nuclide=`` (``--nuclide``)
  or from the tracer name (``124I-trastuzumab``, ``[89Zr]Zr-DFO-…``), and says so.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import (
    ImmunopetWarning,
    InputError,
    MissingFieldError,
    UnknownNuclideError,
)
from ..core.nuclides import parse_nuclide_name
from ..core.schema import DOSE_COLUMNS, MEASUREMENT_COLUMNS, TIA_COLUMNS, Metric, RegionKind

__all__ = [
    "DoseTable",
    "MeasurementTable",
    "StatisticsTable",
    "TiaTable",
    "nuclide_from_tracer",
    "read_table",
]

_TRACER_NUCLIDE = (
    re.compile(r"\[?\s*(\d{1,3}m?)\s*([A-Z][a-z]?)\s*\]?"),  # 124I-…, [89Zr]Zr-…, 99mTc
    re.compile(r"\b([A-Z][a-z]?)-?(\d{1,3}m?)\b"),  # I-124-…, Zr89
)


def nuclide_from_tracer(tracer: str) -> str:
    """The nuclide a radiopharmaceutical name spells (``124I-trastuzumab`` → ``I-124``).

    Raises
    ------
    UnknownNuclideError
        The name holds no nuclide ICRP-107 knows.
    """
    text = str(tracer)
    for pattern in _TRACER_NUCLIDE:
        for m in pattern.finditer(text):
            a, b = m.groups()
            spelled = f"{a}{b}" if a[0].isdigit() else f"{a}-{b}"
            try:
                return parse_nuclide_name(spelled)
            except UnknownNuclideError:
                continue
    raise UnknownNuclideError(
        f"tracer {tracer!r} names no nuclide: give --nuclide", field="tracer", value=tracer
    )


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """A CSV or Parquet table from disk (:class:`InputError` naming the file otherwise)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found", file=p)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p, comment="#")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the {what} ({exc})", file=p) from exc


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str, source: str | None) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingFieldError(
            f"the {what} lacks column(s) {missing} (expected {list(columns)})",
            file=source,
            field=missing[0],
        )


def _fill_nuclide(
    frame: pd.DataFrame, nuclide: str | None, what: str, source: str | None
) -> pd.DataFrame:
    """Fill a missing ``nuclide`` column from ``nuclide`` or the tracer names, with a warning."""
    if "nuclide" in frame.columns and frame["nuclide"].notna().all():
        return frame
    out = frame.copy()
    if nuclide is not None:
        name = parse_nuclide_name(nuclide)
        out["nuclide"] = out["nuclide"].fillna(name) if "nuclide" in out else name
        warnings.warn(
            f"{source or what}: no nuclide column; took {name} from --nuclide",
            ImmunopetWarning,
            stacklevel=3,
        )
        return out
    if "tracer" not in out.columns:
        raise MissingFieldError(
            f"the {what} has neither a nuclide nor a tracer column: give --nuclide",
            file=source,
            field="nuclide",
        )
    by_tracer = {t: nuclide_from_tracer(t) for t in out["tracer"].dropna().astype(str).unique()}
    filled = out["tracer"].astype(str).map(by_tracer)
    out["nuclide"] = out["nuclide"].fillna(filled) if "nuclide" in out else filled
    warnings.warn(
        f"{source or what}: no nuclide column; took it from the tracer name ("
        + ", ".join(f"{t} → {n}" for t, n in sorted(by_tracer.items()))
        + ")",
        ImmunopetWarning,
        stacklevel=3,
    )
    return out


@dataclass(frozen=True)
class MeasurementTable:
    """The tidy measurement table (:data:`~immunopet.core.schema.MEASUREMENT_COLUMNS`)."""

    frame: pd.DataFrame
    source: str | None = None

    def __post_init__(self) -> None:
        required = tuple(c for c in MEASUREMENT_COLUMNS if c != "nuclide")
        _require(self.frame, required, "measurement table", self.source)

    @classmethod
    def read(cls, path: str | Path, *, nuclide: str | None = None) -> MeasurementTable:
        """Read a CSV/Parquet measurement table; a missing nuclide column is filled (see module)."""
        frame = read_table(path, "measurement table")
        probe = cls(frame, str(path))
        return cls(_fill_nuclide(probe.frame, nuclide, "measurement table", str(path)), str(path))

    def with_nuclide(self, nuclide: str | None) -> MeasurementTable:
        """This table with its ``nuclide`` column filled (from ``nuclide`` or the tracers)."""
        return MeasurementTable(
            _fill_nuclide(self.frame, nuclide, "measurement table", self.source), self.source
        )

    def of_tracer(self, tracer: str | None) -> MeasurementTable:
        """Rows whose tracer contains ``tracer`` (case-insensitive); all rows for None."""
        if tracer is None:
            return self
        names = self.frame["tracer"].astype(str)
        keep = names.str.lower().str.contains(str(tracer).lower(), regex=False)
        return MeasurementTable(self.frame[keep], self.source)

    def curve_rows(self, tracer: str | None) -> MeasurementTable:
        """The time-activity rows of ``tracer``: organs, blood, whole body and lesions."""
        df = self.of_tracer(tracer).frame
        kinds = [k.value for k in (*RegionKind.organ_curve_kinds(), RegionKind.LESION)]
        keep = df["region_kind"].isin(kinds) & df["metric"].isin(
            [m.value for m in Metric.curve_metrics()]
        )
        df = df[keep].sort_values(["region", "metric", "time_h"], kind="stable")
        return MeasurementTable(df.reset_index(drop=True), self.source)

    def curves(
        self,
        *,
        tracer: str | None = None,
        kinds: tuple[RegionKind, ...] = RegionKind.organ_curve_kinds(),
        injected_activity_bq: float | None = None,
        relative_sd: float | None = None,
    ) -> list:  # list[TimeActivityCurve]
        """Time-activity curves of the regions of ``kinds``; missing (NaN) points skipped.

        A region outside the field of view at some time point measures NaN there: its
        curve uses the time points where it was seen, and regions never seen drop out.
        One :class:`~immunopet.core.errors.ImmunopetWarning` counts the skipped points.
        """
        from ..kinetics import curves_from_table

        df = self.frame
        injected = df["metric"] == Metric.INJECTED_ACTIVITY_BQ.value  # any region, any kind
        df = df[df["region_kind"].isin([RegionKind.parse(k).value for k in kinds]) | injected]
        missing = (df["metric"] == Metric.ACTIVITY_BQ.value) & ~np.isfinite(
            pd.to_numeric(df["value"], errors="coerce")
        )
        if missing.any():
            regions = sorted(df.loc[missing, "region"].astype(str).unique())
            warnings.warn(
                f"{int(missing.sum())} missing activity point(s) skipped (no voxel on the "
                f"scan's grid) in {len(regions)} region(s): {', '.join(regions[:8])}"
                + (" …" if len(regions) > 8 else ""),
                ImmunopetWarning,
                stacklevel=2,
            )
            df = df[~missing]
        return curves_from_table(
            df, injected_activity_bq=injected_activity_bq, relative_sd=relative_sd, tracer=tracer
        )


@dataclass(frozen=True)
class TiaTable:
    """Time-integrated activities, one row per subject·region (``tiac_h`` in hours)."""

    frame: pd.DataFrame
    source: str | None = None

    def __post_init__(self) -> None:
        _require(self.frame, ("subject", "region"), "TIA table", self.source)
        if "tiac_h" not in self.frame.columns and not (
            {"tia_bq_h", "injected_activity_bq"} <= set(self.frame.columns)
        ):
            raise MissingFieldError(
                "the TIA table needs a tiac_h column, or tia_bq_h with injected_activity_bq",
                file=self.source,
                field="tiac_h",
            )

    @classmethod
    def read(cls, path: str | Path) -> TiaTable:
        """Read a CSV/Parquet TIA table (``immunopet tac`` output or another tool's)."""
        return cls(read_table(path, "TIA table"), str(path))

    @property
    def nuclides(self) -> tuple[str, ...]:
        """The nuclides whose decay the TIAs were integrated with (empty if not stated)."""
        if "nuclide" not in self.frame.columns:
            return ()
        names = self.frame["nuclide"].dropna().astype(str).unique()
        return tuple(sorted({parse_nuclide_name(n) for n in names}))

    @property
    def columns(self) -> tuple[str, ...]:
        """The schema's TIA columns this table has."""
        return tuple(c for c in TIA_COLUMNS if c in self.frame.columns)


@dataclass(frozen=True)
class DoseTable:
    """Organ absorbed doses and effective dose (:data:`~immunopet.core.schema.DOSE_COLUMNS`)."""

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        _require(self.frame, DOSE_COLUMNS, "dose table", None)

    def effective_dose_msv_per_mbq(self) -> dict[str, float]:
        """Effective dose (mSv/MBq) per subject."""
        e = self.frame[self.frame["quantity"] == "effective_dose"]
        if "source_set" in e:  # the primary rows: every segmented organ a source
            e = e[e["source_set"] == "all_segmented"]
        if "nuclide" in e and len(e):  # the imaging (first) nuclide
            e = e[e["nuclide"] == e["nuclide"].iloc[0]]
        return {str(s): float(v) for s, v in zip(e["subject"], e["value"], strict=True)}


@dataclass(frozen=True)
class StatisticsTable:
    """The cohort statistics (:func:`immunopet.stats.study_statistics`)."""

    frame: pd.DataFrame
