"""Regions of interest: organ label maps, blood pool, lesions, cross-scan matching.

Label maps are read and moved to the PET grid by :mod:`~immunopet.regions.labels`
(TotalSegmentator numbering in :mod:`~immunopet.regions.totalsegmentator`); the
blood pool is built by :mod:`~immunopet.regions.blood`; lesions are segmented by
:mod:`~immunopet.regions.lesions` and carried / matched across scans by
:mod:`~immunopet.regions.registration`.
"""

from ..core.lazy import lazy_exports

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

#: Each public name → the module defining it, imported on first use (:mod:`immunopet.core.lazy`).
_LAZY = {
    "blood_pool": ".blood",
    "erode_mm": ".blood",
    "LabelMap": ".labels",
    "check_overlap": ".labels",
    "labels_on_pet_grid": ".labels",
    "load_label_map": ".labels",
    "merge_labels": ".labels",
    "to_immunopet_organs": ".labels",
    "LesionSet": ".lesions",
    "equivalent_diameter_mm": ".lesions",
    "lesions_from_labels": ".lesions",
    "lesions_from_mask": ".lesions",
    "parse_method": ".lesions",
    "segment_lesions": ".lesions",
    "PartialVolumeLabels": ".partial_volume",
    "fractional_occupancy": ".partial_volume",
    "RigidRegistration": ".registration",
    "carry_lesions": ".registration",
    "match_lesions": ".registration",
    "register_rigid": ".registration",
    "TOTALSEGMENTATOR_TO_IMMUNOPET": ".totalsegmentator",
    "TOTALSEGMENTATOR_V2_TOTAL": ".totalsegmentator",
    "label_names_from": ".totalsegmentator",
    "read_label_names_json": ".totalsegmentator",
}
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
