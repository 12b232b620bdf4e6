"""Which radionuclide a PET header describes, identified as a physicist would.

Sources, in order of authority (DICOM PS3.3 C.8.9.2 PET Isotope Module):

1. the code value of RadionuclideCodeSequence (0054,0300), looked up in DICOM
   PS3.16 CID 4020 "PET Radionuclide" under any of its coding schemes: ``SCT``
   (SNOMED CT), and the legacy SNOMED-RT designators ``SRT`` / ``SNM3`` / ``99SDM``
   mapped to SCT through the SNOMED RT → CT table pydicom ships
   (``pydicom.sr._snomed_dict``, from DICOM PS3.16 Annex O);
2. the code meaning, in the spellings scanners write (``^18^Fluorine``,
   ``F^18^[^18^Fluorine]``, ``Fluorine-18``, ``18F``, ``F18``);
3. the Radiopharmaceutical (0018,0031) and Radionuclide (0018,0030) names
   (``124I-trastuzumab``, ``[89Zr]Zr-DFO-trastuzumab``, ``Ga-68 DOTATATE``);
4. the header RadionuclideHalfLife (0018,1075), matched against the ICRP-107
   half-lives within :data:`HALF_LIFE_REL_TOL` — first among the CID 4020 PET
   nuclides, then among all of ICRP-107.

Sources 1–3 that name a nuclide must name the same one, and the header
half-life, when present, must agree with it within :data:`HALF_LIFE_REL_TOL`;
otherwise :class:`~immunopet.core.errors.ConflictingFieldsError` names both and
asks for an explicit ``nuclide`` override. The half-life alone identifies a
nuclide only when no code or name names one and no code is unrecognised. With an override the
disagreeing header is reported as an :class:`~immunopet.core.errors.ImmunopetWarning`.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any

import numpy as np

from ..core.errors import ConflictingFieldsError, ImmunopetWarning, UnknownNuclideError
from ..core.nuclides import Nuclide, parse_nuclide_name

__all__ = [
    "HALF_LIFE_REL_TOL",
    "identify_nuclide",
    "nuclide_from_any_code",
    "nuclides_in_text",
    "nuclides_with_half_life",
]

#: Header half-life vs ICRP-107 agreement required (relative). Scanners write the
#: half-life to 4–6 digits, sometimes from an older evaluation (F-18 6588 s vs
#: ICRP-107 6586.2 s, 0.03 %); 0.5 % admits those and still separates every pair of
#: PET nuclides (the closest in CID 4020, Cu-64 12.70 h vs Br-76 16.2 h, differ by 28 %).
HALF_LIFE_REL_TOL = 0.005

#: Mass-first (``124I``, ``[89Zr]``, ``^18^Fluorine``, ``99mTc``) and symbol-first
#: (``F18``, ``Fluorine-18``, ``Ga-68``, ``F^18^``) tokens in free text.
_MASS_FIRST = re.compile(
    r"(?<![A-Za-z0-9.])(\d{1,3})(m\d?)?[\s\-_]?([A-Z][a-z]?|[A-Za-z]{3,13})(?![a-z])"
)
_SYMBOL_FIRST = re.compile(
    r"(?<![A-Za-z])([A-Z][a-z]?|[A-Za-z]{3,13})[\s\-_]?(\d{1,3})(m\d?)?(?![\d.])"
)


def _cid4020() -> dict[tuple[str, str], str]:
    from ..core.nuclides import _code_table

    return _code_table()


def nuclide_from_any_code(code_value: Any, scheme: Any) -> str | None:
    """Canonical nuclide of a CID 4020 code under any of its schemes, or None when not listed."""
    value = str(code_value or "").strip()
    if not value:
        return None
    table = _cid4020()
    scheme_u = str(scheme or "").strip().upper()
    hit = table.get((scheme_u, value))
    if hit is None:  # scheme missing or mislabelled: SCT ids and SRT "C-…" codes never collide
        hits = {n for (_s, v), n in table.items() if v == value}
        hit = hits.pop() if len(hits) == 1 else None
    return hit


def nuclides_in_text(text: Any) -> set[str]:
    """Every ICRP-107 nuclide a free-text name spells (empty set when none)."""
    raw = str(text or "")
    if not raw.strip():
        return set()
    norm = re.sub(r"[\^\[\]\(\)\{\},;:/]", " ", raw)
    found: set[str] = set()
    for m in _MASS_FIRST.finditer(norm):
        _try(found, f"{m.group(1)}{m.group(2) or ''}{m.group(3)}")
    for m in _SYMBOL_FIRST.finditer(norm):
        _try(found, f"{m.group(1)}-{m.group(2)}{m.group(3) or ''}")
    return found


def _try(found: set[str], token: str) -> None:
    try:
        found.add(parse_nuclide_name(token))
    except UnknownNuclideError:
        pass


@functools.lru_cache(maxsize=2)
def _icrp107_half_lives(pet_only: bool) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, half-lives in s) of the CID 4020 PET nuclides, or of all ICRP-107 nuclides."""
    from ..core.nuclides import _known_nuclides

    names = sorted(set(_cid4020().values()) if pet_only else _known_nuclides())
    names = [n for n in names if n in _known_nuclides()]
    return tuple(names), np.asarray([Nuclide.from_name(n).half_life_s for n in names])


