"""Nuclear data: nuclide names, half-lives, decay factors and emission spectra.

Every number here comes from nuclear data packages, never from a literal:

* half-lives — ICRP Publication 107 (Eckerman & Endo 2008) as distributed by the
  ``icrp107-database`` package (each record's ``half_life`` and ``time_unit``; the
  year is 365.2422 d, the convention of ICRP-107's data files, with which all 1252
  half-lives equal :mod:`radioactivedecay`'s ``icrp107_ame2020_nubase2020`` dataset
  to 1e-9 — checked by the tests);
* decay chains — the same ICRP-107 data as distributed by :mod:`radioactivedecay`
  (imported only where a chain or an unusual spelling needs it: the package
  takes ~1.3 s to import, which every command and every worker would otherwise pay);
* emission spectra (energies and absolute yields per decay) — ICRP
  Publication 107 as distributed by the ``icrp107-database`` package
  (data © A. Endo and K.F. Eckerman, for educational, research and
  not-for-profit use; the notice travels with that package, which is a
  dependency and is never vendored here);
* DICOM radionuclide codes — DICOM PS3.16 CID 4020 "PET Radionuclide" via
  :mod:`pydicom.sr.codedict`.

Names a user or a header may give (``I-124``, ``124I``, ``I124``,
``^124^Iodine``, ``Iodine-124``, ``iodine 124``, ``99mTc``) all resolve to
the canonical ``Symbol-A[m]`` form (``I-124``, ``Tc-99m``).

Examples
--------
>>> from immunopet.core.nuclides import Nuclide
>>> i124 = Nuclide.from_name("^124^Iodine")
>>> i124.name
'I-124'
>>> round(i124.half_life("h"), 3)
100.224
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from .errors import UnknownNuclideError

__all__ = [
    "EMISSION_KINDS",
    "Emission",
    "Nuclide",
    "beta_spectrum",
    "decay_factor",
    "emissions",
    "nuclide_from_code",
    "parse_nuclide_name",
]

_SECONDS_PER = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

#: Seconds per ``time_unit`` of an ICRP-107 record (the year of ICRP-107's data files,
#: 365.2422 d; ms and us for the shortest-lived nuclides).
_ICRP107_SECONDS_PER = {
    "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
    "y": 365.2422 * 86400.0,
}  # fmt: skip

#: Element symbols in order of atomic number Z = 1…118 (IUPAC Periodic Table of the
#: Elements, 2022); the tests check them against radioactivedecay's ``Z_DICT``.
_ELEMENT_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce "
    "Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn "
    "Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl "
    "Mc Lv Ts Og"
).split()
_SYMBOL_BY_Z = dict(enumerate(_ELEMENT_SYMBOLS, start=1))

# English element names (IUPAC), needed to read DICOM code meanings such as
# "^124^Iodine" and user input such as "Zirconium-89".
_ELEMENT_NAMES = (
    "hydrogen helium lithium beryllium boron carbon nitrogen oxygen fluorine neon "
    "sodium magnesium aluminium silicon phosphorus sulfur chlorine argon potassium calcium "
    "scandium titanium vanadium chromium manganese iron cobalt nickel copper zinc "
    "gallium germanium arsenic selenium bromine krypton rubidium strontium yttrium zirconium "
    "niobium molybdenum technetium ruthenium rhodium palladium silver cadmium indium tin "
    "antimony tellurium iodine xenon caesium barium lanthanum cerium praseodymium neodymium "
    "promethium samarium europium gadolinium terbium dysprosium holmium erbium thulium ytterbium "
    "lutetium hafnium tantalum tungsten rhenium osmium iridium platinum gold mercury "
    "thallium lead bismuth polonium astatine radon francium radium actinium thorium "
    "protactinium uranium neptunium plutonium americium curium berkelium californium "
    "einsteinium fermium"
).split()
_NAME_TO_SYMBOL: dict[str, str] = {
    name: _SYMBOL_BY_Z[z] for z, name in enumerate(_ELEMENT_NAMES, start=1)
}
_NAME_TO_SYMBOL.update({"aluminum": "Al", "cesium": "Cs", "sulphur": "S"})
_SYMBOLS_LOWER = {sym.lower(): sym for sym in _SYMBOL_BY_Z.values()}

# Symbol-first ("I-124", "I124", "Tc-99m", "Iodine 124") and mass-first ("124I", "99mTc",
# "^124^Iodine", "124-I") spellings.
_SYMBOL_FIRST = re.compile(r"^([A-Za-z]+)[\s_\-]*(\d{1,3})\s*(m\d?|M\d?|n)?$")
_MASS_FIRST = re.compile(r"^\^?(\d{1,3})\s*(m\d?)?\^?[\s_\-]*([A-Za-z]+)$")


def _element_symbol(token: str) -> str | None:
    low = token.strip().lower()
    return _SYMBOLS_LOWER.get(low) or _NAME_TO_SYMBOL.get(low)


@functools.lru_cache(maxsize=1)
def _known_nuclides() -> frozenset[str]:
    """The radionuclides of ICRP-107 (the records of the ``icrp107-database`` package)."""
    root = resources.files("icrp107_database") / "icrp107"
    return frozenset(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def parse_nuclide_name(name: str) -> str:
    """Return the canonical ``Symbol-A[m]`` name of a nuclide given in any usual spelling.

    Parameters
    ----------
    name
        ``"I-124"``, ``"124I"``, ``"I124"``, ``"^124^Iodine"``, ``"Iodine-124"``,
        ``"99mTc"``, ``"Tc-99m"``, ``"F18"``…

    Returns
    -------
    str
        The canonical name known to ICRP-107 (e.g. ``"I-124"``).

    Raises
    ------
    UnknownNuclideError
        If the name cannot be parsed or ICRP-107 has no such nuclide; the
        message lists close matches.
    """
    raw = str(name).strip()
    text = raw.replace("^", " ").strip() if raw.startswith("^") else raw
    text = re.sub(r"\s+", " ", text)
    candidate: str | None = None
    m = _SYMBOL_FIRST.match(text)
    if m and _element_symbol(m.group(1)):
        meta = (m.group(3) or "").lower()
        candidate = f"{_element_symbol(m.group(1))}-{int(m.group(2))}{meta}"
    else:
        m = _MASS_FIRST.match(text.replace(" ", "") if raw.startswith("^") else text)
        if m and _element_symbol(m.group(3)):
            meta = (m.group(2) or "").lower()
            candidate = f"{_element_symbol(m.group(3))}-{int(m.group(1))}{meta}"
    known = _known_nuclides()
    if candidate is not None and candidate in known:
        return candidate
    if candidate is not None and f"{candidate}" not in known:
        import radioactivedecay as rd
        from radioactivedecay.utils import NuclideStrError

        try:  # let radioactivedecay have a go (it knows "m1", "n" states etc.)
            parsed = rd.Nuclide(candidate).nuclide
            if parsed in known:
                return str(parsed)
        except (NuclideStrError, ValueError):
            pass
    probe = candidate or raw
    close = difflib.get_close_matches(probe, sorted(known), n=5, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownNuclideError(
        f"unknown nuclide {raw!r}: not in the ICRP-107 nuclear data.{hint} "
        "Give it as Symbol-A, e.g. 'I-124', 'Zr-89', 'F-18', 'Tc-99m'.",
        field="nuclide",
        value=raw,
    )


#: Designators of the legacy SNOMED-RT scheme CID 4020 used before SNOMED CT (PS3.16 Annex O).
_LEGACY_SNOMED = ("SRT", "SNM3", "99SDM", "SNM")


@functools.lru_cache(maxsize=1)
def _code_table() -> dict[tuple[str, str], str]:
    """(scheme, code value) → canonical nuclide, from DICOM PS3.16 CID 4020 (pydicom).

    SCT concepts are also listed under their legacy SNOMED-RT code (``C-111A1`` for
    18F), under every legacy designator, through the SNOMED RT → CT mapping pydicom
    ships (``pydicom.sr._snomed_dict``).
    """
    from pydicom.sr._snomed_dict import mapping
    from pydicom.sr.codedict import codes

    sct_to_srt = mapping.get("SCT", {})
    table: dict[tuple[str, str], str] = {}
    for concept in codes.cid4020.concepts.values():
        try:
            nuclide = parse_nuclide_name(concept.meaning)
        except UnknownNuclideError:
            continue
        scheme, value = str(concept.scheme_designator).upper(), str(concept.value)
        table[(scheme, value)] = nuclide
        if scheme == "SCT" and value in sct_to_srt:
            for legacy in _LEGACY_SNOMED:
                table[(legacy, str(sct_to_srt[value]))] = nuclide
    return table


def nuclide_from_code(
    code_value: str | None = None,
    scheme_designator: str | None = None,
    code_meaning: str | None = None,
) -> str:
    """Canonical nuclide name from a DICOM RadionuclideCodeSequence item.

    The code value is looked up in DICOM CID 4020 (PET Radionuclide) first;
    legacy SNOMED-RT values (e.g. ``C-111A1``) and unlisted nuclides fall back
    to the code meaning (``^18^Fluorine``).

    Raises
    ------
    UnknownNuclideError
        If neither the code nor the meaning identifies a nuclide.
    """
    if code_value:
        scheme = (scheme_designator or "").upper()
        table = _code_table()
        for key in ((scheme, str(code_value)), ("SCT", str(code_value)), ("DCM", str(code_value))):
            if key in table:
                return table[key]
    if code_meaning:
        return parse_nuclide_name(code_meaning)
    raise UnknownNuclideError(
        f"radionuclide code {code_value!r} ({scheme_designator}) is not in DICOM CID 4020 "
        "and no code meaning was given",
        field="RadionuclideCodeSequence",
        value=code_value,
    )


@dataclass(frozen=True)
class Nuclide:
    """A radionuclide with its ICRP-107 half-life.

    Build one with :meth:`from_name`; the unit of every time is spoken at the
    call site, as in radioactivedecay: ``Nuclide.from_name("Zr-89").half_life("h")``.

    Attributes
    ----------
    name
        Canonical name, e.g. ``"I-124"``.
    half_life_s
        Physical half-life in seconds (ICRP-107).
    """

    name: str
    half_life_s: float

    @classmethod
    def from_name(cls, name: str) -> Nuclide:
        """Resolve any usual spelling (see :func:`parse_nuclide_name`)."""
        return _nuclide_cached(parse_nuclide_name(name))

    def half_life(self, unit: str = "s") -> float:
        """Half-life in ``unit`` (``"s"``, ``"min"``, ``"h"`` or ``"d"``)."""
        return self.half_life_s / _SECONDS_PER[unit]

    @property
    def decay_constant_per_s(self) -> float:
        """λ = ln 2 / T½ (s⁻¹)."""
        return math.log(2.0) / self.half_life_s

    @property
    def mean_life_s(self) -> float:
        """τ = T½ / ln 2 (s): the time integral of A(t)/A0 for physical decay only."""
        return self.half_life_s / math.log(2.0)

    def decay_factor(self, elapsed_s: float | np.ndarray) -> float | np.ndarray:
        """Fraction of the activity left after ``elapsed_s`` seconds: exp(−λ t)."""
        return np.exp(-self.decay_constant_per_s * np.asarray(elapsed_s, dtype=float))[()]

    def emissions(self) -> dict[str, Emission]:
        """ICRP-107 emissions of this nuclide; see :func:`emissions`."""
        return emissions(self.name)

    def __str__(self) -> str:
        return self.name


@functools.cache
def _nuclide_cached(canonical: str) -> Nuclide:
    record = _icrp107_record(canonical)
    half_life_s = float(record["half_life"]) * _ICRP107_SECONDS_PER[str(record["time_unit"])]
    return Nuclide(name=canonical, half_life_s=half_life_s)


def decay_factor(nuclide: str | Nuclide, elapsed_s: float | np.ndarray) -> float | np.ndarray:
    """exp(−ln2 · t / T½) for ``nuclide`` after ``elapsed_s`` seconds (ICRP-107 half-life)."""
    nuc = nuclide if isinstance(nuclide, Nuclide) else Nuclide.from_name(nuclide)
    return nuc.decay_factor(elapsed_s)


# --- emission spectra -------------------------------------------------------------------

#: Emission kinds in the ICRP-107 records, as named by ``icrp107-database``.
EMISSION_KINDS = (
    "alpha",
    "beta-",
    "beta+",
    "gamma",
    "X",
    "auger",
    "IE",
    "annihilation",
    "alpha recoil",
    "neutron",
    "fission",
    "betaD",
)


@dataclass(frozen=True)
class Emission:
    """Discrete emission lines of one kind (ICRP-107).

    For β± the energies are the *mean* energies of each branch, as tabulated
    in ICRP-107's radiation file; ``yield_per_decay`` is absolute (per decay).
    """

    kind: str
    energy_mev: np.ndarray
    yield_per_decay: np.ndarray

    @property
    def energy_per_decay_mev(self) -> float:
        """Σ yᵢ Eᵢ (MeV per decay)."""
        return float(np.sum(self.energy_mev * self.yield_per_decay))


@functools.cache
def _icrp107_record(canonical: str) -> Mapping[str, Any]:
    ref = resources.files("icrp107_database") / "icrp107" / f"{canonical}.json"
    if not ref.is_file():
        raise UnknownNuclideError(
            f"no ICRP-107 emission data for {canonical} in the icrp107-database package",
            field="nuclide",
            value=canonical,
        )
    raw = json.loads(ref.read_text())
    # The package stores each record as a JSON document inside a JSON string.
    return json.loads(raw) if isinstance(raw, str) else raw


def emissions(nuclide: str | Nuclide) -> dict[str, Emission]:
    """All ICRP-107 emissions of ``nuclide`` by kind (only non-empty kinds).

    Annihilation photons are listed by ICRP-107 under ``"annihilation"`` when
    present; callers doing transport should use them (2 × 511 keV per β⁺).

    Raises
    ------
    UnknownNuclideError
        If the nuclide is unknown or has no emission record.
    """
    canonical = nuclide.name if isinstance(nuclide, Nuclide) else parse_nuclide_name(nuclide)
    record = _icrp107_record(canonical)
    out: dict[str, Emission] = {}
    for kind, lines in record.get("emissions", {}).items():
        if kind == "b-spectra" or not lines:
            continue
        arr = np.asarray(lines, dtype=float).reshape(-1, 2)
        out[kind] = Emission(
            kind=kind, energy_mev=arr[:, 0].copy(), yield_per_decay=arr[:, 1].copy()
        )
    return out


def beta_spectrum(nuclide: str | Nuclide) -> tuple[np.ndarray, np.ndarray]:
    """ICRP-107 continuous β spectrum: (energy_mev, betas per MeV per decay).

    The ``b-spectra`` record of ICRP-107 (its ``.BET`` file) merges the β⁻ and β⁺ branches
    of a nuclide (e.g. Cu-64); its integral is the total β yield per decay. Nuclides with
    no β branch give two empty arrays.

    Raises
    ------
    UnknownNuclideError
        If the nuclide is unknown or has no emission record.
    """
    canonical = nuclide.name if isinstance(nuclide, Nuclide) else parse_nuclide_name(nuclide)
    lines = _icrp107_record(canonical).get("emissions", {}).get("b-spectra") or []
    arr = np.asarray(lines, dtype=float).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()
