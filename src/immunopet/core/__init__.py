"""The core records every other layer builds on, and nothing else.

* :mod:`.volume` — :class:`Volume`: voxels + geometry + unit, read-only.
* :mod:`.scan` — :class:`Acquisition` (times, doses, nuclide, patient) and :class:`Scan`.
* :mod:`.nuclides` — :class:`Nuclide`: ICRP-107 half-lives, decay, emission spectra.
* :mod:`.timepoints` — nominal time labels (``"24h"``) in hours.
* :mod:`.schema` — region kinds, metric names and table columns (enums).
* :mod:`.organs` — the one organ vocabulary (TotalSegmentator, phantom, OLINDA names).
* :mod:`.errors` — the one exception hierarchy (:class:`ImmunopetError` …) and the warning class.
* :mod:`.version` — ``__version__``.

``core`` imports nothing from the rest of immunopet (see ``ARCHITECTURE.md``).
"""

from __future__ import annotations

from .errors import (
    FitError,
    ImmunopetError,
    ImmunopetWarning,
    InputError,
    PhysicsError,
    StudyError,
)
from .nuclides import Nuclide, decay_factor
from .scan import Acquisition, Scan
from .version import __version__
from .volume import Volume

__all__ = [
    "Acquisition",
    "FitError",
    "ImmunopetError",
    "ImmunopetWarning",
    "InputError",
    "Nuclide",
    "PhysicsError",
    "Scan",
    "StudyError",
    "Volume",
    "__version__",
    "decay_factor",
]
