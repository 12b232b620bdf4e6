"""Blood-based red-marrow dose (:mod:`immunopet.dosimetry.marrow`, EANM 2010 / Sgouros 1993)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from immunopet.core.errors import InvalidValueError
from immunopet.dosimetry.marrow import is_antibody, marrow_tiac_from_blood
from immunopet.dosimetry.organ_dose import organ_doses as library_doses
from immunopet.study import DosimetryOptions, KineticsOptions
from immunopet.workflow import MeasurementTable, TiaTable, integrate, organ_doses

BLOOD_PER_ML = 2e-4  # h/mL: blood TIAC per mL of blood


def _tias() -> TiaTable:
    rows = [dict(subject="S1", region="whole_body", tiac_h=50.0),
            dict(subject="S1", region="liver", tiac_h=8.0),
            dict(subject="S1", region="blood", tiac_h=0.5, tiac_h_per_ml=BLOOD_PER_ML,
                 tiac_h_per_ml_sd=0.1 * BLOOD_PER_ML)]  # fmt: skip
    return TiaTable(pd.DataFrame(rows).assign(nuclide="I-124"))


def test_sgouros_marrow_tiac():
    """Ã_RM = RMBLR · Ã_blood per g · m_RM (EANM 2010 eq. 2), RMBLR 0.36, 1.06 g/mL blood."""
    assert marrow_tiac_from_blood(BLOOD_PER_ML, 1170.0) == pytest.approx(
        0.36 * BLOOD_PER_ML / 1.06 * 1170.0, rel=1e-12
    )
    with pytest.raises(InvalidValueError):
        marrow_tiac_from_blood(-1.0, 1170.0)
    assert is_antibody("124I-trastuzumab") and not is_antibody("FDG")


def test_blood_method_is_the_default_for_antibodies_with_the_image_value_beside():
    opts = DosimetryOptions(phantom="adult-male")
    d = organ_doses(_tias(), opts, tracer="124I-trastuzumab").frame
    rm = d[(d.target == "red_marrow") & (d.quantity == "absorbed_dose")].iloc[0]
    assert rm["marrow_method"].startswith("blood")
    tiac_rm = marrow_tiac_from_blood(BLOOD_PER_ML, 1170.0)  # ICRP 89 male red marrow, g
    lib = library_doses({"liver": 8.0, "red_marrow": tiac_rm, "total_body": 50.0}, "I-124",
                        "adult-male")  # fmt: skip
    expect = lib[(lib.target == "red_marrow") & (lib.quantity == "absorbed_dose")]["value"].item()
    assert rm["value"] == pytest.approx(expect, rel=1e-9)
    image = d[d.quantity == "absorbed_dose_image_marrow"].iloc[0]
    assert image["marrow_method"] == "image"
    assert image["value"] != pytest.approx(rm["value"], rel=0.01)
    # The blood SD (10 %) reaches the marrow dose.
    assert rm["sd_tia"] > 0
    # Not an antibody: image-based, the blood value beside.
    fdg = organ_doses(_tias(), opts, tracer="FDG").frame
    assert (
        fdg[(fdg.target == "red_marrow") & (fdg.quantity == "absorbed_dose")][
            "marrow_method"
        ].item()
        == "image"
    )
    assert (fdg.quantity == "absorbed_dose_blood_marrow").sum() == 1


def test_blood_method_needs_the_blood_concentration():
    tias = TiaTable(_tias().frame.drop(columns=["tiac_h_per_ml", "tiac_h_per_ml_sd"]))
    with pytest.raises(InvalidValueError, match="blood pool"):
        organ_doses(tias, DosimetryOptions(marrow="blood"))
    d = organ_doses(tias, DosimetryOptions()).frame  # auto without blood: image, no column
    assert "marrow_method" not in d


def test_integrate_gives_the_blood_tiac_per_ml():
    rows = []
    lam = math.log(2) / 100.224
    for t in (1.0, 24.0, 48.0):
        for metric, v in (("activity_bq", 7e6 * math.exp(-lam * t)), ("volume_ml", 350.0),
                          ("injected_activity_bq", 70e6)):  # fmt: skip
            rows.append(dict(subject="S1", scan_id=f"s{t:g}", tracer="124I-trastuzumab",
                             nuclide="I-124", time_h=t, region="blood", region_kind="blood",
                             metric=metric, value=v, unit=""))  # fmt: skip
    tias = integrate(MeasurementTable(pd.DataFrame(rows)), KineticsOptions(model="mono_exp"))
    blood = tias.frame.iloc[0]
    assert blood["tiac_h_per_ml"] == pytest.approx(blood["tiac_h"] / 350.0, rel=1e-9)
