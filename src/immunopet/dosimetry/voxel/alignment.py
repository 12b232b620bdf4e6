"""Align the time points of a subject onto a reference scan, with activity conserved.

Registration
    ``"rigid"`` (default): CT → CT with :func:`immunopet.regions.registration.register_rigid`
    (SimpleITK, Mattes mutual information, Euler 3-D, three resolution levels).
    ``"deformable"``: a B-spline registration with elastix through the optional
    ``itk-elastix`` package (Klein et al., IEEE Trans Med Imaging 2010;29:196), after the
    rigid one; without ``itk-elastix`` installed it raises a clear error.

Resampling with activity conserved
    The activity map is resampled as a *concentration* (Bq/mL; a map in Bq per voxel is
    divided by its voxel volume first) with linear interpolation onto the reference grid,
    then renormalised so that its total activity equals the total activity of the moving
    map inside the part of its field of view that maps into the reference grid (for a rigid
    transform, that part is found by mapping the reference grid's support back through the
    inverse transform; without an inverse, the moving map's whole total is used).
    Interpolation smooths, but it neither creates nor destroys activity.

Quality
    With organ label maps per time point, the Dice coefficient of every label before (frames
    taken as they are) and after registration is reported per pair (reference, time point).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ...core.errors import GeometryError, ImmunopetError, ImmunopetWarning, InvalidValueError
from ...core.volume import Volume
from ...regions.registration import register_rigid

__all__ = [
    "AlignedSeries",
    "align_time_series",
    "dice_by_label",
    "resample_activity",
]

_PER_VOXEL = {"bq": 1.0, "kbq": 1e3, "mbq": 1e6}


@dataclass(frozen=True)
class AlignedSeries:
    """Activity maps of every time point on the reference grid.

    Attributes
    ----------
    activity
        One map per time point, on the reference map's grid, in the input unit.
    transforms
        Per time point, the transform mapping reference points into that time point's space
        (None for the reference itself).
    quality
        Tidy table ``pair, time_index, stage, region, metric, value`` with the registration
        metrics and, when labels were given, the Dice per label before/after registration.
    renormalisation
        Per time point, the factor applied to conserve the total activity.
    """

    activity: tuple[Volume, ...]
    transforms: tuple[sitk.Transform | None, ...]
    quality: pd.DataFrame
    renormalisation: tuple[float, ...] = field(default=())


def _to_concentration(vol: Volume) -> tuple[np.ndarray, float]:
    """(Bq/mL array, factor back to the input unit per mL) of an activity map."""
    key = vol.unit.strip().lower().replace(" ", "")
    arr = np.asarray(vol.array, dtype=np.float64)
    if key in _PER_VOXEL:
        return arr * _PER_VOXEL[key] / vol.voxel_volume_ml, _PER_VOXEL[key]
    return arr, 0.0


def resample_activity(
    activity: Volume,
    reference: Volume,
    transform: sitk.Transform | None = None,
    *,
    renormalise: bool = True,
) -> tuple[Volume, float]:
    """Resample an activity map onto ``reference``'s grid with its total activity conserved.

    Parameters
    ----------
    activity
        Concentration map (BQML, Bq/mL…) or a map in Bq/kBq/MBq per voxel.
    reference
        The target grid.
    transform
        Maps reference points into the activity map's space (ITK convention), e.g. the
        ``transform`` of ``register_rigid(fixed_ct=reference CT, moving_ct=this CT)``.
    renormalise
        Rescale to conserve the total activity (see the module docstring).

    Returns
    -------
    (Volume, float)
        The resampled map (same unit as ``activity``) and the renormalisation factor.
    """
    conc, per_voxel_scale = _to_concentration(activity)
    src = activity.with_array(conc.astype(np.float32))
    moved = src.resample_like(reference, "linear", 0.0, transform=transform)
    out = np.asarray(moved.array, dtype=np.float64)
    factor = 1.0
    if renormalise:
        src_total = _total_in_overlap(src, reference, transform) * activity.voxel_volume_ml
        moved_total = float(out.sum()) * reference.voxel_volume_ml
        if moved_total != 0 and src_total != 0:
            factor = src_total / moved_total
            out *= factor
    if per_voxel_scale:
        out = out * reference.voxel_volume_ml / per_voxel_scale
    return reference.with_array(out.astype(np.float32), unit=activity.unit), factor


def _total_in_overlap(src: Volume, reference: Volume, transform: sitk.Transform | None) -> float:
    """Σ of ``src`` over its voxels whose centres fall inside the reference grid's extent."""
    inverse = sitk.Transform() if transform is None else None
    if transform is not None:
        try:
            inverse = transform.GetInverse()
        except RuntimeError:
            inverse = None
    arr = np.asarray(src.array, dtype=np.float64)
    if inverse is None:
        return float(arr.sum())
    ones = reference.with_array(np.ones(reference.shape, dtype=np.float32))
    # Nearest: a source voxel counts when its centre maps inside the reference support.
    support = ones.resample_like(src, "nearest", 0.0, transform=inverse)
    return float(arr[np.asarray(support.array) > 0].sum())


def dice_by_label(a: Volume, b: Volume) -> dict[int, float]:
    """Dice 2|A∩B|/(|A|+|B|) per non-zero label of two label maps on one grid."""
    if not a.same_grid(b, tol_mm=1e-2):
        raise GeometryError("label maps for Dice must share a grid")
    la = np.asarray(a.array).astype(np.int64).ravel()
    lb = np.asarray(b.array).astype(np.int64).ravel()
    n = int(max(la.max(initial=0), lb.max(initial=0))) + 1
    inter = np.bincount(la[la == lb], minlength=n)
    size_a, size_b = np.bincount(la, minlength=n), np.bincount(lb, minlength=n)
    out = {}
    for lab in range(1, n):
        denom = size_a[lab] + size_b[lab]
        if denom:
            out[lab] = float(2 * inter[lab] / denom)
    return out


