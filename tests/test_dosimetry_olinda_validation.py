"""Our Lu-177 self-S against OLINDA/EXM 2's (ICRP-89 adult male and female).

Reference: OLINDA/EXM 2-style Lu-177 total (β + γ) S-values, mGy/(MBq·s), diagonal of
``Lu177-Male-Svalues.csv`` / ``Lu177-Female-Svalues.csv`` of github.com/qurit/PyTheranostics
(``pytheranostics/dosimetry/phantomdata/``, commit cc3b720bc1617e48da336c4c40a342892064f1d1;
the repository gives no citation, the organ labels are OLINDA/EXM 2's, units inferred).

Tolerance, fixed before comparing: **3 %** for every organ > 10 g (issue 13). Why 3 %:
both sides use the ICRP 89 masses, so the electron part (Δ_e / M, ~96–99 % of a Lu-177
self-S) differs only by the nuclear data (ICRP 107 here, RADAR in OLINDA: < 1 %); the
rest is the photon self-absorbed fraction, 1–4 % of the self-S, which two phantom
families may give differently by up to ~100 % of itself in a small organ.

Not compared, and why (definitions differ, not the physics of a self-S):

* colon (ULI/LLI/rectum) and small intestine: OLINDA's source is the *contents* and its
  target the *wall*; S(wall ← contents) is not a self-S (ours is the organ as one region);
* red marrow: OLINDA 2 uses skeletal electron absorbed fractions (the marrow's own
  β energy partly escapes into the trabeculae); we absorb it locally (φ = 1), so ours
  is ~1.78× OLINDA's — a known difference of our skeletal model, reported in the README,
  not a tolerance question.
"""

from __future__ import annotations

import pytest

from immunopet.dosimetry.organ_dose import reference_af_table
from immunopet.dosimetry.svalues import svalue_table

#: OLINDA 2 Lu-177 self-S, mGy/(MBq·s) (the matrices' diagonals; see module docstring).
OLINDA_SELF_S = {
    "male": {
        "adrenals": 1.68e-03, "brain": 1.70e-05, "oesophagus": 5.88e-04, "heart_wall": 7.27e-05,
        "kidneys": 7.76e-05, "liver": 1.37e-05, "lungs": 1.99e-05, "pancreas": 1.71e-04,
        "spleen": 1.60e-04, "testes": 6.77e-04, "thymus": 9.42e-04, "thyroid": 1.18e-03,
        "total_body": 3.54e-07,
    },
    "female": {
        "adrenals": 1.81e-03, "brain": 1.89e-05, "breasts": 4.78e-05, "oesophagus": 6.71e-04,
        "heart_wall": 9.57e-05, "kidneys": 8.70e-05, "liver": 1.76e-05, "lungs": 2.50e-05,
        "ovaries": 2.14e-03, "pancreas": 2.00e-04, "spleen": 1.84e-04, "thymus": 1.18e-03,
        "thyroid": 1.38e-03, "uterus": 3.00e-04, "total_body": 4.30e-07,
    },
}  # fmt: skip
TOLERANCE = 0.03


@pytest.mark.parametrize("sex", ["male", "female"])
def test_lu177_self_s_within_3_percent_of_olinda2(sex):
    ours = svalue_table("Lu-177", reference_af_table(f"adult-{sex}"))
    ratios = {t: ours.s(t, t) * 1e9 / ref for t, ref in OLINDA_SELF_S[sex].items()}
    print(f"\n{sex} ours/OLINDA self-S:", {k: round(v, 4) for k, v in ratios.items()})
    off = {k: v for k, v in ratios.items() if abs(v - 1) > TOLERANCE}
    assert not off, off
    assert len(ratios) >= 13  # every organ > 10 g with a self-S on both sides
