"""Nuclear data: half-lives against ICRP-107, name parsing, DICOM codes, decay factors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from immunopet.core.errors import UnknownNuclideError
from immunopet.core.nuclides import Nuclide, decay_factor, nuclide_from_code, parse_nuclide_name

# ICRP Publication 107 (Eckerman & Endo 2008), Annex A half-lives as tabulated in the
# ICRP-107 nuclear decay data files (I-131 8.0207 d and Cu-64 12.700 h are the ICRP-107
# values; newer ENSDF/DDEP evaluations give 8.0252 d and 12.701 h, 0.06 % and 0.008 % away).
ICRP107_HALF_LIVES = [
    ("I-124", 4.176, "d"),
    ("F-18", 109.77, "min"),
    ("Zr-89", 78.41, "h"),
    ("Cu-64", 12.700, "h"),
    ("Lu-177", 6.647, "d"),
    ("I-131", 8.0207, "d"),
    ("Ga-68", 67.71, "min"),
]


@pytest.mark.parametrize(("name", "value", "unit"), ICRP107_HALF_LIVES)
def test_half_life_matches_icrp107(name, value, unit):
    # The tabulated values have 4–5 significant digits: agree to 1e-9 relative of that value.
    assert Nuclide.from_name(name).half_life(unit) == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "value", "unit"), [("I-131", 8.0252, "d"), ("Cu-64", 12.701, "h")]
)
def test_newer_evaluations_within_0p1_percent(name, value, unit):
    assert Nuclide.from_name(name).half_life(unit) == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize(
    "spelling",
    ["I-124", "124I", "I124", "^124^Iodine", "Iodine-124", "iodine 124", "124-I", "i-124"],
)
def test_iodine_124_spellings(spelling):
    assert parse_nuclide_name(spelling) == "I-124"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("99mTc", "Tc-99m"), ("Tc-99m", "Tc-99m"), ("89Zr", "Zr-89"), ("F18", "F-18")],
)
def test_other_spellings(spelling, canonical):
    assert parse_nuclide_name(spelling) == canonical


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownNuclideError) as info:
        parse_nuclide_name("I-1244")
    assert info.value.field == "nuclide"
    assert "I-124" in str(info.value) or "Did you mean" in str(info.value)


def test_nonsense_name_raises():
    with pytest.raises(UnknownNuclideError, match="unknown nuclide"):
        Nuclide.from_name("Unobtainium-999")


def test_dicom_code_cid4020():
    # DICOM PS3.16 CID 4020: SCT 40937006 "^124^Iodine", 77004003 "^18^Fluorine".
    assert nuclide_from_code("40937006", "SCT") == "I-124"
    assert nuclide_from_code("77004003", "SCT", "^18^Fluorine") == "F-18"
    assert (
        nuclide_from_code("C-111A1", "SRT", "^18^Fluorine") == "F-18"
    )  # legacy code, meaning used
    with pytest.raises(UnknownNuclideError):
        nuclide_from_code("XYZ", "99LOCAL", None)


def test_decay_factor_one_half_life():
    i124 = Nuclide.from_name("I-124")
    assert i124.decay_factor(i124.half_life_s) == pytest.approx(0.5, rel=1e-12)
    assert decay_factor("Zr-89", 78.41 * 3600) == pytest.approx(0.5, rel=1e-12)
    assert i124.mean_life_s == pytest.approx(i124.half_life_s / math.log(2))


@given(
    st.floats(min_value=0, max_value=1e7),
    st.floats(min_value=0, max_value=1e7),
    st.sampled_from(["I-124", "Zr-89", "F-18", "Cu-64"]),
)
def test_decay_factor_composes(t1_s, t2_s, name):
    nuc = Nuclide.from_name(name)
    assert nuc.decay_factor(t1_s) * nuc.decay_factor(t2_s) == pytest.approx(
        nuc.decay_factor(t1_s + t2_s), rel=1e-9, abs=1e-300
    )


def test_icrp107_half_lives_equal_radioactivedecay_for_every_nuclide() -> None:
    """Half-lives read from icrp107-database (year 365.2422 d) = radioactivedecay's, all 1252."""
    import radioactivedecay as rd

    from immunopet.core.nuclides import _known_nuclides

    known = _known_nuclides()
    assert len(known) == 1252  # ICRP Publication 107: 1252 radionuclides
    for name in known:
        ours = Nuclide.from_name(name).half_life_s
        assert ours == pytest.approx(rd.Nuclide(name).half_life("s"), rel=1e-9), name


def test_element_symbols_match_radioactivedecay() -> None:
    from radioactivedecay.utils import Z_DICT

    from immunopet.core.nuclides import _SYMBOL_BY_Z

    assert {z: s for z, s in Z_DICT.items()} == _SYMBOL_BY_Z


def test_stable_nuclide_is_not_a_radionuclide() -> None:
    with pytest.raises(UnknownNuclideError, match="not in the ICRP-107"):
        Nuclide.from_name("Ag-107")


def test_core_import_does_not_load_radioactivedecay() -> None:
    """Reading a scan needs half-lives only; radioactivedecay (~1.3 s) is imported on demand."""
    import subprocess
    import sys

    code = (
        "import sys, immunopet.cli, immunopet.io, immunopet.quant;"
        "from immunopet.core.nuclides import Nuclide; Nuclide.from_name('I-124');"
        "print('radioactivedecay' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
