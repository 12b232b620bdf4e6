"""Published reference biokinetic models and dose coefficients used to validate the organ doses.

18F-FDG, adult (ICRP Publication 106, 2008, Annex C "18F-FDG" — model and dose table
reproduced unchanged in ICRP Publication 128, 2015, Section C for 18F-FDG): cumulated
activities per unit administered activity (h) and absorbed doses per unit administered
activity (mGy/MBq) computed by ICRP with the ORNL stylised adult phantom (Cristy &
Eckerman 1987) and ICRP 38 decay data; effective dose with ICRP 60 tissue weighting
factors (0.019 mSv/MBq).

The reference study's organ doses (124I-trastuzumab, OLINDA/EXM, 5 patients; see
``/work/shared/reference/reference-study.md``) are kept here for the informative
comparison printed by ``benchmarks/dosimetry_reference.py``; the paper gives no TIACs,
so they cannot be reproduced from first principles.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "FDG_ICRP128_DOSES_MGY_PER_MBQ",
    "FDG_ICRP128_E_MSV_PER_MBQ",
    "FDG_ICRP128_TIAC_H",
    "REFERENCE_STUDY_TABLE2",
]

#: ICRP 106/128 18F-FDG adult cumulated activity (h): brain, heart wall, lungs, liver,
#: urinary bladder contents (bladder-voiding model, adult), other organs and tissues.
FDG_ICRP128_TIAC_H: Mapping[str, float] = MappingProxyType(
    {
        "brain": 0.21,
        "heart_wall": 0.11,
        "lungs": 0.079,
        "liver": 0.13,
        "urinary_bladder_contents": 0.26,
        "remainder": 1.7,
    }
)

#: ICRP 106/128 18F-FDG adult absorbed dose per unit administered activity (mGy/MBq).
FDG_ICRP128_DOSES_MGY_PER_MBQ: Mapping[str, float] = MappingProxyType(
    {
        "adrenals": 0.012,
        "urinary_bladder_wall": 0.13,
        "bone_surfaces": 0.011,
        "brain": 0.038,
        "breasts": 0.0088,
        "gallbladder_wall": 0.013,
        "stomach_wall": 0.011,
        "small_intestine": 0.012,
        "colon": 0.013,
        "heart_wall": 0.067,
        "kidneys": 0.017,
        "liver": 0.021,
        "lungs": 0.020,
        "muscle": 0.010,
        "oesophagus": 0.012,
        "ovaries": 0.014,
        "pancreas": 0.013,
        "red_marrow": 0.011,
        "skin": 0.0078,
        "spleen": 0.011,
        "testes": 0.011,
        "thymus": 0.012,
        "thyroid": 0.010,
        "uterus": 0.018,
    }
)

#: ICRP 106/128 18F-FDG adult effective dose (ICRP 60 w_T), mSv/MBq.
FDG_ICRP128_E_MSV_PER_MBQ = 0.019

#: Reference study Table 2 (124I-trastuzumab, OLINDA/EXM, mean of 5 patients), mGy/MBq;
#: ``whole_body`` is the effective dose (mSv/MBq). "heart" is reported as heart wall,
#: "bladder" as urinary bladder wall, "gallbladder" as gallbladder wall.
REFERENCE_STUDY_TABLE2: Mapping[str, float] = MappingProxyType(
    {
        "adrenals": 0.35,
        "brain": 0.088,
        "oesophagus": 0.269,
        "gallbladder_wall": 0.388,
        "left_colon": 0.027,
        "small_intestine": 0.025,
        "right_colon": 0.026,
        "stomach_wall": 0.039,
        "heart_wall": 0.741,
        "kidneys": 0.396,
        "liver": 0.651,
        "lungs": 0.17,
        "pancreas": 0.24,
        "red_marrow": 0.183,
        "bone_surfaces": 0.177,
        "spleen": 0.617,
        "thyroid": 0.463,
        "urinary_bladder_wall": 0.346,
        "total_body": 0.201,
        "whole_body": 0.3011,
    }
)