def nuclides_with_half_life(half_life_s: float, rel_tol: float = HALF_LIFE_REL_TOL) -> list[str]:
    """Nuclides whose ICRP-107 half-life is within ``rel_tol`` of ``half_life_s``.

    PET nuclides (CID 4020) are returned when any matches, else all ICRP-107 matches (the
    1252 records are read only then).
    """
    for pet_only in (True, False):
        names, values = _icrp107_half_lives(pet_only)
        close = [names[i] for i in np.flatnonzero(np.abs(values / half_life_s - 1.0) <= rel_tol)]
        if close:
            return sorted(close)
    return []


def _meaning_nuclides(code_meaning: Any) -> set[str]:
    try:
        return {parse_nuclide_name(str(code_meaning))}
    except UnknownNuclideError:
        return nuclides_in_text(code_meaning)


def identify_nuclide(
    *,
    code_items: list[tuple[Any, Any, Any]],
    names: list[tuple[str, Any]],
    header_half_life_s: float | None,
    source: str | None,
    override: str | Nuclide | None = None,
) -> Nuclide:
    """The nuclide of one PET header (rules in the module docstring).

    Parameters
    ----------
    code_items
        (CodeValue, CodingSchemeDesignator, CodeMeaning) of each RadionuclideCodeSequence item.
    names
        (field, text) of Radiopharmaceutical / Radionuclide.
    header_half_life_s
        RadionuclideHalfLife (s), already checked finite and positive, or None.
    source
        File or folder named in messages.
    override
        A nuclide chosen by the user: it wins, and disagreeing header fields warn.

    Raises
    ------
    ConflictingFieldsError
        Two sources name different nuclides, or the header half-life is another nuclide's.
    UnknownNuclideError
        Nothing identifies a nuclide.
    """
    claims: dict[str, str] = {}  # nuclide → the first field naming it
    unknown: list[str] = []
    for value, scheme, meaning in code_items:
        by_code = nuclide_from_any_code(value, scheme)
        if by_code is not None:
            claims.setdefault(by_code, f"CodeValue {value} ({scheme})")
        elif value:
            unknown.append(f"code {value!r} ({scheme}) is not in DICOM CID 4020")
        for n in _meaning_nuclides(meaning):
            claims.setdefault(n, f"CodeMeaning {str(meaning)!r}")
        if meaning and not _meaning_nuclides(meaning):
            unknown.append(f"code meaning {str(meaning)!r} names no known nuclide")
    for field, text in names:
        for n in nuclides_in_text(text):
            claims.setdefault(n, f"{field} {str(text)!r}")
    if override is None and len(claims) == 1:
        agreed = Nuclide.from_name(next(iter(claims)))
        if header_half_life_s is None or not _disagrees(agreed, header_half_life_s):
            return agreed  # the usual case: no half-life table search needed
    by_half_life = (
        nuclides_with_half_life(header_half_life_s) if header_half_life_s is not None else []
    )
    hl_text = (
        f"RadionuclideHalfLife {header_half_life_s:.6g} s"
        + (
            f" (ICRP-107: {', '.join(by_half_life[:4])})"
            if by_half_life
            else " (no ICRP-107 match)"
        )
        if header_half_life_s is not None
        else ""
    )
    if override is not None:
        chosen = override if isinstance(override, Nuclide) else Nuclide.from_name(str(override))
        others = [f"{why} → {n}" for n, why in claims.items() if n != chosen.name]
        if header_half_life_s is not None and _disagrees(chosen, header_half_life_s):
            others.append(hl_text)
        if others:
            warnings.warn(
                f"{source}: nuclide {chosen.name} chosen by the user although the header says "
                + "; ".join(others),
                ImmunopetWarning,
                stacklevel=3,
            )
        return chosen
    if len(claims) > 1:
        listed = "; ".join(f"{why} → {n}" for n, why in claims.items())
        raise ConflictingFieldsError(
            f"the header names different radionuclides ({listed}); pass the nuclide "
            "explicitly (--nuclide, or nuclide: in the study file)",
            file=source,
            field="RadionuclideCodeSequence",
            value=sorted(claims),
        )
    if len(claims) == 1:
        name, why = next(iter(claims.items()))
        nuclide = Nuclide.from_name(name)
        if header_half_life_s is not None and _disagrees(nuclide, header_half_life_s):
            raise ConflictingFieldsError(
                f"{why} names {name} (ICRP-107 T½ {nuclide.half_life_s:.6g} s) but the header "
                f"{hl_text} differs by {100 * (header_half_life_s / nuclide.half_life_s - 1):+.1f} % "
                f"(more than {100 * HALF_LIFE_REL_TOL:g} %); pass the nuclide explicitly "
                "(--nuclide, or nuclide: in the study file)",
                file=source,
                field="RadionuclideHalfLife",
                value=header_half_life_s,
            )
        return nuclide
    if not unknown and len(by_half_life) == 1:
        return Nuclide.from_name(by_half_life[0])
    detail = "; ".join(unknown)
    hint = f"; {hl_text}" if hl_text else ""
    raise UnknownNuclideError(
        "cannot identify the radionuclide from RadionuclideCodeSequence or Radiopharmaceutical"
        f"{' (' + detail + ')' if detail else ''}{hint}; the nuclide is needed for decay "
        "correction — pass it explicitly (--nuclide, or nuclide: in the study file)",
        file=source,
        field="RadionuclideCodeSequence",
    )


def _disagrees(nuclide: Nuclide, header_half_life_s: float) -> bool:
    return abs(header_half_life_s / nuclide.half_life_s - 1.0) > HALF_LIFE_REL_TOL
