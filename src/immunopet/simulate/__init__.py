"""The built-in demo: a digital twin of the reference 124I-trastuzumab trial.

:func:`simulate_trial` writes DICOM PET/CT, organ label maps, ``study.yaml``,
a hidden ``truth.json`` and the micro-PET arm as images (``mouse``,
``micropet_arm``); :func:`build_cohort` gives
the population alone. See ``cohort``, ``biodistribution``, ``imaging``,
``anatomy``, ``preclinical`` for the models and their sources.
"""

from __future__ import annotations

from .cohort import Cohort, LesionSpec, SubjectSpec, build_cohort
from .imaging import PetSystem, recovery_coefficient_sphere
from .trial import SimulatedTrial, simulate_trial, study_dict

__all__ = [
    "Cohort",
    "LesionSpec",
    "PetSystem",
    "SimulatedTrial",
    "SubjectSpec",
    "build_cohort",
    "recovery_coefficient_sphere",
    "simulate_trial",
    "study_dict",
]
