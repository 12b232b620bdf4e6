"""The one schema of immunopet's tables: region kinds, metric names and columns.

Closed sets of names are enums that also accept (and compare equal to) their
string value, after highdicom's ``seg/enum.py`` (``SegmentAlgorithmTypeValues``):
``RegionKind("lesion") is RegionKind.LESION`` and ``RegionKind.LESION == "lesion"``,
so a tidy table keeps plain strings in Parquet/CSV while the code names the
value it means. :meth:`RegionKind.parse` and :func:`parse_metric` fail at once on
a typo, with the valid names.

One name per region: the whole measured field of view is ``whole_body`` in every
table (measurements, curves, TIAs, dose *sources*); the dosimetry phantom's own
name for that source, ``total_body``, is reached only through
:func:`immunopet.core.organs.canonical_organ`.

Columns
-------
:data:`MEASUREMENT_COLUMNS` — the tidy measurement table, one row per
subject × scan × region × metric (:func:`immunopet.measure.measure`).
:data:`TIA_COLUMNS` — the kinetics table (:data:`immunopet.kinetics.KINETICS_COLUMNS`
is the full list; these are the columns every consumer relies on).
:data:`DOSE_COLUMNS` — the organ dose table (:func:`immunopet.dosimetry.organ_doses_table`).
"""

from __future__ import annotations

import difflib
import re
from enum import Enum

from .errors import InvalidValueError

__all__ = [
    "DOSE_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "TIA_COLUMNS",
    "Metric",
    "RegionKind",
    "is_metric",
    "parse_metric",
]


class _NamedValues(str, Enum):
    """A str-valued enum whose :meth:`parse` names the valid values on a typo."""

    @classmethod
    def parse(cls, value: object, *, field: str | None = None) -> _NamedValues:
        """The member for ``value`` (a member or its string), else :class:`InvalidValueError`."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            valid = [m.value for m in cls]
            close = difflib.get_close_matches(str(value), valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidValueError(
                f"unknown {cls.__name__} {value!r}{hint} (valid: {', '.join(valid)})",
                field=field or cls.__name__,
                value=value,
            ) from None

    def __str__(self) -> str:
        return str(self.value)


class RegionKind(_NamedValues):
    """What a region of a measurement table is (``region_kind`` column)."""

    ORGAN = "organ"
    LESION = "lesion"
    BLOOD = "blood"
    BACKGROUND = "background"
    WHOLE_BODY = "whole_body"

    @classmethod
    def organ_curve_kinds(cls) -> tuple[RegionKind, ...]:
        """Kinds whose activity curves feed organ dosimetry (organs, blood pool, whole body)."""
        return (cls.ORGAN, cls.BLOOD, cls.WHOLE_BODY)


class Metric(_NamedValues):
    """The measured quantities of the tidy table (``metric`` column).

    Definitions are in :mod:`immunopet.measure.table`. ``tnr_<region>`` metrics
    (lesion SUVmax over a reference region's SUVmean) are open-ended and are
    accepted by :func:`parse_metric` as plain strings.
    """

    SUV_MAX = "suv_max"
    SUV_MEAN = "suv_mean"
    SUV_PEAK = "suv_peak"
    SUV_SD = "suv_sd"
    SUV_MAX_CORE = "suv_max_core"
    VOXELS = "voxels"
    VOLUME_ML = "volume_ml"
    ACTIVITY_BQ = "activity_bq"
    ACTIVITY_DECAY_CORRECTED_BQ = "activity_decay_corrected_bq"
    PERCENT_IA = "percent_ia"
    PERCENT_ID_PER_G = "percent_id_per_g"
    INJECTED_ACTIVITY_BQ = "injected_activity_bq"
    TNR_BACKGROUND = "tnr_background"
    BACKGROUND_SUV_MEAN = "background_suv_mean"

    @classmethod
    def curve_metrics(cls) -> tuple[Metric, ...]:
        """Metrics a time-activity curve is built from (:mod:`immunopet.kinetics`)."""
        return (
            cls.ACTIVITY_BQ,
            cls.ACTIVITY_DECAY_CORRECTED_BQ,
            cls.PERCENT_IA,
            cls.SUV_MEAN,
            cls.SUV_MAX,
            cls.VOLUME_ML,
            cls.INJECTED_ACTIVITY_BQ,
        )


_TNR = re.compile(r"^tnr_[a-z0-9_]+$")
#: Metric names added by optional lesion metrics (MTV/TLG, SUVpeak variants) are
#: registered here by the module that computes them, so one list stays the truth.
EXTRA_METRICS: set[str] = set()


def is_metric(name: object) -> bool:
    """Whether ``name`` is a metric of the tidy table (an enum member, ``tnr_*`` or registered)."""
    text = str(name)
    return text in Metric._value2member_map_ or bool(_TNR.match(text)) or text in EXTRA_METRICS


def parse_metric(name: object, *, field: str = "metric") -> str:
    """``name`` as a metric string, or :class:`InvalidValueError` naming the valid ones."""
    if isinstance(name, Metric):
        return name.value
    text = str(name).strip()
    if is_metric(text):
        return text
    return Metric.parse(text, field=field).value  # raises with the close match


#: Columns of the tidy measurement table (one row per subject·scan·region·metric).
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "subject",
    "scan_id",
    "tracer",
    "nuclide",
    "time_h",
    "region",
    "region_kind",
    "metric",
    "value",
    "unit",
)

#: Columns every kinetics (TIA) table has; ``tiac_h_sd`` is optional input.
TIA_COLUMNS: tuple[str, ...] = ("subject", "region", "nuclide", "tia_bq_h", "tiac_h")

#: Columns of the organ dose table (quantity: ``absorbed_dose`` in mGy/MBq per target organ,
#: ``effective_dose`` in mSv/MBq on target ``whole_body``, and per-scan variants).
DOSE_COLUMNS: tuple[str, ...] = ("subject", "quantity", "target", "value", "sd", "unit", "phantom")
