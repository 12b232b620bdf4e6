"""The one organ vocabulary: immunopet's names, TotalSegmentator's, the phantoms' and OLINDA/EXM's.

Every module that names an organ imports this one (regions for label maps,
dosimetry for sources and targets, S-value import for OLINDA/MIRDcalc exports),
so ``stomach`` means one thing everywhere.

Names
-----
* :data:`ORGAN_NAMES` — immunopet's snake_case organ names: the dosimetry
  phantoms' source and target regions (MIRD Pamphlet 21 schema, ICRP 89 masses),
  plus ``remainder`` and ``total_body``. Hollow organs are split into *wall*
  (target) and *contents* (source), as in MIRD and OLINDA/EXM.
* :data:`TOTALSEGMENTATOR_V2_TOTAL` — TotalSegmentator v2's ``total`` task label
  numbers (117 classes), copied from ``totalsegmentator/map_to_binary.py`` of
  https://github.com/wasserth/TotalSegmentator (v2 series, commit 0275d30;
  Wasserthal et al., Radiology: Artificial Intelligence 2023;5:e230024).
* :data:`TOTALSEGMENTATOR_TO_IMMUNOPET` — TotalSegmentator class → immunopet
  region, applied when a label map is read (classes merged: left + right kidney →
  ``kidneys``, the lung lobes → ``lungs``, named skeletal muscles → ``muscle``).
  A whole hollow organ on CT maps to its **contents**, the MIRD / OLINDA source
  region (its wall cannot be separated on CT): ``stomach`` → ``stomach_contents``,
  ``urinary_bladder`` → ``urinary_bladder_contents``, ``gallbladder`` →
  ``gallbladder_contents``. ``heart`` (whole heart) stays ``heart`` in label maps so
  that :func:`immunopet.regions.blood_pool` can erode it into ``blood``; as a dose
  *source* it is ``heart_contents`` (:data:`SYNONYMS`).
* :data:`OLINDA_NAMES` — OLINDA/EXM 2 organ labels, as they appear in its S-value
  exports (e.g. ``StomCont``, ``Hrt Wall``, ``Red Mar.``, ``UB Cont``) → immunopet
  names. OLINDA's ICRP-89 colon regions map to the ICRP 110 names used here
  (ULI → ``right_colon``, LLI → ``left_colon``, Rectum → ``rectosigmoid_colon``);
  regions without an immunopet organ (eyes, prostate, cortical / trabecular bone)
  get a snake_case name of their own, so an imported S-value matrix keeps them.
* ``whole_body`` is the measured field of view in every table; as a dose source
  it is the phantom's ``total_body`` (OLINDA's "Total Body").

:func:`canonical_organ` resolves any of these spellings; an unknown name raises
:class:`~immunopet.core.errors.InvalidValueError` whose suggestions come from the
names that exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from .errors import InvalidValueError

__all__ = [
    "NON_ORGAN_PREFIXES",
    "OLINDA_NAMES",
    "ORGAN_NAMES",
    "SYNONYMS",
    "TOTALSEGMENTATOR_TO_IMMUNOPET",
    "TOTALSEGMENTATOR_V2_TOTAL",
    "canonical_organ",
    "known_names",
    "normalise_name",
]

#: Source / target names of the organ dosimetry (immunopet's shared organ names).
ORGAN_NAMES: tuple[str, ...] = (
    "adrenals",
    "brain",
    "breasts",
    "gallbladder_contents",
    "gallbladder_wall",
    "heart_contents",
    "heart_wall",
    "kidneys",
    "left_colon",
    "liver",
    "lungs",
    "muscle",
    "oesophagus",
    "ovaries",
    "pancreas",
    "rectosigmoid_colon",
    "red_marrow",
    "right_colon",
    "skeleton",
    "skin",
    "small_intestine",
    "spleen",
    "stomach_contents",
    "stomach_wall",
    "testes",
    "thymus",
    "thyroid",
    "urinary_bladder_contents",
    "urinary_bladder_wall",
    "uterus",
    "remainder",
    "total_body",
)

_TS_V2_NAMES = (
    "spleen kidney_right kidney_left gallbladder liver stomach pancreas adrenal_gland_right "
    "adrenal_gland_left lung_upper_lobe_left lung_lower_lobe_left lung_upper_lobe_right "
    "lung_middle_lobe_right lung_lower_lobe_right esophagus trachea thyroid_gland small_bowel "
    "duodenum colon urinary_bladder prostate kidney_cyst_left kidney_cyst_right sacrum "
    "vertebrae_S1 vertebrae_L5 vertebrae_L4 vertebrae_L3 vertebrae_L2 vertebrae_L1 "
    "vertebrae_T12 vertebrae_T11 vertebrae_T10 vertebrae_T9 vertebrae_T8 vertebrae_T7 "
    "vertebrae_T6 vertebrae_T5 vertebrae_T4 vertebrae_T3 vertebrae_T2 vertebrae_T1 "
    "vertebrae_C7 vertebrae_C6 vertebrae_C5 vertebrae_C4 vertebrae_C3 vertebrae_C2 "
    "vertebrae_C1 heart aorta pulmonary_vein brachiocephalic_trunk subclavian_artery_right "
    "subclavian_artery_left common_carotid_artery_right common_carotid_artery_left "
    "brachiocephalic_vein_left brachiocephalic_vein_right atrial_appendage_left "
    "superior_vena_cava inferior_vena_cava portal_vein_and_splenic_vein iliac_artery_left "
    "iliac_artery_right iliac_vena_left iliac_vena_right humerus_left humerus_right "
    "scapula_left scapula_right clavicula_left clavicula_right femur_left femur_right "
    "hip_left hip_right spinal_cord gluteus_maximus_left gluteus_maximus_right "
    "gluteus_medius_left gluteus_medius_right gluteus_minimus_left gluteus_minimus_right "
    "autochthon_left autochthon_right iliopsoas_left iliopsoas_right brain skull "
    + " ".join(f"rib_left_{n}" for n in range(1, 13))
    + " "
    + " ".join(f"rib_right_{n}" for n in range(1, 13))
    + " sternum costal_cartilages"
).split()

#: TotalSegmentator v2 ``total`` task: label number → class name (117 classes).
TOTALSEGMENTATOR_V2_TOTAL: dict[int, str] = {i + 1: n for i, n in enumerate(_TS_V2_NAMES)}
assert len(TOTALSEGMENTATOR_V2_TOTAL) == 117

_MUSCLES = [
    f"{m}_{side}"
    for m in (
        "gluteus_maximus",
        "gluteus_medius",
        "gluteus_minimus",
        "autochthon",
        "iliopsoas",
    )
    for side in ("left", "right")
]

#: TotalSegmentator class name → immunopet organ name. Several classes mapping
#: to one name are merged (left + right kidney → ``kidneys``, the five lung
#: lobes → ``lungs``, the named skeletal muscles → ``muscle``). Whole hollow
#: organs map to their *contents*, the MIRD / OLINDA source region (the wall
#: cannot be separated on CT). ``heart`` (whole heart, wall included) is kept
#: as is; :func:`immunopet.regions.blood.blood_pool` erodes it into ``blood``.
TOTALSEGMENTATOR_TO_IMMUNOPET: Mapping[str, str] = {
    "kidney_right": "kidneys",
    "kidney_left": "kidneys",
    "gallbladder": "gallbladder_contents",
    "stomach": "stomach_contents",
    "urinary_bladder": "urinary_bladder_contents",
    "adrenal_gland_right": "adrenals",
    "adrenal_gland_left": "adrenals",
    "lung_upper_lobe_left": "lungs",
    "lung_lower_lobe_left": "lungs",
    "lung_upper_lobe_right": "lungs",
    "lung_middle_lobe_right": "lungs",
    "lung_lower_lobe_right": "lungs",
    "lung_left": "lungs",
    "lung_right": "lungs",
    "esophagus": "oesophagus",
    "thyroid_gland": "thyroid",
    "small_bowel": "small_intestine",
    "duodenum": "small_intestine",
    "heart_atrium_left": "heart_contents",
    "heart_atrium_right": "heart_contents",
    "heart_ventricle_left": "heart_contents",
    "heart_ventricle_right": "heart_contents",
    "heart_myocardium": "heart_wall",
    "parotid_gland_left": "salivary_glands",
    "parotid_gland_right": "salivary_glands",
    "submandibular_gland_left": "salivary_glands",
    "submandibular_gland_right": "salivary_glands",
    "skeletal_muscle": "muscle",
    **{m: "muscle" for m in _MUSCLES},
}

#: Synonyms and TotalSegmentator names that are not label-merge targets → organ name.
SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        "adrenal_gland": "adrenals",
        "kidney": "kidneys",
        "lung": "lungs",
        "heart": "heart_contents",
        "bladder": "urinary_bladder_contents",
        "urinary_bladder": "urinary_bladder_contents",
        "stomach": "stomach_contents",
        "gallbladder": "gallbladder_contents",
        "bone_marrow": "red_marrow",
        "marrow": "red_marrow",
        "esophagus": "oesophagus",
        "rest_of_body": "remainder",
        "remainder_of_body": "remainder",
        "whole_body": "total_body",
        "body": "total_body",
        "prostate": "remainder",
    }
)

#: OLINDA/EXM 2 organ labels (S-value export rows and columns) → immunopet names.
OLINDA_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "Adrenals": "adrenals",
        "Brain": "brain",
        "Breasts": "breasts",
        "Esophagus": "oesophagus",
        "Eyes": "eyes",
        "GB Cont": "gallbladder_contents",
        "Gallbladder Wall": "gallbladder_wall",
        "LLI Cont": "left_colon",
        "LLI Wall": "left_colon",
        "SI Cont": "small_intestine",
        "Small Intestine": "small_intestine",
        "StomCont": "stomach_contents",
        "Stomach Wall": "stomach_wall",
        "ULI Cont": "right_colon",
        "ULI Wall": "right_colon",
        "Rectum": "rectosigmoid_colon",
        "HeartCon": "heart_contents",
        "Hrt Wall": "heart_wall",
        "Heart Wall": "heart_wall",
        "Kidneys": "kidneys",
        "Liver": "liver",
        "Lungs": "lungs",
        "Muscle": "muscle",
        "Ovaries": "ovaries",
        "Pancreas": "pancreas",
        "Prostate": "prostate",
        "Salivary": "salivary_glands",
        "Salivary Glands": "salivary_glands",
        "Red Mar.": "red_marrow",
        "Red Marrow": "red_marrow",
        "CortBone": "cortical_bone",
        "TrabBone": "trabecular_bone",
        "Osteogenic Cells": "bone_surfaces",
        "Skin": "skin",
        "Spleen": "spleen",
        "Testes": "testes",
        "Thymus": "thymus",
        "Thyroid": "thyroid",
        "UB Cont": "urinary_bladder_contents",
        "Urinary Bladder Wall": "urinary_bladder_wall",
        "Uterus": "uterus",
        "Tot Body": "total_body",
        "Total Body": "total_body",
    }
)

#: Region-name prefixes of a kinetics table that are never organ sources.
NON_ORGAN_PREFIXES = ("lesion", "tumour", "tumor", "blood", "background")

_OLINDA_BY_KEY = {k.strip().lower(): v for k, v in OLINDA_NAMES.items()}


def normalise_name(name: object) -> str:
    """Lower-case snake_case spelling of a region name (spaces and dashes → ``_``)."""
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def known_names() -> tuple[str, ...]:
    """Every spelling :func:`canonical_organ` accepts (for suggestions and docs)."""
    return (
        *ORGAN_NAMES,
        *TOTALSEGMENTATOR_TO_IMMUNOPET,
        *SYNONYMS,
        *(normalise_name(k) for k in OLINDA_NAMES),
    )


def canonical_organ(name: str, *, allowed: tuple[str, ...] | None = None) -> str:
    """Map a region name (ours, TotalSegmentator's, OLINDA's or a synonym) to an organ name.

    Parameters
    ----------
    name
        Any spelling: ``"StomCont"``, ``"stomach"``, ``"kidney_left"``, ``"whole_body"``.
    allowed
        The names the caller can use (default :data:`ORGAN_NAMES`); a name that maps
        outside them is unknown to the caller.

    Raises
    ------
    InvalidValueError
        Unknown name; the message suggests the closest names among ``allowed`` and
        the spellings that map to them.
    """
    allowed = ORGAN_NAMES if allowed is None else allowed
    raw = str(name).strip()
    key = normalise_name(raw)
    for candidate in (
        key,
        TOTALSEGMENTATOR_TO_IMMUNOPET.get(key),
        _OLINDA_BY_KEY.get(raw.lower()),
    ):
        if candidate is None:
            continue
        candidate = SYNONYMS.get(candidate, candidate)
        if candidate in allowed:
            return candidate
    spellings = [n for n in known_names() if _resolves_within(n, allowed)]
    close = difflib.get_close_matches(key, spellings, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InvalidValueError(
        f"unknown organ/region name {name!r}{hint} (known: {', '.join(allowed)})",
        field="region",
        value=name,
    )


def _resolves_within(spelling: str, allowed: tuple[str, ...]) -> bool:
    target = TOTALSEGMENTATOR_TO_IMMUNOPET.get(spelling, spelling)
    target = _OLINDA_BY_KEY.get(spelling, target)
    return SYNONYMS.get(target, target) in allowed
