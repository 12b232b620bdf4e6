"""Organ and region names accepted by the organ dosimetry, and their synonyms.

immunopet's shared snake_case organ names, TotalSegmentator (v2) class names
(Wasserthal et al., Radiol Artif Intell 2023;5:e230024) and common synonyms.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from ..core.errors import InvalidValueError

__all__ = ["NON_ORGAN_PREFIXES", "ORGAN_NAMES", "TOTALSEGMENTATOR_NAMES", "canonical_region"]

#: Source / target names accepted (immunopet's shared organ names).
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

#: TotalSegmentator (v2) class names and common synonyms → immunopet organ names.
#: A whole-organ VOI drawn on PET is attributed to the compartment that holds most
#: activity: heart → blood in the heart (contents), bladder and gallbladder → contents.
TOTALSEGMENTATOR_NAMES: Mapping[str, str] = {
    "adrenal_gland_left": "adrenals",
    "adrenal_gland_right": "adrenals",
    "adrenal_gland": "adrenals",
    "kidney_left": "kidneys",
    "kidney_right": "kidneys",
    "kidney": "kidneys",
    "lung_upper_lobe_left": "lungs",
    "lung_lower_lobe_left": "lungs",
    "lung_upper_lobe_right": "lungs",
    "lung_middle_lobe_right": "lungs",
    "lung_lower_lobe_right": "lungs",
    "lung": "lungs",
    "lung_left": "lungs",
    "lung_right": "lungs",
    "heart": "heart_contents",
    "heart_myocardium": "heart_wall",
    "urinary_bladder": "urinary_bladder_contents",
    "bladder": "urinary_bladder_contents",
    "gallbladder": "gallbladder_contents",
    "stomach": "stomach_wall",
    "esophagus": "oesophagus",
    "thyroid_gland": "thyroid",
    "small_bowel": "small_intestine",
    "duodenum": "small_intestine",
    "bone_marrow": "red_marrow",
    "rest_of_body": "remainder",
    "remainder_of_body": "remainder",
    "whole_body": "total_body",
    "prostate": "remainder",
}

#: Regions of a kinetics table that are not organ sources: dropped with a warning.
NON_ORGAN_PREFIXES = ("lesion", "tumour", "tumor", "blood", "background")


def canonical_region(name: str) -> str:
    """Map a region name (ours, TotalSegmentator's, or a synonym) to an organ name.

    Raises
    ------
    InvalidValueError
        Unknown name; the message lists the closest known names (difflib).
    """
    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    if key in ORGAN_NAMES:
        return key
    if key in TOTALSEGMENTATOR_NAMES:
        return TOTALSEGMENTATOR_NAMES[key]
    known = list(ORGAN_NAMES) + list(TOTALSEGMENTATOR_NAMES)
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InvalidValueError(
        f"unknown organ/region name {name!r}{hint} (known: {', '.join(ORGAN_NAMES)})",
        field="region",
        value=name,
    )
