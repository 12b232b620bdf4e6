"""Source sets of the organ doses (:mod:`immunopet.workflow.dose_sets`)."""

from __future__ import annotations

import pandas as pd
import pytest

from immunopet.core.errors import InvalidValueError
from immunopet.dosimetry.organ_dose import organ_doses
from immunopet.study import DosimetryOptions
from immunopet.workflow import TiaTable
from immunopet.workflow import organ_doses as workflow_doses
from immunopet.workflow.dose_sets import REFERENCE_STUDY_SOURCES

TIAC_H = {"whole_body": 60.0, "liver": 8.0, "kidneys": 1.2, "lungs": 4.0, "spleen": 0.9,
          "heart_contents": 5.0, "urinary_bladder_contents": 0.5, "thyroid": 0.3}  # fmt: skip


def _tias(regions=TIAC_H) -> TiaTable:
    rows = [dict(subject="S1", region=r, tiac_h=v, nuclide="I-124") for r, v in regions.items()]
    return TiaTable(pd.DataFrame(rows))


def test_reference_study_sources_put_every_other_organ_in_the_remainder():
    options = DosimetryOptions(source_organs=list(REFERENCE_STUDY_SOURCES))
    d = workflow_doses(_tias(), options).frame
    assert set(d["source_set"]) == {"all_segmented", "reference_study"}
    ref = d[(d.source_set == "reference_study") & (d.quantity == "absorbed_dose")]
    # Same as the library with only the paper's sources beside the whole body.
    lib = organ_doses({**{k: TIAC_H[k] for k in REFERENCE_STUDY_SOURCES},
                       "total_body": TIAC_H["whole_body"]}, "I-124", "adult")  # fmt: skip
    lib = lib[lib.quantity == "absorbed_dose"].set_index("target")["value"]
    got = ref.set_index("target")["value"]
    pd.testing.assert_series_equal(got, lib.loc[got.index], rtol=1e-12, check_names=False)
    # Lungs and thyroid are no longer sources: their self-dose is gone from their dose.
    every = d[(d.source_set == "all_segmented") & (d.quantity == "absorbed_dose")]
    every = every.set_index("target")["value"]
    assert got["lungs"] < 0.5 * every["lungs"] and got["thyroid"] < 0.5 * every["thyroid"]
    e = d[d.quantity == "effective_dose"].set_index("source_set")["value"]
    assert e["reference_study"] < e["all_segmented"]
    assert workflow_doses(_tias(), options).effective_dose_msv_per_mbq()["S1"] == pytest.approx(
        e["all_segmented"]
    )


def test_other_lists_are_named_source_organs_and_need_a_whole_body():
    d = workflow_doses(_tias(), DosimetryOptions(source_organs=["liver", "kidney_left"])).frame
    assert set(d["source_set"]) == {"all_segmented", "source_organs"}
    no_wb = {k: v for k, v in TIAC_H.items() if k != "whole_body"}
    with pytest.raises(InvalidValueError, match="whole-body"):
        workflow_doses(_tias(no_wb), DosimetryOptions(source_organs=["liver"]))
