"""Label-number tables of a label map: TotalSegmentator's ``total`` task or a user JSON file.

The TotalSegmentator numbering and its mapping to immunopet's organ names live
in the one organ vocabulary, :mod:`immunopet.core.organs`
(:data:`~immunopet.core.organs.TOTALSEGMENTATOR_V2_TOTAL`,
:data:`~immunopet.core.organs.TOTALSEGMENTATOR_TO_IMMUNOPET`); classes with no
immunopet organ keep their TotalSegmentator name and are still measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

from ..core.errors import InputError, InvalidValueError
from ..core.organs import TOTALSEGMENTATOR_TO_IMMUNOPET, TOTALSEGMENTATOR_V2_TOTAL

__all__ = [
    "TOTALSEGMENTATOR_TO_IMMUNOPET",
    "TOTALSEGMENTATOR_V2_TOTAL",
    "label_names_from",
    "read_label_names_json",
]


def read_label_names_json(path: str | PathLike[str]) -> dict[int, str]:
    """Read a user table ``{"1": "liver", "2": "spleen", ...}`` from JSON.

    Raises
    ------
    InputError
        The file is missing, not JSON, or its keys are not positive integers /
        its values not non-empty strings.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError("label-name file not found", file=p) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read label names as JSON ({exc})", file=p) from None
    if not isinstance(raw, Mapping) or not raw:
        raise InputError("label names must be a JSON object {number: name}", file=p)
    out: dict[int, str] = {}
    for key, name in raw.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise InvalidValueError(
                "label numbers must be integers", file=p, field=str(key), value=key
            ) from None
        if number <= 0 or not isinstance(name, str) or not name.strip():
            raise InvalidValueError(
                "label numbers must be > 0 and names non-empty strings",
                file=p,
                field=str(key),
                value=name,
            )
        out[number] = name.strip()
    return out


def label_names_from(spec: str | PathLike[str] | Mapping[int, str]) -> dict[int, str]:
    """Resolve ``--labels-from``: ``"totalsegmentator"``, a JSON file, or a mapping."""
    if isinstance(spec, Mapping):
        return {int(k): str(v) for k, v in spec.items()}
    if str(spec).lower() in ("totalsegmentator", "totalsegmentator_v2", "total"):
        return dict(TOTALSEGMENTATOR_V2_TOTAL)
    return read_label_names_json(spec)
