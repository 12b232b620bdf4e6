"""Time points of a study: nominal labels (``"1h"``, ``"90 min"``, ``"2d"``) in hours."""

from __future__ import annotations

import re

__all__ = ["parse_time_label_h"]

_TIME_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(min|m|h|d)\s*$", re.IGNORECASE)
_TIME_FACTOR_H = {"min": 1 / 60, "m": 1 / 60, "h": 1.0, "d": 24.0}


def parse_time_label_h(label: str) -> float:
    """Hours post-injection of a nominal time label (``"1h"``, ``"90 min"``, ``"2d"``).

    Raises
    ------
    ValueError
        If the label is not a number followed by ``min``, ``h`` or ``d``.
    """
    m = _TIME_RE.match(label)
    if m is None:
        raise ValueError(
            f"time label {label!r} is not a number followed by min, h or d (e.g. '24h')"
        )
    return float(m.group(1)) * _TIME_FACTOR_H[m.group(2).lower()]
