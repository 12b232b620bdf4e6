"""Label-number tables: TotalSegmentator's ``total`` task and user JSON files.

The built-in table is TotalSegmentator v2's ``class_map["total"]`` (117
classes), copied from ``totalsegmentator/map_to_binary.py`` of
https://github.com/wasserth/TotalSegmentator (v2 series, commit 0275d30;
Wasserthal et al., Radiology: Artificial Intelligence 2023;5:e230024).
TotalSegmentator writes this numbering into its multilabel output
(``--ml``); the names here are those of that file, verbatim.

:data:`TOTALSEGMENTATOR_TO_IMMUNOPET` then renames / merges those classes to
the organ names shared across immunopet (kidneys, lungs, muscle, …); classes
with no immunopet organ keep their TotalSegmentator name and are still measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

from ..core.errors import InputError, InvalidValueError

__all__ = [
    "TOTALSEGMENTATOR_TO_IMMUNOPET",
    "TOTALSEGMENTATOR_V2_TOTAL",
    "label_names_from",
    "read_label_names_json",
]

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
TOTALSEGMENTATOR_TO_IMMUNOPET: dict[str, str] = {
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


def read_label_names_json(path: str | PathLike[str]) -> dict[int, str]:
    """Read a user table ``{"1": "liver", "2": "spleen", ...}`` from JSON.

    Raises
    ------
    InputError
        The file is missing, not JSON, or its keys are not positive integers /
        its values not non-empty strings.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError("label-name file not found", file=p) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read label names as JSON ({exc})", file=p) from None
    if not isinstance(raw, Mapping) or not raw:
        raise InputError("label names must be a JSON object {number: name}", file=p)
    out: dict[int, str] = {}
    for key, name in raw.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise InvalidValueError(
                "label numbers must be integers", file=p, field=str(key), value=key
            ) from None
        if number <= 0 or not isinstance(name, str) or not name.strip():
            raise InvalidValueError(
                "label numbers must be > 0 and names non-empty strings",
                file=p,
                field=str(key),
                value=name,
            )
        out[number] = name.strip()
    return out


def label_names_from(spec: str | PathLike[str] | Mapping[int, str]) -> dict[int, str]:
    """Resolve ``--labels-from``: ``"totalsegmentator"``, a JSON file, or a mapping."""
    if isinstance(spec, Mapping):
        return {int(k): str(v) for k, v in spec.items()}
    if str(spec).lower() in ("totalsegmentator", "totalsegmentator_v2", "total"):
        return dict(TOTALSEGMENTATOR_V2_TOTAL)
    return read_label_names_json(spec)
