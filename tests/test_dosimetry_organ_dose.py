"""Organ absorbed doses and effective dose (immunopet.dosimetry.organ_dose)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunopet.core.errors import ImmunopetWarning, InvalidValueError, UnknownNuclideError
from immunopet.core.nuclides import Nuclide
from immunopet.dosimetry import organ_dose as od
from immunopet.dosimetry.weights import (
    ICRP60_WEIGHTS,
    ICRP103_WEIGHTS,
    REFERENCE_MASSES_KG,
    colon_dose,
    effective_dose_icrp60,
    effective_dose_icrp103,
)
from support.reference_models import (
    FDG_ICRP128_DIFFERENCES,
    FDG_ICRP128_DOSES_MGY_PER_MBQ,
    FDG_ICRP128_E_MSV_PER_MBQ,
    FDG_ICRP128_TIAC_H,
    dose_by_source,
    fdg_icrp128_comparison,
)


def _values(df: pd.DataFrame, quantity: str) -> dict[str, float]:
    return dict(df.loc[df.quantity == quantity, ["target", "value"]].values)


# --- weights ---------------------------------------------------------------------------


def test_weighting_factors_sum_to_one():
    # ICRP 103 Table 3 and ICRP 60 Table 2: Σ w_T = 1.
    assert sum(ICRP103_WEIGHTS.values()) == pytest.approx(1.0)
    assert sum(ICRP60_WEIGHTS.values()) == pytest.approx(1.0)


def test_uniform_dose_gives_effective_dose_equal_to_dose():
    dose = {t: 2.0 for t in REFERENCE_MASSES_KG["female"]} | {"bone_surfaces": 2.0, "testes": 2.0}
    assert effective_dose_icrp103(dose, dose) == pytest.approx(2.0)
    assert effective_dose_icrp60(dose, dose) == pytest.approx(2.0)
    assert colon_dose(dose, REFERENCE_MASSES_KG["male"]) == pytest.approx(2.0)


def test_sex_averaging_and_gonads():
    base = {t: 1.0 for t in REFERENCE_MASSES_KG["female"]} | {"bone_surfaces": 1.0, "testes": 1.0}
    male = dict(base, testes=11.0)
    # ICRP 103: w_gonads = 0.08 enters only the male half of the sex average.
    assert effective_dose_icrp103(male, base) == pytest.approx(1.0 + 0.08 * 10.0 / 2)
    assert effective_dose_icrp103(male, None) == pytest.approx(1.0 + 0.08 * 10.0)


def test_icrp60_splitting_rule():
    base = {t: 1.0 for t in REFERENCE_MASSES_KG["male"]} | {"bone_surfaces": 1.0}
    hot = dict(base, kidneys=101.0)
    # Kidneys exceed every named tissue → 0.025 to kidneys, 0.025 to the other remainder tissues.
    assert effective_dose_icrp60(hot, None) == pytest.approx(1.0 - 0.05 + 0.025 * 101 + 0.025)


# --- dose engine on the shipped reference tables ---------------------------------------


def test_fdg_matches_icrp128_within_bounds():
    """18F-FDG, ICRP 106 (2008) Annex C / ICRP 128 (2015) adult model and doses.

    Ours: stylised MIRD/ORNL geometry rescaled to ICRP 89 masses, own photon MC, ICRP-107
    decay data; the ICRP 89 male set beside ICRP's single 70-kg ORNL adult (female organs
    from our female). ICRP: ORNL adult phantom (Cristy & Eckerman 1987), SAFs of
    ORNL/TM-8381, ICRP 38 decay data. Organs meeting 10 % are asserted at 10 %; the rest
    at the bound they meet, with the cause (``reference_models.FDG_ICRP128_DIFFERENCES``).
    """
    table, e60 = fdg_icrp128_comparison("icrp60")
    print("\norgan, male, female, adult, ICRP 128, diff (comparator)")
    for r in table.itertuples():
        print(
            f"{r.organ:22s} {r.male:.4f} {r.female:.4f} {r.adult:.4f} {r.published:.4f} "
            f"{r.diff:+.1%}"
        )
    for r in table.itertuples():
        assert abs(r.diff) <= r.bound, (r.organ, r.diff, r.cause)
    # Every wider bound is needed (no stale excuses) and tight (within 5 points).
    for organ, known in FDG_ICRP128_DIFFERENCES.items():
        diff = abs(table.set_index("organ").loc[organ, "diff"])
        assert 0.10 < diff <= known.bound <= diff + 0.05, organ
    within = int((table["bound"] == 0.10).sum())
    print(f"{within}/{len(table)} organs within 10 %")
    assert within == len(table) - len(FDG_ICRP128_DIFFERENCES)
    print(f"E (ICRP 60, sex-averaged) {e60:.4f} vs {FDG_ICRP128_E_MSV_PER_MBQ}")
    # Issue 5: effective dose within 5 % of the published value.
    assert e60 == pytest.approx(FDG_ICRP128_E_MSV_PER_MBQ, rel=0.05)


def _shares(sex: str, target: str) -> dict[str, float]:
    by_source = dose_by_source(FDG_ICRP128_TIAC_H, "F-18", f"adult-{sex}")
    row = by_source.loc[target]
    return (row / row.sum()).to_dict()


def test_fdg_stated_causes_hold():
    """The causes in FDG_ICRP128_DIFFERENCES, checked on our dose breakdown and phantom."""
    from scipy import ndimage

    from immunopet.dosimetry.emission import emission_spectrum
    from immunopet.dosimetry.phantom import reference_phantom

    # Kidneys: remainder-dominated, no listed source near enough to explain ICRP's +60 %.
    kid = _shares("male", "kidneys")
    assert kid["remainder"] > 0.8 and max(v for k, v in kid.items() if k != "remainder") < 0.15
    # ICRP's kidney dose stands ≥ 30 % above its other remainder-dominated abdominal organs.
    icrp = FDG_ICRP128_DOSES_MGY_PER_MBQ
    assert icrp["kidneys"] > 1.3 * max(icrp[o] for o in ("adrenals", "pancreas", "spleen"))
    # Oesophagus (fixed in phantom v2): behind the heart, it borders no heart voxel and is
    # within 10 % of ICRP (asserted above); the heart wall gives it under a fifth.
    assert _shares("male", "oesophagus")["heart_wall"] < 0.2
    male = reference_phantom("male", 4.0)
    lab = np.asarray(male.labels.array)
    ids = {v: k for k, v in male.organ_names.items()}
    oes = ndimage.binary_dilation(lab == ids["oesophagus"])
    assert not (oes & np.isin(lab, [ids["heart_contents"], ids["heart_wall"]])).any()
    # Uterus: 45 % of its dose from the bladder contents (it no longer borders them) and
    # 54 % from the remainder; remainder-dominated doses are ≥ 15 % higher in our female
    # than in our male, and with the remainder part scaled by that ratio +5…+15 % remain.
    ut = _shares("female", "uterus")
    assert ut["urinary_bladder_contents"] > 0.40 and ut["remainder"] > 0.45
    female = reference_phantom("female", 4.0)
    lab = np.asarray(female.labels.array)
    ids = {v: k for k, v in female.organ_names.items()}
    ut_mask = ndimage.binary_dilation(lab == ids["uterus"])
    assert not (ut_mask & (lab == ids["urinary_bladder_contents"])).any()
    f_by = dose_by_source(FDG_ICRP128_TIAC_H, "F-18", "adult-female")
    m_by = dose_by_source(FDG_ICRP128_TIAC_H, "F-18", "adult-male")
    ratio = f_by.loc["muscle"].sum() / m_by.loc["muscle"].sum()
    assert ratio > 1.15
    u = f_by.loc["uterus"]
    scaled = (u.sum() - u["remainder"] + u["remainder"] / ratio) / icrp["uterus"] - 1
    print(f"uterus with the remainder part scaled to the male: {scaled:+.1%}")
    assert 0.05 < scaled < 0.15
    # Testes: beyond 10 % by less than one MC SD of our testes dose.
    d = od.organ_doses(FDG_ICRP128_TIAC_H, "F-18", "adult-male")
    d = d[d.quantity == "absorbed_dose"].set_index("target")
    rel_sd = d.loc["testes", "sd"] / d.loc["testes", "value"]
    excess = abs(d.loc["testes", "value"] / icrp["testes"] - 1) - 0.10
    assert 0 < excess < rel_sd
    # Lungs: self-dose dominated; the electron self-dose ∝ 1/M meets ICRP with ≈ 0.95 kg.
    lungs = dose_by_source(FDG_ICRP128_TIAC_H, "F-18", "adult-male").loc["lungs"]
    assert lungs["lungs"] / lungs.sum() > 0.6
    delta_e_j = emission_spectrum("F-18").electron_energy_per_decay_mev * 1.602176634e-13
    m_kg = REFERENCE_MASSES_KG["male"]["lungs"]
    e_self = FDG_ICRP128_TIAC_H["lungs"] * 3600 * 1e6 * delta_e_j / m_kg * 1e3  # mGy/MBq
    m_match = m_kg * e_self / (e_self + icrp["lungs"] - lungs.sum())
    print(f"lung mass matching ICRP's lung dose: {m_match:.3f} kg")
    assert 0.9 < m_match < 1.0


def test_doses_scale_linearly_and_per_scan():
    tiac = {"liver": 2.0, "kidneys": 0.5, "remainder": 10.0}
    a = od.organ_doses(tiac, "I-124", "adult-male", injected_activity_bq=74e6)
    b = od.organ_doses({k: 2 * v for k, v in tiac.items()}, "I-124", "adult-male")
    da, db = _values(a, "absorbed_dose"), _values(b, "absorbed_dose")
    for t in da:
        assert db[t] == pytest.approx(2 * da[t], rel=1e-9)
    per_scan = _values(a, "absorbed_dose_per_scan")
    assert per_scan["liver"] == pytest.approx(74.0 * da["liver"], rel=1e-12)
    assert set(a["unit"]) == {"mGy/MBq", "mSv/MBq", "mGy", "mSv"}


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 20.0), st.floats(0.0, 20.0))
def test_doses_additive_in_sources(t_liver, t_spleen):
    # D is linear in Ã (MIRD 21 Eq. 9) when the remainder definition is held fixed.
    def d(tiac):
        return _values(od.organ_doses(tiac, "Zr-89", "adult-female"), "absorbed_dose")

    both = d({"liver": t_liver, "spleen": t_spleen})
    one, two = d({"liver": t_liver, "spleen": 0.0}), d({"liver": 0.0, "spleen": t_spleen})
    for t in both:
        assert both[t] == pytest.approx(one[t] + two[t], rel=1e-9, abs=1e-15)


def test_remainder_reconstructs_uniform_whole_body():
    # Activity uniform per mass expressed as organs + remainder must give the same doses as a
    # total-body source (remainder-of-body formula, Cloutier et al. 1973): within MC and the
    # voxel-vs-reference mass difference (5 %).
    tau_h = Nuclide.from_name("I-124").mean_life_s / 3600
    masses = REFERENCE_MASSES_KG["male"]
    organs = ("liver", "kidneys", "spleen", "lungs")
    tiac = {o: tau_h * masses[o] / masses["total_body"] for o in organs}
    tiac["remainder"] = tau_h - sum(tiac.values())
    split = _values(od.organ_doses(tiac, "I-124", "adult-male"), "absorbed_dose")
    whole = _values(od.organ_doses({"total_body": tau_h}, "I-124", "adult-male"), "absorbed_dose")
    for t in ("liver", "kidneys", "brain", "red_marrow", "total_body", "muscle"):
        assert split[t] == pytest.approx(whole[t], rel=0.05), t


def test_total_body_with_organs_becomes_remainder():
    a = od.organ_doses({"liver": 0.5, "total_body": 2.0}, "F-18", "adult-male")
    b = od.organ_doses({"liver": 0.5, "remainder": 1.5}, "F-18", "adult-male")
    assert np.allclose(a["value"], b["value"])


def test_adult_is_mean_of_sexes():
    df = od.organ_doses({"liver": 0.3, "remainder": 1.0}, "Ga-68", "adult")
    m, f, avg = (
        _values(df, q) for q in ("absorbed_dose_male", "absorbed_dose_female", "absorbed_dose")
    )
    assert avg["liver"] == pytest.approx((m["liver"] + f["liver"]) / 2)
    assert avg["testes"] == m["testes"] and avg["uterus"] == f["uterus"]
    assert df.groupby(["quantity", "target"]).size().max() == 1  # unique key per subject


def test_totalsegmentator_names_are_mapped_and_summed():
    a = od.organ_doses(
        {"kidney_left": 0.3, "kidney_right": 0.2, "remainder": 1.0}, "Cu-64", "adult-male"
    )
    b = od.organ_doses({"kidneys": 0.5, "remainder": 1.0}, "Cu-64", "adult-male")
    assert np.allclose(a["value"], b["value"])


def test_lesions_and_blood_are_dropped_with_warning():
    with pytest.warns(ImmunopetWarning, match="lesion_1"):
        a = od.organ_doses({"liver": 1.0, "lesion_1": 0.1}, "I-124", "adult-male")
    b = od.organ_doses({"liver": 1.0}, "I-124", "adult-male")
    assert np.allclose(a["value"], b["value"])


@pytest.mark.parametrize(
    ("tiac", "nuclide", "match"),
    [
        ({"livr": 1.0}, "F-18", "liver"),
        ({"liver": -1.0}, "F-18", "≥ 0"),
        ({"liver": 3.0}, "F-18", "mean life"),  # F-18 τ = 2.64 h
        ({"liver": 2.0, "spleen": 1.0}, "F-18", "sum"),
        ({"liver": 1.0, "total_body": 0.5}, "F-18", "smaller"),
        ({"liver": 1.0, "total_body": 2.0, "remainder": 1.0}, "F-18", "not both"),
    ],
)
def test_bad_input_raises_clear_errors(tiac, nuclide, match):
    with pytest.raises(InvalidValueError, match=match):
        od.organ_doses(tiac, nuclide, "adult")


def test_bad_options_and_nuclide():
    with pytest.raises(UnknownNuclideError):
        od.organ_doses({"liver": 1.0}, "Qq-12", "adult")
    with pytest.raises(InvalidValueError):
        od.organ_doses({"liver": 1.0}, "F-18", "child")
    with pytest.raises(InvalidValueError):
        od.organ_doses({"liver": 1.0}, "F-18", "adult", weighting="icrp26")
    with pytest.raises(InvalidValueError, match="CT"):
        od.organ_doses({"liver": 1.0}, "F-18", "patient")


def test_mass_scaling_option():
    tiac = {"liver": 1.0}
    ref = _values(od.organ_doses(tiac, "Lu-177", "adult-male"), "absorbed_dose")
    big = _values(
        od.organ_doses(tiac, "Lu-177", "adult-male", organ_masses_kg={"liver": 3.6}),
        "absorbed_dose",
    )
    assert big["liver"] == pytest.approx(ref["liver"] / 2, rel=1e-9)
    assert big["kidneys"] == pytest.approx(ref["kidneys"], rel=1e-9)


def test_table2_summary_mean_sd():
    rows = []
    for subject, v in (("a", 1.0), ("b", 3.0)):
        rows += [dict(subject=subject, quantity="absorbed_dose", target="liver", value=v, sd=0.0, unit="mGy/MBq"),
                 dict(subject=subject, quantity="effective_dose", target="whole_body", value=v / 10, sd=0.0, unit="mSv/MBq")]  # fmt: skip
    s = od.table2_summary(pd.DataFrame(rows))
    liver = s[s.target == "liver"].iloc[0]
    assert liver["mean"] == 2.0 and liver["sd"] == pytest.approx(np.sqrt(2.0)) and liver["n"] == 2
    md = od.table2_markdown(s)
    assert "| Liver | 2 ± 1.41 | mGy/MBq |" in md and "Effective dose" in md


def test_patient_phantom_doses(monkeypatch):
    # A small synthetic patient: water cylinder with a "liver" block; liver self-dose from
    # electrons alone is Δe/M (MIRD), photons add a positive, bounded share.
    from immunopet.core.volume import Volume

    shape = (16, 24, 24)
    z, y, x = np.indices(shape)
    hu = np.where((x - 12) ** 2 + (y - 12) ** 2 <= 10**2, 0.0, -1000.0)
    ct = Volume(hu, (8.0, 8.0, 8.0), unit="HU")
    lab = np.zeros(shape, np.int16)
    lab[4:12, 8:16, 8:16] = 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = od.organ_doses({"liver": 1.0}, "F-18", "patient", ct=ct, labels=ct.with_array(lab),
                            label_names={3: "liver"}, n_histories=20_000)  # fmt: skip
    d = _values(df, "absorbed_dose")
    m_kg = 512 * 0.512 * 1.017 / 1000
    from immunopet.dosimetry.emission import emission_spectrum

    delta_e = emission_spectrum("F-18").electron_energy_per_decay_mev
    e_el = delta_e * 3600 * 1.602176634e-13 / m_kg * 1e9  # mGy/MBq from positrons
    assert d["liver"] > e_el * 0.97
    assert d["liver"] < e_el * 3.0
    assert 0 < d["muscle"] < d["liver"]
