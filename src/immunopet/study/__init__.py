"""The study file: the pydantic model (the one source of defaults) and its YAML loader.

* :mod:`.model` — :class:`Study` and its option models.
* :mod:`.loader` — :func:`load_study`: YAML with line numbers, schema, then semantics.
"""

from __future__ import annotations

from .loader import StudyFileError
from .model import (
    AnalysisOptions,
    Arm,
    Comparison,
    Cutoff,
    DetectionRule,
    DosimetryOptions,
    KineticsOptions,
    LesionOptions,
    LesionTruth,
    PreclinicalAnimal,
    PreclinicalArm,
    PreclinicalGroup,
    PreclinicalUptake,
    ScanEntry,
    StatisticsOptions,
    Study,
    Subject,
    load_study,
    parse_time_label_h,
)

__all__ = [
    "AnalysisOptions",
    "Arm",
    "Comparison",
    "Cutoff",
    "DetectionRule",
    "DosimetryOptions",
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
    "load_study",
    "parse_time_label_h",
]
