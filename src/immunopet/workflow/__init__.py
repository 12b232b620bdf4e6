"""The analysis recipe, typed in and out: per scan, per subject, per cohort.

``immunopet run`` (:mod:`immunopet.pipeline`) runs these functions as cached
tasks; each single-step command (``immunopet lesions|measure|tac|dose``) calls the
same one, with ``--study`` taking the study file's options. Policies (the lesion
search rules, the dose-source set) are named objects built from the study model.

=====================  =============================================================
per scan               :func:`find_lesions`, :func:`measure_scan` (:mod:`.scan`)
per subject            :func:`integrate` → :class:`TiaTable`, :func:`organ_doses` →
                       :class:`DoseTable` (:mod:`.subject`)
per cohort             :func:`cohort_statistics` → :class:`StatisticsTable` (:mod:`.cohort`)
=====================  =============================================================
"""

from __future__ import annotations

from .cohort import cohort_statistics
from .scan import (
    ScanInput,
    find_lesions,
    lesion_policy,
    load_study_scan,
    match_truth,
    measure_scan,
    organ_labels,
    scan_input,
    select_scan,
    tac_tracer,
)
from .subject import check_tia_nuclide, integrate, organ_doses, phantom_sources
from .tables import (
    DoseTable,
    MeasurementTable,
    StatisticsTable,
    TiaTable,
    nuclide_from_tracer,
    read_table,
)

__all__ = [
    "DoseTable",
    "MeasurementTable",
    "ScanInput",
    "StatisticsTable",
    "TiaTable",
    "check_tia_nuclide",
    "cohort_statistics",
    "find_lesions",
    "integrate",
    "lesion_policy",
    "load_study_scan",
    "match_truth",
    "measure_scan",
    "nuclide_from_tracer",
    "organ_doses",
    "organ_labels",
    "phantom_sources",
    "read_table",
    "scan_input",
    "select_scan",
    "tac_tracer",
]
