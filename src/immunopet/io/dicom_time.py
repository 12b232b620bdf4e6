"""DICOM DA / TM / DT values → Python dates and times, with their UTC offsets.

Time zones (DICOM PS3.5 §6.2, DT value representation; PS3.3 C.12.1,
TimezoneOffsetFromUTC (0008,0201)): a DT value may end in an explicit UTC offset
``&ZZXX`` (``+hhmm``/``-hhmm``); DA, TM and DT values without one are in the local
time given by TimezoneOffsetFromUTC when present, else in an unspecified local time.
Every date-time of an :class:`~immunopet.core.scan.Acquisition` is naive and expressed
in the series' local time: a DT with an explicit offset is converted to the
offset the series declares (first header); when the series declares none, the
explicit offset is taken as the local one (right when all times share one zone,
which nothing in the header lets us check), and a warning is given when the DT
values used carry *different* offsets, since they cannot all be local.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from pydicom.dataset import Dataset

from ..core.errors import InvalidValueError

__all__ = [
    "combine_da_tm",
    "parse_da",
    "parse_dt",
    "parse_tm",
    "parse_utc_offset",
    "series_utc_offset",
    "split_dt",
]


def _text(value: Any, field: str, source: str | None) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if type(value).__name__ == "MultiValue" or isinstance(value, (list, tuple)):
        raise InvalidValueError(
            f"must be a single value, got {list(value)!r}"[:120], file=source, field=field
        )
    if not isinstance(value, (str, int, float)) and value is not None:
        raise InvalidValueError(
            f"is not a date/time value ({type(value).__name__})", file=source, field=field
        )
    return str(value if value is not None else "").strip().strip("\x00").strip()


def parse_da(value: Any, *, field: str = "DA", source: str | None = None) -> date | None:
    """DICOM DA ``YYYYMMDD`` → date (None when empty).

    Raises
    ------
    InvalidValueError
        Not a valid calendar date, or outside 1900–2200; names ``field``.
    """
    text = _text(value, field, source).replace("-", "").replace(".", "")
    if not text:
        return None
    try:
        if len(text) < 8 or not text[:8].isdigit():
            raise ValueError("not YYYYMMDD")
        d = datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError as exc:
        raise InvalidValueError(
            f"{text!r} is not a date YYYYMMDD (DICOM PS3.5 §6.2, DA)",
            file=source,
            field=field,
            value=text,
        ) from exc
    if not 1900 <= d.year <= 2200:
        raise InvalidValueError(
            f"date {d.isoformat()} is outside 1900–2200", file=source, field=field, value=text
        )
    return d


_TM_PATTERN = re.compile(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?")


def parse_tm(value: Any, *, field: str = "TM", source: str | None = None) -> time | None:
    """DICOM TM ``HH[MM[SS[.FFFFFF]]]`` (or ``HH:MM:SS``) → time (None when empty).

    Raises
    ------
    InvalidValueError
        Not ``HH[MM[SS[.F]]]``, or hour > 23, minute > 59, second > 60; names ``field``.
    """
    text = _text(value, field, source).replace(":", "")
    if not text:
        return None
    m = _TM_PATTERN.fullmatch(text)
    hh = int(m.group(1)) if m else 99
    mm = int(m.group(2) or 0) if m else 0
    ss = int(m.group(3) or 0) if m else 0
    if m is None or hh > 23 or mm > 59 or ss > 60:
        raise InvalidValueError(
            f"{text!r} is not a time HHMMSS.FFFFFF with HH ≤ 23, MM ≤ 59, SS ≤ 60 "
            "(DICOM PS3.5 §6.2, TM)",
            file=source,
            field=field,
            value=text,
        )
    micro = int((m.group(4) + "000000")[:6]) if m.group(4) else 0
    # A leap second (SS = 60) is kept as 59.999999: the clock cannot say better.
    return time(hh, mm, min(ss, 59), 999999 if ss == 60 else micro)


#: Offsets allowed in a DT value (DICOM PS3.5 §6.2, DT: "-1200" to "+1400").
_MIN_OFFSET = timedelta(hours=-12)
_MAX_OFFSET = timedelta(hours=14)
_OFFSET_PATTERN = re.compile(r"([+-])(\d{2})(\d{2})")


def parse_utc_offset(
    value: Any, *, field: str = "TimezoneOffsetFromUTC", source: str | None = None
) -> timedelta | None:
    """A DICOM UTC offset ``+hhmm`` / ``-hhmm`` → timedelta (None when empty).

    Used for TimezoneOffsetFromUTC (0008,0201) and the ``&ZZXX`` suffix of DT
    values (DICOM PS3.5 §6.2: range ``-1200`` to ``+1400``, minutes < 60).

    Raises
    ------
    InvalidValueError
        The text is not ``±hhmm`` or lies outside −12:00…+14:00; names ``field``.
    """
    text = str(value or "").strip()
    if not text:
        return None
    match = _OFFSET_PATTERN.fullmatch(text)
    offset = None
    if match is not None and int(match.group(3)) < 60:
        sign = -1 if match.group(1) == "-" else 1
        offset = sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    if offset is None or not _MIN_OFFSET <= offset <= _MAX_OFFSET:
        raise InvalidValueError(
            f"UTC offset {text!r} is not +hhmm or -hhmm between -1200 and +1400 "
            "(DICOM PS3.5 §6.2); correct the header or pass the time explicitly",
            file=source,
            field=field,
            value=text,
        )
    return offset


def split_dt(
    value: Any, *, field: str = "DT", source: str | None = None
) -> tuple[datetime | None, timedelta | None]:
    """DICOM DT ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` → (naive date-time as written, explicit offset).

    The offset is None when the value carries none. Raises :class:`InvalidValueError`
    naming ``field`` for a malformed offset.
    """
    text = _text(value, field, source)
    if not text:
        return None, None
    offset = None
    if len(text) > 8:
        cut = re.search(r"[+\-&]", text[8:])
        if cut is not None:
            start = 8 + cut.start()
            offset = parse_utc_offset(text[start:], field=field, source=source)
            text = text[:start]
    d = parse_da(text[:8], field=field, source=source)
    if d is None or len(text[:8]) < 8:
        raise InvalidValueError(
            f"{text!r} is not a date-time YYYYMMDDHHMMSS (DICOM PS3.5 §6.2, DT)",
            file=source,
            field=field,
            value=text,
        )
    t = parse_tm(text[8:], field=field, source=source) if len(text) > 8 else time(0, 0)
    return (datetime.combine(d, t or time(0, 0)) if d else None), offset


def parse_dt(
    value: Any,
    *,
    local_offset: timedelta | None = None,
    field: str = "DT",
    source: str | None = None,
) -> datetime | None:
    """DICOM DT → naive datetime in the local time ``local_offset`` (None when empty).

    A value with an explicit ``&ZZXX`` offset is converted to ``local_offset``
    when that is given; otherwise (no declared local offset, or no explicit
    offset) it is returned as written, i.e. taken as local time.
    """
    dt, offset = split_dt(value, field=field, source=source)
    if dt is not None and offset is not None and local_offset is not None:
        dt = dt - offset + local_offset
    return dt


def series_utc_offset(ds: Dataset, source: str | None = None) -> timedelta | None:
    """The local UTC offset a series declares: TimezoneOffsetFromUTC (0008,0201), or None."""
    return parse_utc_offset(
        ds.get("TimezoneOffsetFromUTC"), field="TimezoneOffsetFromUTC", source=source
    )


def combine_da_tm(
    d: Any,
    t: Any,
    *,
    fields: tuple[str, str] = ("DA", "TM"),
    source: str | None = None,
) -> datetime | None:
    """DA + TM → datetime (None when either is empty); malformed → InvalidValueError."""
    dd = parse_da(d, field=fields[0], source=source)
    tt = parse_tm(t, field=fields[1], source=source)
    if dd is None or tt is None:
        return None
    return datetime.combine(dd, tt)
