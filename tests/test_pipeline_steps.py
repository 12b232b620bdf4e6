"""Tests of immunopet.pipeline.steps: the kinetics step's dynamic bladder option."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from immunopet.core.errors import ImmunopetWarning
from immunopet.core.nuclides import Nuclide
from immunopet.kinetics import bladder_tia_from_whole_body, fit_tac
from immunopet.kinetics.curves import curves_from_table
from immunopet.pipeline.steps import subject_tias

I124 = Nuclide.from_name("I-124")
INJECTED_BQ = 70e6
TIMES_H = (1.0, 24.0, 48.0)


def _tac_table(whole_body_biological_half_life_h: float) -> pd.DataFrame:
    """A subject's tidy TAC rows: whole body clearing, bladder contents and wall, liver."""
    lam_p = math.log(2) / I124.half_life("h")
    lam_b = math.log(2) / whole_body_biological_half_life_h
    rows = []
    for t in TIMES_H:
        decay = math.exp(-lam_p * t)
        present = {
            ("whole_body", "whole_body"): 0.95 * INJECTED_BQ * math.exp(-lam_b * t) * decay,
            ("urinary_bladder_contents", "organ"): 0.02 * INJECTED_BQ * decay,
            ("urinary_bladder_wall", "organ"): 0.004 * INJECTED_BQ * decay,
            ("liver", "organ"): 0.1 * INJECTED_BQ * decay,
        }
        for (region, kind), activity in present.items():
            for metric, value in (("activity_bq", activity), ("injected_activity_bq", INJECTED_BQ)):
                rows.append(dict(subject="P1", scan_id=f"I124-{t:g}h", tracer="124I-mAb",
                                 nuclide="I-124", time_h=t, region=region, region_kind=kind,
                                 metric=metric, value=value, unit="Bq"))  # fmt: skip
    return pd.DataFrame(rows)


def _options(**extra) -> dict:
    kinetics = {"model": "trapezoid", "tail": "fit", **extra}
    return {"subject": "P1", "tracer": "124I-mAb", "kinetics": kinetics}


def test_dynamic_bladder_replaces_imaged_bladder_and_wall() -> None:
    table = _tac_table(50.0)
    imaged = subject_tias(_options(), {"tacs": table}).set_index("region")
    assert {"urinary_bladder_contents", "urinary_bladder_wall"} <= set(imaged.index)
    tias = subject_tias(
        _options(urinary_fraction=1.0, voiding_interval_h=3.5), {"tacs": table}
    ).set_index("region")
    assert "urinary_bladder_wall" not in tias.index  # contents irradiate the wall (MIRD)
    wb_curve = next(c for c in curves_from_table(table) if c.region == "whole_body")
    expected = bladder_tia_from_whole_body(fit_tac(wb_curve, "trapezoid", tail="fit"), 1.0)
    assert tias.loc["urinary_bladder_contents", "tia_bq_h"] == pytest.approx(expected.tia_bq_h)
    # Voiding every 3.5 h keeps far less than a bladder integrated with a decay-only tail.
    assert (
        tias.loc["urinary_bladder_contents", "tia_bq_h"]
        < 0.5 * imaged.loc["urinary_bladder_contents", "tia_bq_h"]
    )
    assert np.isclose(tias.loc["liver", "tia_bq_h"], imaged.loc["liver", "tia_bq_h"])


def test_dynamic_bladder_falls_back_with_a_warning_when_nothing_clears() -> None:
    table = _tac_table(1e9)  # whole body decays physically only: no urinary half-life
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tias = subject_tias(_options(urinary_fraction=1.0), {"tacs": table}).set_index("region")
    assert any(
        issubclass(w.category, ImmunopetWarning) and "imaged bladder kept" in str(w.message)
        for w in caught
    )
    assert "urinary_bladder_wall" in tias.index and "urinary_bladder_contents" in tias.index
