"""Series-level consistency and frame checks of a PET series' headers.

* The series-level fields (PS3.3 C.8.9.1 PET Series and C.8.9.2 PET Isotope
  modules: weight, height, dose, injection time, half-life, units, decay
  correction, series date-time) must be the same on every slice: a slice that
  differs is a :class:`~immunopet.core.errors.ConflictingFieldsError` naming it,
  never "use the first".
* Frame fields (ActualFrameDuration, FrameReferenceTime, DecayFactor) are
  range-checked on every slice, and DecayFactor is cross-checked against
  FrameReferenceTime and the half-life.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from pydicom.dataset import Dataset

from ..core.errors import ImmunopetWarning
from ..core.nuclides import Nuclide
from .header_values import read_item, read_number, read_text, same_everywhere

__all__ = ["DECAY_FACTOR_REL_TOL", "check_decay_factor", "check_frames", "consistent_fields"]


def _file(ds: Dataset, source: str | None) -> str | None:
    name = getattr(ds, "filename", None)
    return str(name) if isinstance(name, str) and name else source


#: Series-level fields at the top level of a slice, and in its
#: RadiopharmaceuticalInformationSequence item: every slice of one PET series must share
#: them all (PS3.3 C.8.9.1/C.8.9.2 are series-level).
_TOP_FIELDS = ("PatientWeight", "PatientSize", "Units", "DecayCorrection", "SeriesDate",
               "SeriesTime")  # fmt: skip
_ISOTOPE_FIELDS = ("RadionuclideTotalDose", "RadiopharmaceuticalStartDateTime",
                   "RadiopharmaceuticalStartTime", "RadionuclideHalfLife")  # fmt: skip
_SERIES_FIELDS = (*_TOP_FIELDS, *_ISOTOPE_FIELDS)


def _slice_fields(ds: Dataset, f: str | None) -> dict[str, Any]:
    """The series-level values one slice carries, each checked (finite, in range, well-formed)."""
    info = read_item(ds, "RadiopharmaceuticalInformationSequence", source=f)
    out: dict[str, Any] = {
        "PatientWeight": read_number(ds, "PatientWeight", source=f),
        "PatientSize": read_number(ds, "PatientSize", source=f),
        "Units": (read_text(ds, "Units", source=f) or "").upper() or None,
        "DecayCorrection": (read_text(ds, "DecayCorrection", source=f) or "").upper() or None,
        "SeriesDate": read_text(ds, "SeriesDate", source=f),
        "SeriesTime": read_text(ds, "SeriesTime", source=f),
    }
    for key in ("RadionuclideTotalDose", "RadionuclideHalfLife"):
        out[key] = None if info is None else read_number(info, key, source=f)
    for key in ("RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime"):
        out[key] = None if info is None else read_text(info, key, source=f)
    return out


#: Top-level elements holding the series-level fields (the isotope ones are in the sequence).
_RAW_KEYWORDS = (*_TOP_FIELDS, "RadiopharmaceuticalInformationSequence")


def _raw_signature(ds: Dataset) -> tuple[Any, ...] | None:
    """The stored bytes of the series-level elements, unconverted (None if unavailable).

    Slices whose bytes equal the first slice's hold the same values, so only the
    slices that differ need the (slower) checked read and comparison.
    """
    return _raw_values(ds, [_TAGS[kw] for kw in _RAW_KEYWORDS])


def _raw_values(ds: Dataset, tags: Sequence[int]) -> tuple[Any, ...] | None:
    """Stored (unconverted) values of ``tags`` in ``ds``; None once any is converted or odd."""
    out = []
    try:
        for tag in tags:
            elem = ds.get_item(tag) if tag in ds else None
            value = None if elem is None else elem.value
            if value is not None and not isinstance(value, (bytes, str)):
                return None
            out.append(value)
    except Exception:  # noqa: BLE001 - malformed: the checked read reports it
        return None
    return tuple(out)


def _tags() -> dict[str, int]:
    from pydicom.datadict import tag_for_keyword

    return {kw: int(tag_for_keyword(kw)) for kw in _RAW_KEYWORDS}  # type: ignore[arg-type]


_TAGS = _tags()
_FRAME_TAGS = (
    0x00181242,
    0x00541300,
    0x00541321,
)  # ActualFrameDuration, FrameReferenceTime, DecayFactor


def consistent_fields(headers: Sequence[Dataset], source: str) -> dict[str, Any]:
    """The series-level fields, checked on every slice that is not byte-identical to the first."""
    files = [_file(ds, source) for ds in headers]
    first_sig = _raw_signature(headers[0])
    first = _slice_fields(headers[0], files[0])
    per_slice = [first]
    for ds, f in zip(headers[1:], files[1:], strict=True):
        if first_sig is not None and _raw_signature(ds) == first_sig:
            per_slice.append(first)
        else:
            per_slice.append(_slice_fields(ds, f))
    return {
        key: same_everywhere([p[key] for p in per_slice], key, files, what=key)
        for key in _SERIES_FIELDS
    }


def check_frames(headers: Sequence[Dataset], source: str) -> float | None:
    """ActualFrameDuration (s) of the first slice; every slice's duration is range-checked."""
    first_s = None
    seen: set[tuple[Any, ...]] = set()
    for k, ds in enumerate(headers):
        raw = _raw_values(ds, _FRAME_TAGS)
        if raw is not None and raw in seen:
            continue  # the same stored bytes as a slice already checked
        if raw is not None:
            seen.add(raw)
        f = _file(ds, source)
        ms = read_number(ds, "ActualFrameDuration", source=f)
        read_number(ds, "FrameReferenceTime", source=f)
        read_number(ds, "DecayFactor", source=f)
        if k == 0 and ms is not None:
            first_s = ms / 1000.0
    return first_s


