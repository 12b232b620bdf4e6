"""Tissue weighting factors and reference organ masses.

Sources
-------
- ICRP Publication 103 (2007), *Ann. ICRP* 37(2-4), Table 3 (tissue weighting
  factors w_T) and its footnote listing the 13 remainder tissues per sex; the
  remainder dose is the arithmetic mean of the remainder tissues' equivalent
  doses (Table 3 footnote, para. B 132). Sex-averaged effective dose:
  ``E = Σ_T w_T (H_T^M + H_T^F) / 2`` (ICRP 103, §4.3.4, Eq. 4.5).
- ICRP Publication 60 (1991), *Ann. ICRP* 21(1-3), Table 2 and its notes: the
  remainder (w_T = 0.05) is the mass-weighted mean of the remainder tissues;
  if one remainder tissue receives more than the highest of the twelve named
  tissues it gets 0.025 and the rest of the remainder the other 0.025
  ("splitting rule", note 3 to Table 2).
- ICRP Publication 89 (2002), *Ann. ICRP* 32(3-4), Table 2.8: reference organ
  masses of the adult male and female (grams, converted to kg here). Colon and
  small intestine masses are the walls; contents are not modelled separately.

The reference organ names are immunopet's shared snake_case organ names.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ICRP103_REMAINDER_FEMALE",
    "ICRP103_REMAINDER_MALE",
    "ICRP103_WEIGHTS",
    "ICRP60_REMAINDER",
    "ICRP60_WEIGHTS",
    "REFERENCE_MASSES_KG",
    "colon_dose",
    "effective_dose_icrp103",
    "effective_dose_icrp60",
]

#: ICRP 103, Table 3. ``gonads`` = testes (male) / ovaries (female);
#: ``colon`` = mass-weighted mean of right, left and rectosigmoid colon walls.
ICRP103_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "red_marrow": 0.12,
        "colon": 0.12,
        "lungs": 0.12,
        "stomach_wall": 0.12,
        "breasts": 0.12,
        "remainder": 0.12,
        "gonads": 0.08,
        "urinary_bladder_wall": 0.04,
        "oesophagus": 0.04,
        "liver": 0.04,
        "thyroid": 0.04,
        "bone_surfaces": 0.01,
        "brain": 0.01,
        "salivary_glands": 0.01,
        "skin": 0.01,
    }
)

#: ICRP 103 Table 3 footnote: remainder tissues (13 per sex). The extrathoracic
#: region, lymph nodes, oral mucosa and prostate are not in our phantoms and are
#: left out of the arithmetic mean (a stated approximation).
ICRP103_REMAINDER_MALE: tuple[str, ...] = (
    "adrenals",
    "gallbladder_wall",
    "heart_wall",
    "kidneys",
    "muscle",
    "pancreas",
    "small_intestine",
    "spleen",
    "thymus",
)
ICRP103_REMAINDER_FEMALE: tuple[str, ...] = (*ICRP103_REMAINDER_MALE, "uterus")

#: ICRP 60, Table 2.
ICRP60_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "gonads": 0.20,
        "red_marrow": 0.12,
        "colon": 0.12,
        "lungs": 0.12,
        "stomach_wall": 0.12,
        "urinary_bladder_wall": 0.05,
        "breasts": 0.05,
        "liver": 0.05,
        "oesophagus": 0.05,
        "thyroid": 0.05,
        "skin": 0.01,
        "bone_surfaces": 0.01,
        "remainder": 0.05,
    }
)

#: ICRP 60 Table 2 note 2 (as amended in ICRP 66/68): remainder tissues.
ICRP60_REMAINDER: tuple[str, ...] = (
    "adrenals",
    "brain",
    "small_intestine",
    "kidneys",
    "muscle",
    "pancreas",
    "spleen",
    "thymus",
    "uterus",
)

_G = 1e-3
#: ICRP 89, Table 2.8 (adult male, adult female), kg.
REFERENCE_MASSES_KG: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "male": MappingProxyType(
            {
                "adrenals": 14 * _G,
                "brain": 1450 * _G,
                "breasts": 25 * _G,
                "oesophagus": 40 * _G,
                "stomach_wall": 150 * _G,
                "stomach_contents": 250 * _G,
                "small_intestine": 650 * _G,
                "right_colon": 150 * _G,
                "left_colon": 150 * _G,
                "rectosigmoid_colon": 70 * _G,
                "heart_wall": 330 * _G,
                "heart_contents": 510 * _G,
                "kidneys": 310 * _G,
                "liver": 1800 * _G,
                "lungs": 1200 * _G,
                "pancreas": 140 * _G,
                "red_marrow": 1170 * _G,
                "skeleton": 10500 * _G,
                "spleen": 150 * _G,
                "thyroid": 20 * _G,
                "thymus": 25 * _G,
                "testes": 35 * _G,
                "urinary_bladder_wall": 50 * _G,
                "urinary_bladder_contents": 200 * _G,
                "gallbladder_wall": 8 * _G,
                "gallbladder_contents": 58 * _G,
                "skin": 3300 * _G,
                "muscle": 29000 * _G,
                "salivary_glands": 85 * _G,
                "total_body": 73000 * _G,
            }
        ),
        "female": MappingProxyType(
            {
                "adrenals": 13 * _G,
                "brain": 1300 * _G,
                "breasts": 500 * _G,
                "oesophagus": 35 * _G,
                "stomach_wall": 140 * _G,
                "stomach_contents": 230 * _G,
                "small_intestine": 600 * _G,
                "right_colon": 145 * _G,
                "left_colon": 145 * _G,
                "rectosigmoid_colon": 70 * _G,
                "heart_wall": 250 * _G,
                "heart_contents": 370 * _G,
                "kidneys": 275 * _G,
                "liver": 1400 * _G,
                "lungs": 950 * _G,
                "pancreas": 120 * _G,
                "red_marrow": 900 * _G,
                "skeleton": 7800 * _G,
                "spleen": 130 * _G,
                "thyroid": 17 * _G,
                "thymus": 20 * _G,
                "ovaries": 11 * _G,
                "uterus": 80 * _G,
                "urinary_bladder_wall": 40 * _G,
                "urinary_bladder_contents": 200 * _G,
                "gallbladder_wall": 8 * _G,
                "gallbladder_contents": 48 * _G,
                "skin": 2300 * _G,
                "muscle": 17500 * _G,
                "salivary_glands": 70 * _G,
                "total_body": 60000 * _G,
            }
        ),
    }
)

_COLON_PARTS = ("right_colon", "left_colon", "rectosigmoid_colon")


def colon_dose(dose_by_target: Mapping[str, float], masses_kg: Mapping[str, float]) -> float:
    """Mass-weighted mean of the colon wall doses (ICRP 103 Table 3 note; ICRP 110 §2)."""
    parts = [p for p in _COLON_PARTS if p in dose_by_target]
    if not parts:
        return float("nan")
    total_mass = sum(masses_kg[p] for p in parts)
    return sum(dose_by_target[p] * masses_kg[p] for p in parts) / total_mass


def _tissue_dose(
    name: str, dose: Mapping[str, float], masses: Mapping[str, float], sex: str
) -> float:
    if name == "colon":
        return colon_dose(dose, masses)
    if name == "gonads":
        return dose.get("testes" if sex == "male" else "ovaries", float("nan"))
    return dose.get(name, float("nan"))


def effective_dose_icrp103(
    dose_male: Mapping[str, float] | None,
    dose_female: Mapping[str, float] | None,
) -> float:
    """Sex-averaged effective dose per ICRP 103 (Sv per unit of the input doses' Gy).

    ``E = Σ_T w_T (H_T^M + H_T^F) / 2`` with ``H_T = D_T`` (w_R = 1 for photons
    and electrons, ICRP 103 Table 2). When only one sex is given, that sex's
    ``Σ w_T H_T`` is returned (a single-phantom estimate, as OLINDA reports).
    Missing tissues (salivary glands in our phantoms) take the total-body dose.
    """
    parts = []
    for sex, dose in (("male", dose_male), ("female", dose_female)):
        if dose is None:
            continue
        masses = REFERENCE_MASSES_KG[sex]
        remainder_names = ICRP103_REMAINDER_MALE if sex == "male" else ICRP103_REMAINDER_FEMALE
        present = [t for t in remainder_names if t in dose]
        total = 0.0
        for tissue, w in ICRP103_WEIGHTS.items():
            if tissue == "remainder":
                h = sum(dose[t] for t in present) / len(present)
            else:
                h = _tissue_dose(tissue, dose, masses, sex)
                if h != h:  # nan: tissue not modelled
                    h = dose["total_body"]
            total += w * h
        parts.append(total)
    if not parts:
        raise ValueError("need at least one of dose_male, dose_female")
    return sum(parts) / len(parts)


def effective_dose_icrp60(
    dose_male: Mapping[str, float] | None,
    dose_female: Mapping[str, float] | None,
) -> float:
    """Effective dose with ICRP 60 weights (for comparison with older OLINDA / ICRP 106).

    Per sex ``E = Σ w_T H_T`` with the mass-weighted remainder and the splitting
    rule (ICRP 60 Table 2 note 3); then the mean over the sexes given.
    """
    parts = []
    for sex, dose in (("male", dose_male), ("female", dose_female)):
        if dose is None:
            continue
        masses = REFERENCE_MASSES_KG[sex]
        named = {t: _tissue_dose(t, dose, masses, sex) for t in ICRP60_WEIGHTS if t != "remainder"}
        named = {t: (h if h == h else dose["total_body"]) for t, h in named.items()}
        rem = [t for t in ICRP60_REMAINDER if t in dose and t in masses]
        rem_mass = sum(masses[t] for t in rem)
        h_rem = sum(dose[t] * masses[t] for t in rem) / rem_mass
        total = sum(ICRP60_WEIGHTS[t] * h for t, h in named.items())
        hottest = max(rem, key=lambda t: dose[t])
        if dose[hottest] > max(named.values()):
            others = [t for t in rem if t != hottest]
            other_mass = sum(masses[t] for t in others)
            h_others = sum(dose[t] * masses[t] for t in others) / other_mass
            total += 0.025 * dose[hottest] + 0.025 * h_others
        else:
            total += ICRP60_WEIGHTS["remainder"] * h_rem
        parts.append(total)
    if not parts:
        raise ValueError("need at least one of dose_male, dose_female")
    return sum(parts) / len(parts)
