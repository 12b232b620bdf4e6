"""Measurements on images: one pass over the voxels, every region at once.

* :mod:`.table` — :func:`measure`: a scan + label maps → the tidy measurement table
  (definitions of every metric in its docstring).
* :mod:`.region_statistics` — the one-pass numba accumulator behind it.
* :mod:`.suv_peak` — SUVpeak (PERCIST 1 cm³ sphere).
* :mod:`.projection` — maximum-intensity projections as arrays (the report draws them).
* :mod:`.lesion_core` — lesion cores (``suv_max_core``) and background shells.
* :mod:`.lesion_metrics` — MTV, TLG/TLU, SUVpeak centred on the maximum.
* :mod:`.radiomics` — optional IBSI radiomic features of lesion VOIs via ``mirp``.
"""

from __future__ import annotations

from .lesion_core import LESION_CORE_MM, MIN_CORE_VOXELS, lesion_background_suv, lesion_core_labels
from .lesion_metrics import LESION_METRIC_LABELS, LESION_METRICS, LesionMetrics, lesion_metrics
from .projection import MipArrays, mip_arrays
from .radiomics import ibsi_features
from .region_statistics import RegionStatistics, region_statistics
from .suv_peak import SUV_PEAK_RADIUS_MM, sphere_offsets, suv_peak_map
from .table import BACKGROUND_SHELL_MM, TABLE_COLUMNS, measure

__all__ = [
    "BACKGROUND_SHELL_MM",
    "LESION_CORE_MM",
    "LESION_METRICS",
    "LESION_METRIC_LABELS",
    "MIN_CORE_VOXELS",
    "MipArrays",
    "SUV_PEAK_RADIUS_MM",
    "TABLE_COLUMNS",
    "LesionMetrics",
    "RegionStatistics",
    "ibsi_features",
    "lesion_background_suv",
    "lesion_core_labels",
    "lesion_metrics",
    "measure",
    "mip_arrays",
    "region_statistics",
    "sphere_offsets",
    "suv_peak_map",
]
