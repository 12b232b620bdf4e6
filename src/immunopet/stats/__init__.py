"""Statistics of a study: descriptive, group comparisons, detection, ROC.

Pure functions on numpy arrays and tidy DataFrames; results are small frozen
dataclasses. Every spread is named (SD or SEM), every test two-tailed, every
method cites its source in its module:

* :mod:`.descriptive` — n, mean, SD (ddof = 1), SEM, median, range; p-value text;
* :mod:`.compare` — Student's / Welch's t (raw or from mean, SD/SEM, n), paired t,
  Wilcoxon signed-rank, Mann–Whitney U;
* :mod:`.detection` — detection rule, sensitivity per time point, Wilson CIs;
* :mod:`.roc` — AUC (Mann–Whitney) with DeLong / Hanley–McNeil CI, Youden cutoff,
  sensitivity / specificity at a cutoff;
* :mod:`.groups` — per-time-point tests of the preclinical arm;
* :mod:`.lesions` — the wide lesion table and nominal time points;
* :mod:`.arms` — comparison arms (tracer · time point · group) and statistics-table rows;
* :mod:`.cohort` — the study's statistics table (lesion-level, as the reference study);
* :mod:`.clustering` — lesions nested in patients: ICC, design effect, cluster bootstrap;
* :mod:`.clustered` — clustered proportions (detection, sensitivity/specificity): Rao–Scott,
  Obuchowski 1998, patient-cluster bootstrap;
* :mod:`.roc_clustered` — ROC AUC with Obuchowski's (1997) clustered variance;
* :mod:`.gee` — group differences by GEE, mixed model and patient-level means;
* :mod:`.clustered_table` — the clustered statistics table (``tables/statistics.parquet``).
"""

from __future__ import annotations

from .clustered import (
    ClusteredProportion,
    clustered_cutoff,
    clustered_detection,
    clustered_proportion,
)
from .clustered_table import clustered_study_statistics, clustering_sentence, statistics_table
from .clustering import (
    CLUSTERED_STATISTICS_COLUMNS,
    CLUSTERED_VS_NAIVE,
    StatisticsMethod,
    design_effect_from_icc,
    icc_anova,
)
from .cohort import STATISTICS_COLUMNS, study_statistics
from .compare import (
    TestResult,
    mann_whitney,
    paired_t_test,
    run_test,
    student_t_test,
    t_test_from_summary,
    welch_t_test,
    wilcoxon_signed_rank,
)
from .descriptive import Summary, describe, format_p, sd_from_sem
from .detection import DetectionRule, Proportion, detected, detection_sensitivity, wilson_interval
from .gee import (
    GroupDifference,
    gee_difference,
    gee_group_comparison,
    mixed_model_difference,
    patient_level_difference,
    patient_summary,
)
from .groups import per_time_point_tests, tumour_to_muscle
from .lesions import lesion_table, nominal_time_points
from .roc import CutoffResult, RocResult, roc_analysis, roc_auc, sensitivity_specificity
from .roc_clustered import ClusteredAuc, clustered_auc, clustered_roc

__all__ = [
    "CLUSTERED_STATISTICS_COLUMNS",
    "CLUSTERED_VS_NAIVE",
    "STATISTICS_COLUMNS",
    "ClusteredAuc",
    "ClusteredProportion",
    "GroupDifference",
    "StatisticsMethod",
    "clustered_auc",
    "clustered_cutoff",
    "clustered_detection",
    "clustered_proportion",
    "clustered_roc",
    "clustered_study_statistics",
    "clustering_sentence",
    "design_effect_from_icc",
    "gee_difference",
    "gee_group_comparison",
    "icc_anova",
    "mixed_model_difference",
    "patient_level_difference",
    "patient_summary",
    "statistics_table",
    "CutoffResult",
    "DetectionRule",
    "Proportion",
    "RocResult",
    "Summary",
    "TestResult",
    "describe",
    "detected",
    "detection_sensitivity",
    "format_p",
    "lesion_table",
    "mann_whitney",
    "nominal_time_points",
    "paired_t_test",
    "per_time_point_tests",
    "roc_analysis",
    "roc_auc",
    "run_test",
    "sd_from_sem",
    "sensitivity_specificity",
    "student_t_test",
    "study_statistics",
    "t_test_from_summary",
    "tumour_to_muscle",
    "welch_t_test",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
