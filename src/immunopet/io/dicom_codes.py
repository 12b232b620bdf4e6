"""Coded segment properties of immunopet regions in DICOM SEG and SR.

Coding of the segments (DICOM PS3.3 C.8.20.2 Segment Description Macro; codes from
DICOM PS3.16 CID 7150 "Segmentation Property Categories", CID 7151 "Segmentation
Property Types", CID 7159 "Abnormal Morphological Structures"):

* organs with a SNOMED CT anatomy code in :data:`ORGAN_CODES`: category
  "Anatomical Structure" (SCT 91723000), type the organ (e.g. liver SCT 10200004);
* lesions: category "Morphologically Abnormal Structure" (SCT 49755003), type
  "Neoplasm" (SCT 108369006, CID 7159);
* blood: category "Body Substance" (SCT 91720002), type "Blood" (SCT 87612001);
* whole body: "Anatomical Structure" / "Entire body" (SCT 38266002);
* anything else: category and type "Tissue" (SCT 85756007).

DICOM numbers segments 1…N, so the immunopet label number, region name and kind
travel in the free-text Segment Description (0062,0006) as
``"immunopet label <n>: <name> (<kind>)"`` (:func:`label_description`,
:func:`parse_label_description`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

__all__ = [
    "ORGAN_CODES",
    "SegmentCoding",
    "label_description",
    "parse_label_description",
    "segment_coding",
    "tracking_uid",
]

#: SNOMED CT anatomy codes of the shared immunopet organ names (DICOM PS3.16 CID 7151
#: "Segmentation Property Types" entries, as pydicom's code dictionary spells them).
#: Paired organs (kidneys, lungs) use the singular structure; wall / contents
#: compartments use the organ.
ORGAN_CODES: dict[str, Code] = {
    "adrenals": codes.SCT.AdrenalGland,
    "brain": codes.SCT.Brain,
    "oesophagus": codes.SCT.Esophagus,
    "gallbladder_wall": codes.SCT.Gallbladder,
    "gallbladder_contents": codes.SCT.Gallbladder,
    "gallbladder": codes.SCT.Gallbladder,
    "left_colon": codes.SCT.Colon,
    "right_colon": codes.SCT.Colon,
    "rectosigmoid_colon": codes.SCT.Colon,
    "colon": codes.SCT.Colon,
    "small_intestine": codes.SCT.SmallIntestine,
    "stomach_wall": codes.SCT.Stomach,
    "stomach_contents": codes.SCT.Stomach,
    "stomach": codes.SCT.Stomach,
    "heart_wall": codes.SCT.Heart,
    "heart_contents": codes.SCT.Heart,
    "heart": codes.SCT.Heart,
    "kidneys": codes.SCT.Kidney,
    "kidney": codes.SCT.Kidney,
    "liver": codes.SCT.Liver,
    "lungs": codes.SCT.Lung,
    "lung": codes.SCT.Lung,
    "muscle": codes.SCT.SkeletalMuscle,
    "pancreas": codes.SCT.Pancreas,
    "red_marrow": codes.SCT.BoneMarrow,
    "bone_surfaces": codes.SCT.Bone,
    "cortical_bone": codes.SCT.Bone,
    "trabecular_bone": codes.SCT.Bone,
    "bone": codes.SCT.Bone,
    "spleen": codes.SCT.Spleen,
    "thyroid": codes.SCT.Thyroid,
    "thymus": codes.SCT.Thymus,
    "testes": codes.SCT.Testis,
    "ovaries": codes.SCT.Ovary,
    "uterus": codes.SCT.Uterus,
    "breasts": codes.SCT.Breast,
    "skin": codes.SCT.Skin,
    "urinary_bladder_wall": codes.SCT.Bladder,
    "urinary_bladder_contents": codes.SCT.Bladder,
    "urinary_bladder": codes.SCT.Bladder,
    "salivary_glands": codes.SCT.SalivaryGland,
    "aorta": codes.SCT.Aorta,
    "total_body": codes.SCT.EntireBody,
    "whole_body": codes.SCT.EntireBody,
}

_LABEL_TEXT = re.compile(r"immunopet label (\d+): (.*) \((\w+)\)$")


@dataclass(frozen=True)
class SegmentCoding:
    """The coded properties of one segment (DICOM Segment Description Macro).

    Attributes
    ----------
    kind
        immunopet region kind (``organ``, ``lesion``, ``blood``, ``background``, ``whole_body``).
    category
        Segmented Property Category (CID 7150).
    property_type
        Segmented Property Type (CID 7151 anatomy, CID 7159 abnormal structures).
    anatomy
        The organ's anatomy code when known (used as SR finding site), else None.
    """

    kind: str
    category: Code
    property_type: Code
    anatomy: Code | None


def _infer_kind(name: str) -> str:
    low = name.lower()
    if low in ("whole_body", "total_body"):
        return "whole_body"
    if low.startswith(("lesion", "tumor", "tumour", "metastasis", "node_")):
        return "lesion"
    if low == "blood" or low.startswith("blood"):
        return "blood"
    if low in ("background", "remainder"):
        return "background"
    return "organ"


def segment_coding(name: str, kind: str | None = None) -> SegmentCoding:
    """Coded category and type of a region (module docstring lists the rules).

    Parameters
    ----------
    name
        immunopet region name (shared snake_case organ names, ``lesion_3``…).
    kind
        Region kind; default guessed from the name (``lesion*`` → lesion, ``blood*`` →
        blood, ``whole_body`` → whole_body, else organ).
    """
    kind = kind or _infer_kind(name)
    if kind == "lesion":
        return SegmentCoding(
            kind, codes.cid7150.MorphologicallyAbnormalStructure, codes.SCT.Neoplasm, None
        )
    if kind == "blood":
        return SegmentCoding(kind, codes.cid7150.BodySubstance, codes.SCT.Blood, None)
    if kind == "whole_body":
        return SegmentCoding(
            kind, codes.cid7150.AnatomicalStructure, codes.SCT.EntireBody, codes.SCT.EntireBody
        )
    organ = ORGAN_CODES.get(name.lower())
    if organ is not None:
        return SegmentCoding(kind, codes.cid7150.AnatomicalStructure, organ, organ)
    return SegmentCoding(kind, codes.cid7150.Tissue, codes.SCT.Tissue, None)


def label_description(label: int, name: str, kind: str) -> str:
    """The Segment Description text that keeps an immunopet label number, name and kind."""
    return f"immunopet label {int(label)}: {name} ({kind})"


def parse_label_description(text: str) -> tuple[int, str, str] | None:
    """``(label, name, kind)`` from a :func:`label_description` text, else None."""
    match = _LABEL_TEXT.match(text)
    if match is None:
        return None
    return int(match.group(1)), match.group(2), match.group(3)


def tracking_uid(subject: str, region: str) -> str:
    """The Tracking UID of one region of one subject, the same in every file and time point.

    A deterministic UID (pydicom ``generate_uid`` with the subject and region names as
    entropy sources, under the pydicom UID root), so the SEGs and SRs of every time
    point, and the dose report, name one lesion by one tracking identifier (DICOM PS3.16
    TID 1500 "Tracking Unique Identifier", EV (112040, DCM)).
    """
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["immunopet tracking", str(subject), str(region)]))
