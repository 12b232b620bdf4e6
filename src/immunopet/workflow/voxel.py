"""The per-subject voxel dosimetry recipe: aligned activity maps → TIA maps → dose maps → DVHs.

For the subject's TAC scans (the imaging nuclide), in time order:

1. the activity at scan time (Bq/mL, :func:`immunopet.quant.activity_concentration_at_scan_bq_per_ml`)
   of every scan on the first scan's grid — directly when they share its frame of
   reference and grid, else by rigid CT→CT registration with activity conserved
   (:func:`immunopet.dosimetry.voxel.align_time_series`);
2. the voxel TIA map (:func:`~immunopet.dosimetry.voxel.voxel_tia`), and for each therapy
   nuclide the predicted map (:func:`~immunopet.dosimetry.voxel.predict_therapy_tia`:
   decay-corrected to the biological curve, the therapy nuclide's decay re-applied);
3. the dose map in Gy (:func:`~immunopet.dosimetry.voxel.voxel_dose` with the nuclide's
   dose voxel kernel in soft tissue) for the administered activity;
4. dose statistics (mean, max, D2/D50/D98) of every organ and of the reference lesions
   carried onto the first scan (:func:`~immunopet.dosimetry.voxel.dose_volume_table`);
5. where the TIA fit gives a per-voxel SD (``tia_model: mono``, ≥ 3 scans), the dose SD maps
   (:func:`~immunopet.dosimetry.voxel.uncertainty.dose_uncertainty`) and each region's median
   relative SD in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.volume import Volume
from ..dosimetry.voxel.uncertainty import DoseUncertainty
from ..regions.lesions import LesionSet
from ..study import VoxelDoseOptions
from .scan import ScanInput, _carried_lesions, load_study_scan, organ_labels

__all__ = ["VoxelDoses", "subject_voxel_doses"]


@dataclass(frozen=True)
class VoxelDoses:
    """Dose maps (Gy, for the administered activity) by nuclide, and their DVH statistics.

    A predicted therapy nuclide's map is for the same administered activity as the
    imaging (``administered_mbq`` in the table): scale linearly for another.
    """

    maps_gy: dict[str, Volume]
    table: pd.DataFrame
    #: ``{"organ"|"lesion": (label map on the dose grid, {label: name})}``.
    labels: dict[str, tuple[Volume, dict[int, str]]] = field(default_factory=dict)
    #: Dose SD limits by nuclide, where the TIA fit gives an SD (see step 5).
    uncertainty: dict[str, DoseUncertainty] = field(default_factory=dict)
    #: The PET the maps are on: ``source`` (file/folder), ``series_instance_uid``, ``patient_id``.
    reference: dict[str, str | None] = field(default_factory=dict)


def _kernel_info(kernel: object) -> dict[str, float]:
    """The kernel grid's half extent (mm, smallest axis) and the energy it lets escape."""
    if kernel is None:
        return {"kernel_half_extent_mm": float("nan"), "kernel_escaped_fraction": float("nan")}
    shape = np.asarray(kernel.array_mgy_per_mbq_s).shape[::-1]  # type: ignore[attr-defined]
    half = min(n // 2 * a for n, a in zip(shape, kernel.voxel_mm, strict=True))  # type: ignore[attr-defined]
    escaped = float(getattr(kernel, "escaped_energy_fraction", float("nan")))
    return {"kernel_half_extent_mm": float(half), "kernel_escaped_fraction": escaped}


def _hours_after_injection(scan) -> float:  # type: ignore[no-untyped-def]
    acq = scan.acquisition
    return (acq.scan_start_datetime - acq.injection_datetime).total_seconds() / 3600.0


def _aligned(scans: list) -> list[Volume]:  # type: ignore[type-arg]
    """Activity at scan time (Bq/mL) of every scan on the first scan's grid."""
    from ..dosimetry.voxel import align_time_series
    from ..quant import activity_concentration_at_scan_bq_per_ml

    maps = [activity_concentration_at_scan_bq_per_ml(s) for s in scans]
    ref = maps[0]
    if all(m.shape == ref.shape and m.same_grid(ref, tol_mm=1e-2) for m in maps):
        return maps
    if any(s.ct is None for s in scans):
        raise InputError(
            "the scans of a subject are on different grids and a CT is missing to register "
            "them for voxel dosimetry; give `ct:` for every scan",
            file=scans[0].acquisition.source,
        )
    return list(align_time_series([s.ct for s in scans], maps).activity)


def subject_voxel_doses(
    scans: Sequence[ScanInput],
    options: VoxelDoseOptions,
    *,
    reference: LesionSet | None = None,
    reference_scan: ScanInput | None = None,
) -> VoxelDoses:
    """Voxel dose maps and DVH statistics of one subject (see the module docstring)."""
    from ..dosimetry.voxel import (
        dose_method,
        dose_uncertainty,
        dose_volume_table,
        kernel_for,
        predict_therapy_tia,
        voxel_dose,
        voxel_tia,
    )
    from ..dosimetry.voxel.uncertainty import relative_sd_table
    from ..quant import suv_volume

    loaded = sorted((load_study_scan(si) for si in scans), key=_hours_after_injection)
    if len(loaded) < 2:
        raise InputError("voxel dosimetry needs at least two time points", field="scans")
    first = loaded[0]
    nuclide = first.acquisition.nuclide
    injected_mbq = float(first.acquisition.injected_activity_bq) / 1e6
    maps = _aligned(loaded)
    times = [_hours_after_injection(s) for s in loaded]
    tias = {nuclide.name: voxel_tia(maps, times, nuclide, method=options.tia_model,
                                    tail=options.tail)}  # fmt: skip
    for therapy in options.therapy_nuclides:
        # The same administered activity as the imaging (activity_ratio 1): doses per MBq
        # of either nuclide follow from the table's administered_mbq.
        predicted = predict_therapy_tia(maps, times, nuclide, therapy, method=options.tia_model,
                                        tail=options.tail)  # fmt: skip
        tias[predicted.nuclide] = predicted
    organs = organ_labels(scans[0], first.pet)
    lesions = None
    if reference is not None and len(reference.table):
        suv = suv_volume(first, "bw")
        lesions = _carried_lesions(first, suv, reference, reference_scan, scans[0].path)
    label_maps = {kind: (lm.volume, dict(lm.names))
                  for lm, kind in ((organs, "organ"), (lesions, "lesion")) if lm is not None}  # fmt: skip
    doses, sds, rows = {}, {}, []
    for name, result in tias.items():
        tia = result.tia
        uses_kernel = dose_method(options.method).uses_kernel
        kernel = kernel_for(name, tia.spacing_mm) if uses_kernel else None
        dose_gy = voxel_dose(tia, kernel, method=options.method, nuclide=name, ct=first.ct,
                             n_histories=options.histories)  # fmt: skip
        doses[name] = dose_gy
        fit_sd = result.tia_sd is not None and np.isfinite(np.asarray(result.tia_sd.array)).any()
        if fit_sd and options.method != "mc":  # mc: the fit SD through a kernel it has none of
            sds[name] = dose_uncertainty(result.tia_sd, kernel, method=options.method,
                                         nuclide=name, ct=first.ct)  # fmt: skip
        for kind, (volume, names) in label_maps.items():
            parts = [dose_volume_table(dose_gy, volume, names, subject=scans[0].subject,
                                       region_kind=kind)]  # fmt: skip
            if name in sds:
                parts.append(relative_sd_table(dose_gy, sds[name], volume, names,
                                               subject=scans[0].subject, region_kind=kind))  # fmt: skip
            rows += [t.assign(nuclide=name, method=options.method, administered_mbq=injected_mbq,
                              tia_model=options.tia_model, tail=options.tail,
                              tia_tail_fraction=result.tail_fraction, **_kernel_info(kernel))
                     for t in parts]  # fmt: skip
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    acq = first.acquisition
    reference = {"source": acq.source, "series_instance_uid": acq.series_instance_uid,
                 "patient_id": acq.patient_id}  # fmt: skip
    return VoxelDoses(doses, table, label_maps, sds, reference)
