"""immunopet — quantitative immuno-PET from scanner images to the numbers of a paper.

Research use only: dose-calculation software can be a regulated medical device.

The few names a user types are re-exported here; everything else lives in the
module named after its domain noun (``immunopet.quant`` computes SUV,
``immunopet.kinetics`` fits time-activity curves, …).
"""

from __future__ import annotations

from .dosimetry.organ_dose import organ_doses
from .errors import (
    FitError,
    ImmunopetError,
    ImmunopetWarning,
    InputError,
    PhysicsError,
    StudyError,
)
from .io import load_scan, load_volume
from .kinetics import fit_tac
from .measure import measure
from .nuclides import Nuclide, decay_factor
from .pipeline import run_study
from .quant import suv_volume
from .scan import Acquisition, Scan
from .study import Study, load_study
from .volume import Volume

__version__ = "0.1.0"

__all__ = [
    "Acquisition",
    "FitError",
    "ImmunopetError",
    "ImmunopetWarning",
    "InputError",
    "Nuclide",
    "PhysicsError",
    "Scan",
    "Study",
    "StudyError",
    "Volume",
    "__version__",
    "decay_factor",
    "fit_tac",
    "load_scan",
    "load_study",
    "load_volume",
    "measure",
    "organ_doses",
    "run_study",
    "suv_volume",
]
