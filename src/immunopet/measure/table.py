"""Region statistics in one pass: SUVmax / mean / peak / SD, volume, activity, %IA, TNR.

Every region of a label map is measured together in a single sweep over the
voxels (a numba-compiled loop accumulating count, sum, sum of squares and
maxima of every label at once, like :func:`numpy.bincount` does for one
sum) — no Python loop over labels, and a cost independent of their number.

Definitions (stated once, used everywhere)
------------------------------------------
* ``suv_max``, ``suv_mean``, ``suv_sd`` — of the voxel SUVs in the region;
  SD is the population SD (ddof = 0, as PyRadiomics' first-order
  StandardDeviation).
* ``suv_peak`` — PERCIST 1.0 (Wahl et al., J Nucl Med 2009;50:122S–150S):
  the highest mean SUV in a 1 cm³ sphere (radius 6.2 mm) centred on a voxel of
  the region. The sphere holds the voxels whose centres lie within 6.2 mm of
  the centre voxel's centre; near the image edge the mean is over the sphere
  voxels inside the image. See :func:`suv_peak_map`.
* ``activity_bq`` — activity in the region at the scan start:
  Σ concentration_at_scan (Bq/mL) × voxel volume (mL).
* ``activity_decay_corrected_bq`` — the same decay-corrected to the injection time.
* ``percent_ia`` — 100 × ``activity_bq`` / injected activity: the fraction of the
  administered activity *present* in the region at scan time (the quantity
  integrated for dosimetry; MIRD Pamphlet 21 "fraction of administered activity").
* ``percent_id_per_g`` — 100 × ``activity_decay_corrected_bq`` / (injected activity
  × mass), mass = volume × 1 g/mL (unit tissue density assumed); decay-corrected
  to injection like SUV, as the biodistribution literature reports it.
* With partial-volume labels (:func:`~immunopet.regions.fractional_occupancy`),
  ``suv_mean``, ``suv_sd``, ``volume_ml`` and activities are occupancy-weighted
  and ``voxels`` is the summed occupancy; ``suv_max``/``suv_peak`` consider the
  voxels at least half inside the region.
* ``tnr_<ref>`` — for lesion rows only: lesion SUVmax / SUVmean of the reference
  region ``<ref>`` (e.g. ``tnr_muscle``, ``tnr_liver``, ``tnr_blood``), the
  tumour-to-normal ratio the reference study reports for muscle.
* ``tnr_background`` — for lesion rows of a (whole-voxel) lesion label map:
  lesion SUVmax / SUVmean of its local background shell, the voxels whose
  centres lie 5–15 mm (:data:`BACKGROUND_SHELL_MM`, Euclidean distance
  transform on the PET grid) from the nearest lesion voxel. Shell voxels
  belong to the lesion they are nearest to, and no voxel of any lesion of
  the map is background (lesion-to-background ratio after the shell
  background of Nestle et al., J Nucl Med 2005;46:1342; the default
  detection metric of :mod:`immunopet.stats.detection`). ``background_suv_mean``
  is that shell's SUVmean itself, for ratios of other lesion metrics (e.g. the
  lesion-to-background ratio of a detection rule on ``suv_max_core``).
* ``suv_max_core`` — for lesion rows of a lesion label map: SUVmax over the
  lesion's *core*, the voxels whose centres lie more than ``lesion_core_mm``
  (default :data:`LESION_CORE_MM`, about one FWHM of a clinical ¹²⁴I PET) from
  the centre of the nearest voxel outside the lesion (Euclidean distance
  transform on the PET grid, per lesion); a lesion too small to have enough
  such voxels keeps its innermost ones (at least :data:`MIN_CORE_VOXELS`).
  A VOI drawn on the FDG scan and carried to another scan has its border
  where the neighbour's uptake spills in: a photopenic metastasis in a warm
  liver would otherwise show the liver's SUV as its SUVmax. Leaving out the
  border layer is the usual remedy of a reader who draws the ROI "inside the
  lesion" (partial-volume spill-in: Soret, Bacharach & Buvat, J Nucl Med
  2007;48:932).
* ``mtv_ml``, ``tlg_suv_ml``, ``suv_peak_at_max`` — for lesion rows: metabolic
  tumour volume (the lesion VOI, or its voxels ≥ ``mtv_threshold_suv``), total
  lesion glycolysis / uptake (SUVmean × MTV) and the 1 cm³ sphere mean centred
  on the SUVmax voxel (beside PERCIST's ``suv_peak``); defined in
  :mod:`.lesion_metrics`. Partial-volume lesion labels get the occupancy-weighted
  ``volume_ml`` as MTV and no ``suv_peak_at_max``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..core.errors import ImmunopetError, ImmunopetWarning, InputError
from ..core.scan import Scan
from ..core.schema import MEASUREMENT_COLUMNS, RegionKind
from ..core.volume import Volume
from ..regions.labels import LabelMap
from ..regions.lesions import BACKGROUND_SHELL_MM
from ..regions.partial_volume import PartialVolumeLabels
from .lesion_core import LESION_CORE_MM, lesion_background_suv, lesion_core_labels
from .lesion_metrics import lesion_metrics
from .region_statistics import RegionStatistics, region_statistics, whole_image_statistics
from .suv_peak import SUV_PEAK_RADIUS_MM, sphere_offsets, suv_peak_map
from .suv_peak_maxima import suv_peak_maxima

__all__ = [
    "BACKGROUND_SHELL_MM",
    "SUV_PEAK_RADIUS_MM",
    "TABLE_COLUMNS",
    "RegionStatistics",
    "measure",
    "region_statistics",
    "sphere_offsets",
    "suv_peak_map",
]

#: Columns of the tidy measurement table (the one schema: :mod:`immunopet.core.schema`).
TABLE_COLUMNS = MEASUREMENT_COLUMNS


# --- the tidy table --------------------------------------------------------------------
def _suv_and_concentrations(
    scan: Scan,
    suv: Volume | None,
    conc_scan: Volume | None,
    conc_injection: Volume | None,
    suv_kind: str,
) -> tuple[Volume, list[tuple[np.ndarray, float] | None]]:
    """SUV and the activity concentrations (Bq/mL) at scan / injection, via :mod:`immunopet.quant`.

    A concentration not given is the stored PET times a scalar factor; it is
    returned as (stored array, factor) so that the per-region totals are taken
    over the stored pixels and scaled once, instead of building a volume.
    """
    from .. import quant  # lazily: not needed when every volume is given

    if suv is None:
        suv = quant.suv_volume(scan, kind=suv_kind)  # type: ignore[arg-type]
    out: list[tuple[np.ndarray, float] | None] = []
    try:
        for vol, factor in (
            (conc_scan, quant.activity_at_scan_factor),
            (conc_injection, quant.activity_at_injection_factor),
        ):
            if vol is not None:
                out.append((np.asarray(vol.array), 1.0))
            else:
                out.append((scan.pet.array, factor(scan.acquisition)))
    except ImmunopetError as exc:
        warnings.warn(f"activity metrics left NaN: {exc}", ImmunopetWarning, stacklevel=3)
        out += [None] * (2 - len(out))
    for item in out:
        if item is not None and item[0].shape != suv.shape:
            raise InputError("concentration and SUV volumes must share the PET grid")
    return suv, out


def _region_arrays(
    regions: LabelMap | PartialVolumeLabels, suv: Volume
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(labels, voxel_index or None, weights or None) of a label set on the SUV grid."""
    if isinstance(regions, PartialVolumeLabels):
        if regions.grid.shape != suv.shape:
            raise InputError("partial-volume labels are on another grid than the PET")
        return regions.label, regions.voxel_index, regions.fraction
    if regions.volume.shape != suv.shape or not regions.volume.same_grid(suv, tol_mm=1e-2):
        raise InputError(
            "label map is not on the PET grid: use immunopet.regions.labels_on_pet_grid first",
            file=regions.source,
        )
    return regions.array, None, None


