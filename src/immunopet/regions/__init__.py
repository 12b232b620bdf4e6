"""Regions of interest: organ label maps, blood pool, lesions, cross-scan matching.

Label maps are read and moved to the PET grid by :mod:`~immunopet.regions.labels`
(TotalSegmentator numbering in :mod:`~immunopet.regions.totalsegmentator`); the
blood pool is built by :mod:`~immunopet.regions.blood`; lesions are segmented by
:mod:`~immunopet.regions.lesions` and carried / matched across scans by
:mod:`~immunopet.regions.registration`.
"""

from .blood import blood_pool, erode_mm
from .labels import (
    LabelMap,
    check_overlap,
    labels_on_pet_grid,
    load_label_map,
    merge_labels,
    to_immunopet_organs,
)
from .lesions import (
    LesionSet,
    equivalent_diameter_mm,
    lesions_from_labels,
    lesions_from_mask,
    parse_method,
    segment_lesions,
)
from .partial_volume import PartialVolumeLabels, fractional_occupancy
from .registration import RigidRegistration, carry_lesions, match_lesions, register_rigid
from .totalsegmentator import (
    TOTALSEGMENTATOR_TO_IMMUNOPET,
    TOTALSEGMENTATOR_V2_TOTAL,
    label_names_from,
    read_label_names_json,
)

__all__ = [
    "TOTALSEGMENTATOR_TO_IMMUNOPET",
    "TOTALSEGMENTATOR_V2_TOTAL",
    "LabelMap",
    "LesionSet",
    "PartialVolumeLabels",
    "RigidRegistration",
    "blood_pool",
    "carry_lesions",
    "check_overlap",
    "equivalent_diameter_mm",
    "erode_mm",
    "fractional_occupancy",
    "label_names_from",
    "labels_on_pet_grid",
    "lesions_from_labels",
    "lesions_from_mask",
    "load_label_map",
    "match_lesions",
    "merge_labels",
    "parse_method",
    "read_label_names_json",
    "register_rigid",
    "segment_lesions",
    "to_immunopet_organs",
]
