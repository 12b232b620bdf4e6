"""The simulated trial written as a PET-BIDS dataset (``immunopet demo --bids``).

The twin's DICOM headers hold what a scanner writes of the acquisition (times,
activity, units, decay correction, frame duration) but no reconstruction
attributes, since no reconstruction took place: the image model of
:mod:`immunopet.simulate.imaging` stands for it. Those REQUIRED PET-BIDS keys are
therefore stated here, describing that model truthfully.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .imaging import PetSystem

__all__ = ["TWIN_SIDECAR", "write_twin_bids"]

#: PET-BIDS keys the twin's DICOM headers cannot hold (see the module docstring).
TWIN_SIDECAR: dict[str, Any] = {
    "ManufacturersModelName": "immunopet digital twin",
    "ModeOfAdministration": "bolus",  # a single intravenous injection (simulate.cohort)
    "AcquisitionMode": "static",  # one frame per bed position, no list mode
    "ReconMethodName": "analytic image model (no reconstruction)",
    "ReconFilterType": "Gaussian",
    "ReconFilterSize": PetSystem().scanner_fwhm_mm,
    "AttenuationCorrection": "ideal (simulated activity concentration)",
}


def write_twin_bids(demo_dir: str | Path, bids_root: str | Path) -> Path:
    """Write the simulated study of ``demo_dir`` (its ``study.yaml``) as PET-BIDS in ``bids_root``."""
    from ..study import load_study
    from ..study.bids import export_study_bids

    study = load_study(Path(demo_dir) / "study.yaml")
    return export_study_bids(study, bids_root, overrides=TWIN_SIDECAR)