def _deformable(fixed_ct: Volume, moving_ct: Volume, initial: sitk.Transform) -> sitk.Transform:
    """B-spline refinement with elastix (itk-elastix), returned as a SimpleITK transform."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("itk-elastix")
        import itk  # type: ignore[import-not-found]
    except (PackageNotFoundError, ImportError):
        raise ImmunopetError(
            "deformable alignment needs the optional package itk-elastix (about 1.6 GB): "
            "pip install 'immunopet[deformable]', or use method 'rigid'",
            field="method",
            value="deformable",
        ) from None
    # Rigid first (SimpleITK), then elastix B-spline on the rigidly resampled moving CT.
    pre = moving_ct.resample_like(fixed_ct, "linear", -1000.0, transform=initial)
    fixed = itk.image_view_from_array(np.ascontiguousarray(fixed_ct.array, dtype=np.float32))
    moving = itk.image_view_from_array(np.ascontiguousarray(pre.array, dtype=np.float32))
    for img, vol in ((fixed, fixed_ct), (moving, fixed_ct)):
        img.SetSpacing(vol.spacing_mm)
        img.SetOrigin(vol.origin_mm)
        img.SetDirection(itk.matrix_from_array(vol.direction_matrix))
    params = itk.ParameterObject.New()
    params.AddParameterMap(params.GetDefaultParameterMap("bspline"))
    _, result = itk.elastix_registration_method(
        fixed, moving, parameter_object=params, log_to_console=False
    )
    # Deformation field on the fixed grid → SimpleITK displacement-field transform.
    field_img = itk.transformix_deformation_field(moving, result)
    disp = np.asarray(itk.array_from_image(field_img), dtype=np.float64)
    disp_sitk = sitk.GetImageFromArray(disp, isVector=True)
    disp_sitk.CopyInformation(fixed_ct.to_sitk())
    bspline = sitk.DisplacementFieldTransform(disp_sitk)
    # Reference point → B-spline displacement (in the rigidly aligned space) → rigid.
    return sitk.CompositeTransform([initial, bspline])


def align_time_series(
    cts: Sequence[Volume],
    activity: Sequence[Volume],
    *,
    reference: int = 0,
    method: str = "rigid",
    labels: Sequence[Volume | None] | None = None,
    renormalise: bool = True,
) -> AlignedSeries:
    """Register every time point's CT to the reference CT; resample its activity map.

    Parameters
    ----------
    cts
        One CT (HU) per time point, each in its PET's frame of reference.
    activity
        One activity map per time point (concentration or per voxel).
    reference
        Index of the reference time point; its activity map's grid is the output grid.
    method
        ``"rigid"`` or ``"deformable"`` (needs ``itk-elastix``).
    labels
        Optional organ label map per time point (on any grid of that time point's frame),
        for the Dice quality rows.
    renormalise
        Conserve each map's total activity (see :func:`resample_activity`).

    Returns
    -------
    AlignedSeries
    """
    n = len(cts)
    if len(activity) != n or n == 0:
        raise InvalidValueError(
            f"{n} CTs but {len(activity)} activity maps", field="activity", value=len(activity)
        )
    if not 0 <= reference < n:
        raise InvalidValueError("reference index out of range", field="reference", value=reference)
    if method not in ("rigid", "deformable"):
        raise InvalidValueError(
            f"unknown alignment method {method!r}; use 'rigid' or 'deformable'",
            field="method",
            value=method,
        )
    if labels is not None and len(labels) != n:
        raise InvalidValueError("one label map (or None) per time point", field="labels")
    ref_map, ref_ct = activity[reference], cts[reference]
    ref_labels = labels[reference] if labels is not None else None
    maps: list[Volume] = []
    transforms: list[sitk.Transform | None] = []
    factors: list[float] = []
    rows: list[dict[str, object]] = []
    for i in range(n):
        if i == reference:
            maps.append(ref_map)
            transforms.append(None)
            factors.append(1.0)
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ImmunopetWarning)
            reg = register_rigid(ref_ct, cts[i])
        for w in caught:
            warnings.warn(f"time point {i}: {w.message}", ImmunopetWarning, stacklevel=2)
        tf: sitk.Transform = reg.transform
        if method == "deformable":
            tf = _deformable(ref_ct, cts[i], reg.transform)
        pair = f"{reference}->{i}"
        for key, value in reg.as_record().items():
            if isinstance(value, float):
                rows.append(dict(pair=pair, time_index=i, stage="rigid", region="", metric=key,
                                 value=value))  # fmt: skip
        moved, factor = resample_activity(activity[i], ref_map, tf, renormalise=renormalise)
        maps.append(moved)
        transforms.append(tf)
        factors.append(factor)
        rows.append(dict(pair=pair, time_index=i, stage=method, region="",
                         metric="renormalisation_factor", value=factor))  # fmt: skip
        if ref_labels is not None and labels is not None and labels[i] is not None:
            mov_lab = labels[i]
            for stage, t in (("before", None), (method, tf)):
                moved_lab = mov_lab.resample_like(ref_labels, "nearest", 0.0, transform=t)
                for lab, d in dice_by_label(ref_labels, moved_lab).items():
                    rows.append(dict(pair=pair, time_index=i, stage=stage, region=str(lab),
                                     metric="dice", value=d))  # fmt: skip
    quality = pd.DataFrame(
        rows, columns=["pair", "time_index", "stage", "region", "metric", "value"]
    )
    return AlignedSeries(tuple(maps), tuple(transforms), quality, tuple(factors))
