"""The study file: the pydantic model (the one source of defaults) and its YAML loader.

* :mod:`.model` — :class:`Study`: subjects, scans, lesion truth, the preclinical arm.
* :mod:`.options` — the analysis options (the one source of defaults).
* nominal time labels in hours: :func:`parse_time_label_h` (:mod:`immunopet.core.timepoints`).
* :mod:`.loader` — :func:`load_study`: YAML with line numbers, schema, then semantics.
"""

from __future__ import annotations

from ..core.timepoints import parse_time_label_h
from .loader import StudyFileError
from .model import (
    LesionTruth,
    PreclinicalAnimal,
    PreclinicalArm,
    PreclinicalGroup,
    PreclinicalUptake,
    ScanEntry,
    Study,
    Subject,
    load_study,
)
from .options import (
    AnalysisOptions,
    Arm,
    Comparison,
    Cutoff,
    DetectionOptions,
    DosimetryOptions,
    ExecutionOptions,
    KineticsOptions,
    LesionOptions,
    StatisticsOptions,
    VoxelDoseOptions,
)

__all__ = [
    "AnalysisOptions",
    "Arm",
    "Comparison",
    "Cutoff",
    "DetectionOptions",
    "DosimetryOptions",
    "ExecutionOptions",
    "KineticsOptions",
    "LesionOptions",
    "LesionTruth",
    "PreclinicalAnimal",
    "PreclinicalArm",
    "PreclinicalGroup",
    "PreclinicalUptake",
    "ScanEntry",
    "StatisticsOptions",
    "Study",
    "StudyFileError",
    "Subject",
    "VoxelDoseOptions",
    "load_study",
    "parse_time_label_h",
]
