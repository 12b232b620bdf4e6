"""Voxel dosimetry: aligned time series → TIA maps → dose maps → DVHs (issue 14).

Public API::

    align_time_series(cts, activity, method="rigid"|"deformable", labels=None) -> AlignedSeries
    resample_activity(activity, reference, transform) -> (Volume, factor)   # activity conserved
    voxel_tia(activity, time_h, nuclide, method="trapezoid"|"mono", mask=...) -> VoxelTiaResult
    predict_therapy_tia(activity, time_h, imaging, therapy, ...) -> VoxelTiaResult
    voxel_dose(tia, kernel, method="dvk"|"local"|"dvk-density"|"mc", ct=...) -> Volume (Gy)
    monte_carlo_dose(tia, nuclide, ct=..., n_histories=...) -> MonteCarloDose (+ photon SD)
    dose_volume_table(dose, labels, names, subject=...) -> DataFrame (tidy: metric, value, unit)
    dvh_table(dose, labels, names) -> DataFrame (cumulative DVHs)
    dose_uncertainty(tia_sd, kernel, method=...) -> DoseUncertainty (SD maps, Gy)
    kernel_for(nuclide, voxel_mm, medium) -> DoseKernel   # from dosimetry.kernels, when present

Write dose maps with :func:`immunopet.io.rt_dose.write_rt_dose` (DICOM RT Dose) or
:func:`immunopet.io.write_nifti`.
"""

from .alignment import AlignedSeries, align_time_series, dice_by_label, resample_activity
from .convolution import ArrayKernel, DoseKernel, clear_kernel_cache, convolve_linear
from .density import MEDIUM_DENSITY_G_CM3, SCHNEIDER_2000_HU_DENSITY, ct_density, hu_to_density
from .dose import (
    DoseMethod,
    LocalEnergy,
    dose_method,
    kernel_for,
    local_deposition_dose,
    voxel_dose,
)
from .dvh import DoseVolumeHistogram, cumulative_dvh, dose_at_volume, dose_volume_table, dvh_table
from .monte_carlo import MonteCarloDose, monte_carlo_dose
from .tia_maps import VoxelTiaMethod, VoxelTiaResult, predict_therapy_tia, voxel_tia
from .uncertainty import DoseUncertainty, dose_uncertainty, relative_sd_table

__all__ = [
    "MEDIUM_DENSITY_G_CM3",
    "SCHNEIDER_2000_HU_DENSITY",
    "AlignedSeries",
    "ArrayKernel",
    "DoseKernel",
    "DoseMethod",
    "DoseUncertainty",
    "DoseVolumeHistogram",
    "LocalEnergy",
    "MonteCarloDose",
    "VoxelTiaMethod",
    "VoxelTiaResult",
    "align_time_series",
    "clear_kernel_cache",
    "convolve_linear",
    "ct_density",
    "cumulative_dvh",
    "dice_by_label",
    "dose_method",
    "dose_at_volume",
    "dose_uncertainty",
    "dose_volume_table",
    "dvh_table",
    "hu_to_density",
    "kernel_for",
    "local_deposition_dose",
    "monte_carlo_dose",
    "predict_therapy_tia",
    "relative_sd_table",
    "resample_activity",
    "voxel_dose",
    "voxel_tia",
]
