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
from .core.lazy import lazy_exports
from .core.nuclides import Nuclide, decay_factor
from .core.scan import Acquisition, Scan
from .core.version import __version__
from .core.volume import Volume

#: Re-exported names of the science and study layers → the module that defines them,
#: imported on first use (PEP 562 module ``__getattr__``): ``immunopet --help`` and each
#: command load only what they use.
_LAZY = {
    "organ_doses": "immunopet.dosimetry.organ_dose",
    "load_scan": "immunopet.io",
    "load_volume": "immunopet.io",
    "fit_tac": "immunopet.kinetics",
    "measure": "immunopet.measure",
    "run_study": "immunopet.pipeline",
    "suv_volume": "immunopet.quant",
    "Study": "immunopet.study",
    "load_study": "immunopet.study",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, eager=[n for n in __all__ if n not in _LAZY])
