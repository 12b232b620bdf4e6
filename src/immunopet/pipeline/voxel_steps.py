"""The per-subject voxel-dosimetry steps (engine adapters of :mod:`immunopet.workflow.voxel`).

``voxel_doses`` stores, per subject, a :class:`~.store.Bundle`:

* arrays ``dose_gy_<nuclide>`` (float32, Gy for the administered activity), where the TIA fit
  gives one ``dose_sd_gy_<nuclide>`` and ``dose_sd_bound_gy_<nuclide>`` (the uncorrelated and
  fully correlated limits, :mod:`immunopet.dosimetry.voxel.uncertainty`), and the label maps
  ``labels_organ`` / ``labels_lesion`` (int32) on the dose grid;
* meta: the grid, the PET frame of reference, ``label_names`` by kind, ``nuclides``, the
  PET ``reference`` (source, series UID, patient id) and ``administered_mbq``;
* its table: the dose statistics (``tables/voxel_doses``).

``voxel_dvh`` turns a bundle into the tidy cumulative DVHs (``tables/voxel_dvh``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .store import Bundle, covers

__all__ = ["DVH_BINS", "bundle_volume", "subject_voxel_doses", "subject_voxel_dvh"]

#: Dose levels of a stored DVH (0 … the region kind's maximum): 101 levels of 1 % of the range.
DVH_BINS = 100


@covers(
    "immunopet.workflow.voxel", "immunopet.workflow.scan", "immunopet.dosimetry.voxel.uncertainty"
)
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
    scans = [ScanInput.model_validate(s) for s in options["scans"]]
    result = voxel_doses(
        scans,
        VoxelDoseOptions.model_validate(options["voxel"]),
        reference=reference,
        reference_scan=None if ref_scan is None else ScanInput.model_validate(ref_scan),
    )
    first = next(iter(result.maps_gy.values()))
    arrays = {
        f"dose_gy_{name}": np.asarray(v.array, np.float32) for name, v in result.maps_gy.items()
    }
    for name, u in result.uncertainty.items():
        arrays[f"dose_sd_gy_{name}"] = np.asarray(u.sd_uncorrelated_gy.array, np.float32)
        arrays[f"dose_sd_bound_gy_{name}"] = np.asarray(u.sd_correlated_gy.array, np.float32)
    for kind, (volume, _names) in result.labels.items():
        arrays[f"labels_{kind}"] = np.asarray(volume.array, np.int32)
    table = result.table
    mbq = float(table["administered_mbq"].iloc[0]) if len(table) else None
    meta = {
        "subject": scans[0].subject,
        "spacing_mm": list(first.spacing_mm),
        "origin_mm": list(first.origin_mm),
        "direction": list(first.direction),
        "frame_of_reference_uid": first.frame_of_reference_uid,
        "nuclides": list(result.maps_gy),
        "label_names": {
            k: {str(i): n for i, n in names.items()} for k, (_v, names) in result.labels.items()
        },  # fmt: skip
        "reference": dict(result.reference),
        "administered_mbq": mbq,
    }
    return Bundle(arrays=arrays, table=table, meta=meta)


def bundle_volume(bundle: Bundle, name: str, unit: str = "Gy"):  # type: ignore[no-untyped-def]
    """The array ``name`` of a ``voxel_doses`` bundle as a Volume on its grid."""
    from ..core.volume import Volume

    m = bundle.meta
    return Volume(
        array=np.asarray(bundle.arrays[name]),
        spacing_mm=tuple(m["spacing_mm"]),
        origin_mm=tuple(m["origin_mm"]),
        direction=tuple(m["direction"]),
        unit=unit,
        frame_of_reference_uid=m.get("frame_of_reference_uid"),
    )


@covers("immunopet.dosimetry.voxel.dvh")
def subject_voxel_dvh(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Cumulative DVHs (ICRU 83) of each organ and lesion, per nuclide, from the dose bundle.

    Columns ``subject, region, region_kind, nuclide, dose_gy, volume_fraction,
    administered_mbq``; organs and lesions each on their own dose levels (0 … the kind's
    maximum, :data:`DVH_BINS` steps), so lesion doses do not coarsen the organ curves.
    """
    from ..dosimetry.voxel import dvh_table

    bundle = upstream[options["voxel_task"]]
    meta = bundle.meta
    parts = []
    for nuclide in meta.get("nuclides", []):
        dose = bundle_volume(bundle, f"dose_gy_{nuclide}")
        for kind, names in meta.get("label_names", {}).items():
            labels = bundle_volume(bundle, f"labels_{kind}", unit="")
            table = dvh_table(dose, labels, {int(k): v for k, v in names.items()},
                              subject=meta.get("subject", ""), region_kind=kind,
                              n_bins=int(options.get("n_bins", DVH_BINS)))  # fmt: skip
            parts.append(table.assign(nuclide=nuclide, administered_mbq=meta["administered_mbq"]))
    if not parts:
        return pd.DataFrame(columns=["subject", "region", "region_kind", "nuclide", "dose_gy",
                                     "volume_fraction", "administered_mbq"])  # fmt: skip
    return pd.concat(parts, ignore_index=True)
