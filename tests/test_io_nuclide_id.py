"""Nuclide identification from a PET header (issue 11): codes, meanings, names, half-life.

Codes: DICOM PS3.16 CID 4020 "PET Radionuclide" — 18F is SCT 77004003, legacy
SNOMED-RT C-111A1 (written with designator SRT or SNM3); 124I is SCT 40937006;
89Zr is SCT 440258005 (values copied from PS3.16 CID 4020). Half-lives: ICRP-107
(Eckerman & Endo 2008): 18F 109.77 min, 124I 4.176 d, 89Zr 78.41 h.
"""

from __future__ import annotations

import pytest

from immunopet.core.errors import ConflictingFieldsError, ImmunopetWarning, UnknownNuclideError
from immunopet.core.nuclides import nuclide_from_code
from immunopet.io.nuclide_id import (
    HALF_LIFE_REL_TOL,
    identify_nuclide,
    nuclide_from_any_code,
    nuclides_in_text,
    nuclides_with_half_life,
)

F18_S = 109.77 * 60.0
I124_S = 4.176 * 86400.0


def ident(codes=(), names=(), half_life=None, override=None):
    return identify_nuclide(
        code_items=list(codes),
        names=list(names),
        header_half_life_s=half_life,
        source="/data/pet",
        override=override,
    ).name


@pytest.mark.parametrize(
    ("value", "scheme"),
    [("77004003", "SCT"), ("C-111A1", "SRT"), ("C-111A1", "SNM3"), ("C-111A1", None)],
)
def test_f18_code_under_any_scheme(value, scheme):
    # Rule: the CID 4020 code value identifies the nuclide under SCT and legacy SRT/SNM3.
    assert nuclide_from_any_code(value, scheme) == "F-18"
    assert nuclide_from_code(value, scheme or "SRT") == "F-18"


@pytest.mark.parametrize(
    "meaning", ["^18^Fluorine", "F^18^[^18^Fluorine]", "Fluorine-18", "18F", "F18", "F-18"]
)
def test_f18_meanings_scanners_write(meaning):
    # Rule: the code meaning in the spellings scanners write.
    assert ident(codes=[(None, None, meaning)]) == "F-18"


@pytest.mark.parametrize(
    ("name", "nuclide"),
    [
        ("124I-trastuzumab", "I-124"),
        ("[89Zr]Zr-DFO-trastuzumab", "Zr-89"),
        ("Ga-68 DOTATATE", "Ga-68"),
        ("2-deoxy-2-[18F]fluoro-D-glucose", "F-18"),
        ("[68Ga]Ga-PSMA-11", "Ga-68"),
        ("Lu-177 PSMA-617", "Lu-177"),
    ],
)
def test_radiopharmaceutical_names(name, nuclide):
    assert nuclides_in_text(name) == {nuclide}
    assert ident(names=[("Radiopharmaceutical", name)]) == nuclide


@pytest.mark.parametrize("name", ["FDG", "FLT", "Fluorothymidine", "PSMA-11", ""])
def test_names_without_a_nuclide(name):
    assert nuclides_in_text(name) == set()


def test_half_life_alone_identifies_within_tolerance():
    # Rule: with no code or name, the header half-life matched against ICRP-107 (0.5 %).
    assert ident(half_life=F18_S * (1 + 0.8 * HALF_LIFE_REL_TOL)) == "F-18"
    assert ident(names=[("Radiopharmaceutical", "FLT")], half_life=6588.0) == "F-18"
    assert "I-124" in nuclides_with_half_life(I124_S)
    with pytest.raises(UnknownNuclideError):
        ident(half_life=1.2345)  # no PET nuclide, nor any ICRP-107 one, this short


def test_code_and_name_disagree_refused_naming_both():
    # Rule: sources that name different nuclides stop with an error naming both.
    with pytest.raises(ConflictingFieldsError, match=r"F-18.*I-124|I-124.*F-18"):
        ident(
            codes=[("C-111A1", "SNM3", "^18^Fluorine")], names=[("Radiopharmaceutical", "124I-mAb")]
        )


def test_code_and_half_life_disagree_refused_then_override():
    with pytest.raises(ConflictingFieldsError, match="I-124") as info:
        ident(codes=[("77004003", "SCT", "^18^Fluorine")], half_life=I124_S)
    assert info.value.field == "RadionuclideHalfLife"
    with pytest.warns(ImmunopetWarning, match="chosen by the user"):
        assert (
            ident(codes=[("77004003", "SCT", None)], half_life=I124_S, override="124I") == "I-124"
        )


def test_half_life_within_tolerance_accepted():
    # 6588 s (an older F-18 evaluation some scanners write) is 0.03 % from ICRP-107.
    assert ident(codes=[("C-111A1", "SNM3", None)], half_life=6588.0) == "F-18"


def test_unknown_code_is_not_overridden_by_half_life():
    # Rule: never quietly pick one — an unrecognised code with a known half-life is an error.
    with pytest.raises(UnknownNuclideError, match="I-124"):
        ident(codes=[("999999", "99LOCAL", "^999^Unobtainium")], half_life=I124_S)