def _take(arr: np.ndarray | None, vox_idx: np.ndarray | None) -> np.ndarray | None:
    """Flattened values, or the values at the sparse voxel indices."""
    if arr is None:
        return None
    return arr.ravel() if vox_idx is None else arr.ravel()[vox_idx]


def measure(
    scan: Scan,
    regions: Volume | LabelMap | PartialVolumeLabels | Iterable[LabelMap | PartialVolumeLabels],
    *,
    names: Mapping[int, str] | None = None,
    region_kind: str = "organ",
    references: Sequence[str] = ("muscle", "liver", "blood"),
    suv: Volume | None = None,
    activity_at_scan_bq_per_ml: Volume | None = None,
    activity_at_injection_bq_per_ml: Volume | None = None,
    suv_kind: str = "bw",
    whole_body: bool = True,
    peak: bool = True,
    lesion_core_mm: float = LESION_CORE_MM,
    mtv_threshold_suv: float | None = None,
) -> pd.DataFrame:
    """Measure every region of one scan into the tidy table.

    Parameters
    ----------
    scan
        The scan (its ``acquisition`` gives subject/tracer/time and injected activity).
    regions
        One or more label sets on the PET grid (organ, blood, lesion maps); each
        is measured in one vectorised pass. A bare label :class:`Volume` is
        accepted with ``names`` (``{number: name}``) and ``region_kind``.
    names, region_kind
        Label names and kind when ``regions`` is a bare label volume.
    references
        Reference regions for the lesion tumour-to-normal ratios ``tnr_<ref>``.
    suv, activity_at_scan_bq_per_ml, activity_at_injection_bq_per_ml
        Precomputed volumes; default computed by :mod:`immunopet.quant`.
    suv_kind
        ``"bw"``, ``"sul"`` or ``"bsa"`` when SUV is computed here.
    whole_body
        Add a ``whole_body`` row (the whole PET field of view).
    peak
        Compute SUVpeak and SUVpeak-at-max (the costliest metrics; NaN without).
    lesion_core_mm
        Border layer (mm) left out of each lesion for ``suv_max_core``.
    mtv_threshold_suv
        Lesion MTV / TLG over the VOI voxels with SUV ≥ this value (default: the
        whole VOI, i.e. the threshold of the segmentation that drew it).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`, one row per region × metric.

    Warns
    -----
    ImmunopetWarning
        Empty named regions (their rows hold NaN), missing reference regions.
    """
    suv_vol, concentrations = _suv_and_concentrations(
        scan, suv, activity_at_scan_bq_per_ml, activity_at_injection_bq_per_ml, suv_kind
    )
    conc_arrays = [None if c is None else c[0] for c in concentrations]
    conc_factors = [math.nan if c is None else c[1] for c in concentrations]
    suv_unit = suv_vol.unit or "SUV"
    suv_arr = suv_vol.array  # float32 or float64 as given: statistics accumulate in float64
    voxel_ml = suv_vol.voxel_volume_ml
    acq = scan.acquisition
    injected = acq.injected_activity_bq
    inj = float(injected) if injected else math.nan
    time_h = scan.time_post_injection_h
    if isinstance(regions, Volume):
        if names is None:
            raise InputError("a bare label volume needs names={number: name}", field="names")
        regions = LabelMap(regions, names, region_kind)
    if isinstance(regions, (LabelMap, PartialVolumeLabels)):
        regions = [regions]
    sets = list(regions)
    if whole_body:
        sets.append(
            LabelMap(
                # A read-only broadcast view: the whole image is label 1, no volume is built.
                suv_vol.with_array(np.broadcast_to(np.uint8(1), suv_vol.shape), "label"),
                {1: "whole_body"},
                "whole_body",
            )
        )

    arrays = [_region_arrays(rs, suv_vol) for rs in sets]
    sizes = [max([0, *rs.names]) + 1 for rs in sets]
    peak_arr = None
    peaks: list[np.ndarray | None] = [None] * len(sets)
    if peak and any(idx is not None for _, idx, _ in arrays):
        peak_arr = suv_peak_map(suv_vol)  # partial-volume labels: the map at their voxels
    elif peak:  # whole-voxel label maps: their maxima in one sweep, no map held
        whole = [rs.region_kind == "whole_body" for rs in sets]
        peaks = list(
            suv_peak_maxima(
                suv_vol, [None if w else a[0] for a, w in zip(arrays, whole, strict=True)], sizes
            )
        )
    records: list[tuple[str, str, str, float, str]] = []
    region_stats: dict[str, dict[str, float]] = {}
    empty: list[str] = []
    for rs, (labels, vox_idx, weights), n, set_peak in zip(sets, arrays, sizes, peaks, strict=True):
        if rs.region_kind == "whole_body" and peak_arr is None:
            st = whole_image_statistics(suv_arr, totals=conc_arrays)
            lab = None
        else:
            lab = np.asarray(labels).ravel()
            if lab.size and int(lab.max()) >= n:
                lab = np.where(lab < n, lab, 0)
            st = region_statistics(
                _take(suv_arr, vox_idx),
                lab,
                n,
                weights=weights,
                peak=_take(peak_arr, vox_idx),
                totals=tuple(_take(c, vox_idx) for c in conc_arrays),
            )
        if set_peak is not None:
            st = replace(st, peak=set_peak)
        act = st.extra_totals[0] * (conc_factors[0] * voxel_ml)
        act_dc = st.extra_totals[1] * (conc_factors[1] * voxel_ml)
        for number, name in rs.names.items():
            w = st.weight[number]
            ok = w > 0
            if not ok:
                empty.append(name)
            volume_ml = w * voxel_ml
            a = act[number] if ok else math.nan
            a_dc = act_dc[number] if ok else math.nan
            metrics = {
                "suv_max": (st.maximum[number] if ok else math.nan, suv_unit),
                "suv_mean": (st.mean[number] if ok else math.nan, suv_unit),
                "suv_peak": (
                    st.peak[number] if (ok and st.peak is not None) else math.nan,
                    suv_unit,
                ),
                "suv_sd": (st.sd[number] if ok else math.nan, suv_unit),
                "voxels": (st.voxels[number] if weights is None else w, "1"),
                "volume_ml": (volume_ml, "mL"),
                "activity_bq": (a, "Bq"),
                "activity_decay_corrected_bq": (a_dc, "Bq"),
                "percent_ia": (100.0 * a / inj, "%"),
                # Unit tissue density, 1 g/mL: mass_g = volume_ml.
                "percent_id_per_g": (100.0 * a_dc / (inj * volume_ml) if ok else math.nan, "%/g"),
                "injected_activity_bq": (inj, "Bq"),
            }
            region_stats[name] = {k: float(v) for k, (v, _) in metrics.items()}
            records.extend((name, rs.region_kind, m, float(v), u) for m, (v, u) in metrics.items())
            if rs.region_kind == RegionKind.LESION:
                region_stats[name]["_lesion"] = 1.0
        if rs.region_kind == RegionKind.LESION and vox_idx is None:
            lab3 = lab.reshape(suv_vol.shape)
            background = lesion_background_suv(suv_vol, lab3, n)
            core = lesion_core_labels(lab3, suv_vol.spacing_mm, lesion_core_mm)
            core_max = np.full(n, -np.inf)
            np.maximum.at(core_max, core[core > 0], suv_arr[core > 0])
            for number, name in rs.names.items():
                bg = background[number]
                smax = region_stats[name]["suv_max"]
                ratio = smax / bg if bg > 0 else math.nan
                cmax = core_max[number] if np.isfinite(core_max[number]) else math.nan
                records.append((name, "lesion", "tnr_background", float(ratio), "1"))
                records.append((name, "lesion", "background_suv_mean", float(bg), suv_unit))
                records.append((name, "lesion", "suv_max_core", float(cmax), suv_unit))
            extra = lesion_metrics(suv_arr, lab3, n, voxel_ml, peak_map=peak_arr,
                                   spacing_mm=suv_vol.spacing_mm if peak else None,
                                   threshold_suv=mtv_threshold_suv)  # fmt: skip
            for number, name in rs.names.items():
                records.append((name, "lesion", "mtv_ml", float(extra.mtv_ml[number]), "mL"))
                tlg = float(extra.tlg_suv_ml[number])
                records.append((name, "lesion", "tlg_suv_ml", tlg, f"{suv_unit}·mL"))
                at_max = float(extra.suv_peak_at_max[number])
                records.append((name, "lesion", "suv_peak_at_max", at_max, suv_unit))
        elif rs.region_kind == RegionKind.LESION:  # partial-volume lesion labels: the weighted VOI
            if mtv_threshold_suv is not None:
                warnings.warn("mtv_threshold_suv applies to whole-voxel lesion maps only; "
                              "partial-volume lesions get their weighted VOI volume as MTV",
                              ImmunopetWarning, stacklevel=2)  # fmt: skip
            for name in rs.names.values():
                vol_ml, mean = region_stats[name]["volume_ml"], region_stats[name]["suv_mean"]
                vol_ml = vol_ml if vol_ml > 0 else math.nan
                records.append((name, "lesion", "mtv_ml", vol_ml, "mL"))
                records.append((name, "lesion", "tlg_suv_ml", mean * vol_ml, f"{suv_unit}·mL"))
    if empty:
        warnings.warn(
            f"{len(empty)} region(s) without any voxel on the PET grid, reported as NaN: "
            + ", ".join(empty[:10]),
            ImmunopetWarning,
            stacklevel=2,
        )
    lesions = [r for r, s in region_stats.items() if "_lesion" in s]
    if lesions:
        missing = [ref for ref in references if ref not in region_stats]
        if missing:
            warnings.warn(
                f"reference region(s) {missing} not measured: no tnr_ for them",
                ImmunopetWarning,
                stacklevel=2,
            )
        for ref in references:
            if ref not in region_stats:
                continue
            ref_mean = region_stats[ref]["suv_mean"]
            for les in lesions:
                ratio = region_stats[les]["suv_max"] / ref_mean if ref_mean > 0 else math.nan
                records.append((les, "lesion", f"tnr_{ref}", ratio, "1"))
    df = pd.DataFrame.from_records(
        records, columns=["region", "region_kind", "metric", "value", "unit"]
    )
    df.insert(0, "subject", scan.subject_id)
    df.insert(1, "scan_id", scan.scan_id)
    df.insert(2, "tracer", scan.tracer)
    df.insert(3, "nuclide", acq.nuclide.name)
    df.insert(4, "time_h", math.nan if time_h is None else float(time_h))
    return df[list(TABLE_COLUMNS)]
