"""The per-subject voxel-dosimetry step (engine adapter of :mod:`immunopet.workflow.voxel`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .store import Bundle, covers

__all__ = ["subject_voxel_doses"]


@covers("immunopet.workflow.voxel", "immunopet.workflow.scan")
def subject_voxel_doses(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> Bundle:
    """Dose maps (Gy) of the subject's TAC scans and the DVH statistics of organs and lesions."""
    from ..study import VoxelDoseOptions
    from ..workflow import ScanInput
    from ..workflow.voxel import subject_voxel_doses as voxel_doses
    from .steps import _lesion_set

    ref_task = options.get("lesion_task")
    reference = None
    if ref_task and ref_task in upstream and len(upstream[ref_task].table):
        reference = _lesion_set(upstream[ref_task])
    ref_scan = options.get("reference_scan")
    result = voxel_doses(
        [ScanInput.model_validate(s) for s in options["scans"]],
        VoxelDoseOptions.model_validate(options["voxel"]),
        reference=reference,
        reference_scan=None if ref_scan is None else ScanInput.model_validate(ref_scan),
    )
    first = next(iter(result.maps_gy.values()))
    arrays = {
        f"dose_gy_{name}": np.asarray(v.array, np.float32) for name, v in result.maps_gy.items()
    }
    meta = {
        "spacing_mm": list(first.spacing_mm),
        "origin_mm": list(first.origin_mm),
        "direction": list(first.direction),
        "frame_of_reference_uid": first.frame_of_reference_uid,
    }
    return Bundle(arrays=arrays, table=result.table, meta=meta)
