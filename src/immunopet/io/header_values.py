"""Checked reading of every DICOM header value ingest uses: present, well-formed, finite, plausible.

Every reader here either returns a clean Python value (or None when the field
is absent or empty) or raises an :class:`~immunopet.core.errors.InvalidValueError`
naming the file, the field and the value. Nothing pydicom raises for a
malformed element (``ValueError``, ``TypeError``, ``OverflowError``…) leaves
this module.

Plausible ranges (:data:`RANGES`) bound what a living subject and a PET scanner
can produce, with a wide margin; a value outside is a header error, not physics:

* PatientWeight (0010,1030): 5 g (a mouse pup; the project reads micro-PET) to
  650 kg (above the heaviest recorded human, ~635 kg, Guinness World Records);
* PatientSize (0010,1020): 1 cm to 3 m (metres by the standard; 170 means cm);
* RadionuclideTotalDose (0018,1074): 1 kBq to 100 GBq (a micro-PET injection is
  ~1 MBq; the largest clinical administrations, 131I therapy, are ~11 GBq);
* RadionuclideHalfLife (0018,1075): 1 s to 10⁴ years;
* ActualFrameDuration (0018,1242): 1 ms to 24 h;
* FrameReferenceTime (0054,1300): 0 to 30 days (ms);
* DecayFactor (0054,1321): 1e-6 to 1e6;
* RescaleSlope (0028,1053): finite, 1e-30 to 1e30 (PET slopes are ~1e-3–1e3);
  RescaleIntercept (0028,1052): finite, |b| ≤ 1e9;
* PixelSpacing (0028,0030), SliceThickness: 1 µm to 1 m; ImagePositionPatient
  (0020,0032): |x| ≤ 10 m.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from ..core.errors import ConflictingFieldsError, InvalidValueError

__all__ = [
    "RANGES",
    "checked_number",
    "read_item",
    "read_items",
    "read_number",
    "read_numbers",
    "read_text",
    "same_everywhere",
    "value_of",
]

#: (low, high, unit) of each numeric field (module docstring gives the reasons).
RANGES: dict[str, tuple[float, float, str]] = {
    "PatientWeight": (0.005, 650.0, "kg"),
    "PatientSize": (0.01, 3.0, "m"),
    "RadionuclideTotalDose": (1.0e3, 1.0e11, "Bq"),
    "RadionuclideHalfLife": (1.0, 3.2e11, "s"),
    "ActualFrameDuration": (1.0, 8.64e7, "ms"),
    "FrameReferenceTime": (0.0, 2.592e9, "ms"),
    "DecayFactor": (1.0e-6, 1.0e6, ""),
    "RescaleSlope": (1.0e-30, 1.0e30, ""),
    "RescaleIntercept": (-1.0e9, 1.0e9, ""),
    "PixelSpacing": (1.0e-3, 1.0e3, "mm"),
    "SliceThickness": (1.0e-3, 1.0e3, "mm"),
    "SpacingBetweenSlices": (1.0e-3, 1.0e3, "mm"),
    "ImagePositionPatient": (-1.0e4, 1.0e4, "mm"),
    "ImageOrientationPatient": (-1.0001, 1.0001, ""),
    "SUVScaleFactor": (1.0e-12, 1.0e6, "g/mL per count"),
    "ActivityConcentrationScaleFactor": (1.0e-12, 1.0e12, "Bq/mL per count"),
}


def value_of(ds: Dataset, keyword: str, *, source: str | None) -> Any:
    """The value of ``keyword`` in ``ds`` (None when absent or empty); malformed → InvalidValueError."""
    try:
        elem = ds.get(keyword)
    except Exception as exc:  # pydicom converts lazily; any failure is a malformed element
        raise InvalidValueError(
            f"cannot be read ({type(exc).__name__}: {exc})", file=source, field=keyword
        ) from exc
    if elem is None:
        return None
    if isinstance(elem, (bytes, str)) and not elem.strip():
        return None
    return elem


def read_text(ds: Dataset, keyword: str, *, source: str | None) -> str | None:
    """A text value, stripped (None when absent or empty); a multi-valued one is refused."""
    value = value_of(ds, keyword, source=source)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, (DicomSequence, Dataset)) or _is_multi(value):
        raise InvalidValueError(
            f"must be a single text value, got {_show(value)}",
            file=source,
            field=keyword,
            value=_show(value),
        )
    text = str(value).strip().strip("\x00").strip()
    return text or None


def checked_number(
    raw: Any, field: str, *, source: str | None, lo: float | None = None, hi: float | None = None
) -> float:
    """``raw`` as a finite float inside [lo, hi] (defaults: :data:`RANGES` of ``field``)."""
    if field in RANGES and lo is None and hi is None:
        lo, hi, unit = RANGES[field]
    else:
        unit = RANGES.get(field, (0, 0, ""))[2]
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace").strip("\x00 ")
    try:
        v = float(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidValueError(
            f"is not a number: {_show(raw)}", file=source, field=field, value=_show(raw)
        ) from exc
    if not math.isfinite(v):
        raise InvalidValueError(
            f"is not finite: {_show(raw)}", file=source, field=field, value=_show(raw)
        )
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InvalidValueError(
            f"{v:.6g} {unit} is outside the plausible range [{lo:g}, {hi:g}] {unit}".replace(
                "  ", " "
            ),
            file=source,
            field=field,
            value=v,
        )
    return v


def read_number(
    ds: Dataset,
    keyword: str,
    *,
    source: str | None,
    lo: float | None = None,
    hi: float | None = None,
) -> float | None:
    """One finite, in-range number (None when absent or empty); several values are refused."""
    value = value_of(ds, keyword, source=source)
    if value is None:
        return None
    if isinstance(value, (DicomSequence, Dataset)) or _is_multi(value):
        raise InvalidValueError(
            f"must hold one number, got {_show(value)}",
            file=source,
            field=keyword,
            value=_show(value),
        )
    if isinstance(value, str) and not value.strip():
        return None
    return checked_number(value, keyword, source=source, lo=lo, hi=hi)


def read_numbers(
    ds: Dataset, keyword: str, count: int, *, source: str | None
) -> tuple[float, ...] | None:
    """Exactly ``count`` finite, in-range numbers (None when absent)."""
    value = value_of(ds, keyword, source=source)
    if value is None:
        return None
    if isinstance(value, (DicomSequence, Dataset)):
        raise InvalidValueError(
            f"must hold {count} numbers, got a sequence", file=source, field=keyword
        )
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip("\x00 ").split("\\")
    elif isinstance(value, str):
        value = value.split("\\")
    items = list(value) if _is_multi(value) or isinstance(value, list) else [value]
    if len(items) != count:
        raise InvalidValueError(
            f"must hold {count} values, got {len(items)} ({_show(value)})",
            file=source,
            field=keyword,
            value=_show(value),
        )
    return tuple(checked_number(v, keyword, source=source) for v in items)


def read_item(ds: Dataset, keyword: str, *, source: str | None) -> Dataset | None:
    """The first item of a sequence (None when absent or empty); a non-sequence is refused."""
    value = value_of(ds, keyword, source=source)
    if value is None:
        return None
    if not isinstance(value, DicomSequence):
        raise InvalidValueError(
            f"must be a sequence (VR SQ), got {_show(value)}",
            file=source,
            field=keyword,
            value=_show(value),
        )
    if len(value) == 0:
        return None
    return value[0]


def read_items(ds: Dataset, keyword: str, *, source: str | None) -> list[Dataset]:
    """Every item of a sequence (empty when absent); a non-sequence is refused."""
    value = value_of(ds, keyword, source=source)
    if value is None:
        return []
    if not isinstance(value, DicomSequence):
        raise InvalidValueError(
            f"must be a sequence (VR SQ), got {_show(value)}",
            file=source,
            field=keyword,
            value=_show(value),
        )
    return list(value)


def _is_multi(value: Any) -> bool:
    return type(value).__name__ == "MultiValue" or isinstance(value, (list, tuple))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _same_value(a: Any, b: Any) -> bool:
    """Equal numbers (to 1e-6) or equal DA/TM/DT texts up to trailing fractional zeros."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    if isinstance(a, str) and isinstance(b, str):
        return _trim_fraction(a) == _trim_fraction(b)
    return False


def _trim_fraction(text: str) -> str:
    head, dot, frac = text.strip().partition(".")
    frac = frac.rstrip("0")
    return f"{head}.{frac}" if dot and frac else head


def same_everywhere(values: Sequence[Any], field: str, files: Sequence[Any], *, what: str) -> Any:
    """The common value of one field over every slice; a slice that differs is an error."""
    first = values[0]
    for v, f in zip(values, files, strict=True):
        if v != first and not _same_value(v, first):
            raise ConflictingFieldsError(
                f"{what} {v!r} differs from {first!r} in the first slice ({files[0]}); "
                "a series must have one value — check the files belong together",
                file=f,
                field=field,
                value=v,
            )
    return first