def check_decay_factor(
    ds: Dataset, nuclide: Nuclide, decay: str, offset_s: float, source: str | None
) -> None:
    """Warn when DecayFactor (0054,1321) disagrees with FrameReferenceTime and the half-life.

    DICOM PS3.3 C.8.9.4.1: FrameReferenceTime is the offset (ms) of the frame's
    reference point from the series reference time, and DecayFactor the factor
    that scaled the image to the DecayCorrection time: 2^(t/T½) with t =
    FrameReferenceTime for START, + (series start − injection) for ADMIN
    (``offset_s``). Frames of a dynamic series are thus corrected to the series start.
    """
    f = _file(ds, source)
    frt_ms = read_number(ds, "FrameReferenceTime", source=f)
    factor = read_number(ds, "DecayFactor", source=f)
    if frt_ms is None or factor is None or decay not in ("START", "ADMIN"):
        return
    t_s = frt_ms / 1000.0 + (offset_s if decay == "ADMIN" else 0.0)
    expected = math.exp(nuclide.decay_constant_per_s * t_s)
    if abs(factor / expected - 1.0) > DECAY_FACTOR_REL_TOL:
        implied_s = math.log(factor) / nuclide.decay_constant_per_s - (
            offset_s if decay == "ADMIN" else 0.0
        )
        warnings.warn(
            f"{f}: DecayFactor {factor:.6g} disagrees with FrameReferenceTime {frt_ms:.6g} ms "
            f"and the {nuclide.name} half-life ({nuclide.half_life_s:.6g} s; expected "
            f"{expected:.6g}, {100 * (factor / expected - 1):+.2f} %): the scanner corrected "
            f"to a time {implied_s - frt_ms / 1000.0:+.0f} s from the one immunopet uses "
            "(series start); check SeriesTime and the nuclide",
            ImmunopetWarning,
            stacklevel=3,
        )


#: DecayFactor vs 2^(FrameReferenceTime/T½) agreement (relative): DecayFactor is written to
#: ~6 significant digits, and a 0.03 % difference of scanner vs ICRP half-life over a 1-h
#: frame offset is < 1e-4; 0.2 % flags a reference time off by more than ~20 s for F-18.
DECAY_FACTOR_REL_TOL = 2e-3
