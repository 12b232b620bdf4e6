"""The one organ vocabulary (:mod:`immunopet.core.organs`) and the table schema enums."""

from __future__ import annotations

import pytest

from immunopet.core.errors import InvalidValueError
from immunopet.core.organs import (
    OLINDA_NAMES,
    TOTALSEGMENTATOR_TO_IMMUNOPET,
    TOTALSEGMENTATOR_V2_TOTAL,
    canonical_organ,
)
from immunopet.core.schema import Metric, RegionKind, parse_metric


def test_stomach_means_one_thing_in_regions_and_dosimetry():
    """TotalSegmentator's whole stomach is the MIRD source region 'stomach contents' everywhere."""
    from immunopet.regions import TOTALSEGMENTATOR_TO_IMMUNOPET as regions_map

    assert regions_map is TOTALSEGMENTATOR_TO_IMMUNOPET
    assert TOTALSEGMENTATOR_TO_IMMUNOPET["stomach"] == "stomach_contents"
    assert canonical_organ("stomach") == "stomach_contents"
    assert canonical_organ("StomCont") == "stomach_contents"  # OLINDA/EXM 2 spelling
    assert canonical_organ("Stomach Wall") == "stomach_wall"


@pytest.mark.parametrize(
    ("name", "organ"),
    [("kidney_left", "kidneys"), ("lung_middle_lobe_right", "lungs"), ("heart", "heart_contents"),
     ("Hrt Wall", "heart_wall"), ("Red Mar.", "red_marrow"), ("UB Cont", "urinary_bladder_contents"),
     ("whole_body", "total_body"), ("Tot Body", "total_body"), ("ULI Wall", "right_colon")],
)  # fmt: skip
def test_spellings_of_every_source_resolve(name, organ):
    assert canonical_organ(name) == organ


def test_totalsegmentator_numbering_is_the_v2_total_task():
    assert len(TOTALSEGMENTATOR_V2_TOTAL) == 117
    assert TOTALSEGMENTATOR_V2_TOTAL[1] == "spleen" and TOTALSEGMENTATOR_V2_TOTAL[5] == "liver"


def test_every_olinda_name_maps_to_snake_case():
    for olinda, ours in OLINDA_NAMES.items():
        assert ours == ours.lower() and " " not in ours, olinda


def test_unknown_name_suggests_names_that_exist():
    with pytest.raises(InvalidValueError, match="did you mean") as exc:
        canonical_organ("small_bowl")
    message = str(exc.value)
    assert "small_bowel" in message or "small_intestine" in message
    assert "arm_bones" not in message


def test_region_kind_and_metric_enums_accept_their_strings():
    assert RegionKind.parse("lesion") is RegionKind.LESION
    assert RegionKind.LESION == "lesion"
    assert parse_metric("tnr_liver") == "tnr_liver"
    assert parse_metric(Metric.SUV_MAX_CORE) == "suv_max_core"
    with pytest.raises(InvalidValueError, match="did you mean 'suv_max'"):
        parse_metric("suv_mx")
    with pytest.raises(InvalidValueError, match="RegionKind"):
        RegionKind.parse("organs_and_more")
