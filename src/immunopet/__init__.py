"""immunopet — quantitative immuno-PET from scanner images to the numbers of a paper.

Research use only: dose-calculation software can be a regulated medical device.

The few names a user types are re-exported here; everything else lives in the
module named after its domain noun (``immunopet.quant`` computes SUV,
``immunopet.kinetics`` fits time-activity curves, …).
"""

from __future__ import annotations

from .core.errors import (
    FitError,
    ImmunopetError,
    ImmunopetWarning,
    InputError,
    PhysicsError,
    StudyError,
)
from .core.nuclides import Nuclide, decay_factor
from .core.scan import Acquisition, Scan
from .core.version import __version__
from .core.volume import Volume
from .dosimetry.organ_dose import organ_doses
from .io import load_scan, load_volume
from .kinetics import fit_tac
from .measure import measure
from .pipeline import run_study
from .quant import suv_volume
from .study import Study, load_study

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
