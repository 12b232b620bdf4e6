"""Rigid CT-to-CT registration, carrying lesion VOIs across scans, lesion matching.

The reference study defines lesions on the FDG scan and measures them on the
124I scans days later. Between two sessions of one subject, the CTs are
registered rigidly (SimpleITK: Mattes mutual information, Euler 3-D transform
with a geometry-centred initialiser, regular-step gradient descent, three
resolution levels 4/2/1 with Gaussian smoothing 2/1/0 voxels — the SimpleITK
registration-overview recipe). The reference lesion labels are then resampled
(nearest neighbour) through the transform onto the other scan's PET grid, and
lesions found on that scan are paired with them by overlap, then centroid
distance (Hungarian assignment).

Transform quality is reported so that a failed registration is visible: the
final metric value (Mattes MI, more negative = better), the Pearson
correlation of the CT values after registration inside the common field of
view, and the mean absolute CT difference (HU).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy.optimize import linear_sum_assignment

from ..core.errors import GeometryError, ImmunopetWarning
from ..core.volume import Volume
from .labels import LabelMap, check_overlap
from .lesions import LesionSet, _finalise

__all__ = ["RigidRegistration", "carry_lesions", "match_lesions", "register_rigid"]


@dataclass(frozen=True)
class RigidRegistration:
    """Result of :func:`register_rigid`.

    Attributes
    ----------
    transform
        Euler 3-D transform mapping points of the *fixed* CT to the *moving* CT
        (ITK convention: use it to resample moving-space images onto the fixed grid).
    metric_value
        Final Mattes mutual-information metric (negative; lower is better).
    correlation
        Pearson correlation of fixed and registered moving CT values (overlap only).
    mean_abs_difference_hu
        Mean |fixed − registered moving| (HU) in the overlap.
    iterations
        Optimizer iterations at the last level.
    stop_condition
        The optimizer's stop description.
    """

    transform: sitk.Euler3DTransform
    metric_value: float
    correlation: float
    mean_abs_difference_hu: float
    iterations: int
    stop_condition: str

    @property
    def translation_mm(self) -> tuple[float, float, float]:
        """Translation part of the transform (mm)."""
        return tuple(self.transform.GetTranslation())  # type: ignore[return-value]

    @property
    def rotation_deg(self) -> tuple[float, float, float]:
        """Euler angles (x, y, z) in degrees."""
        return (
            float(np.degrees(self.transform.GetAngleX())),
            float(np.degrees(self.transform.GetAngleY())),
            float(np.degrees(self.transform.GetAngleZ())),
        )

    def as_record(self) -> dict[str, float | str]:
        """Flat dict for tables (transform parameters and quality)."""
        tx, ty, tz = self.translation_mm
        ax, ay, az = self.rotation_deg
        return {
            "metric_mattes_mi": self.metric_value,
            "ct_correlation": self.correlation,
            "ct_mean_abs_difference_hu": self.mean_abs_difference_hu,
            "translation_x_mm": tx,
            "translation_y_mm": ty,
            "translation_z_mm": tz,
            "rotation_x_deg": ax,
            "rotation_y_deg": ay,
            "rotation_z_deg": az,
            "stop_condition": self.stop_condition,
        }


def register_rigid(
    fixed_ct: Volume,
    moving_ct: Volume,
    *,
    shrink_factors: tuple[int, ...] = (4, 2, 1),
    smoothing_sigmas: tuple[float, ...] = (2.0, 1.0, 0.0),
    iterations: int = 200,
    sampling_fraction: float = 0.25,
    seed: int = 20091,
    min_correlation: float = 0.5,
) -> RigidRegistration:
    """Rigidly register ``moving_ct`` onto ``fixed_ct`` (Mattes MI, Euler 3-D).

    Warns
    -----
    ImmunopetWarning
        The post-registration CT correlation is below ``min_correlation``.
    """
    fixed = sitk.Cast(fixed_ct.to_sitk(), sitk.sitkFloat32)
    moving = sitk.Cast(moving_ct.to_sitk(), sitk.sitkFloat32)
    transform = sitk.Euler3DTransform(
        sitk.CenteredTransformInitializer(
            fixed,
            moving,
            sitk.Euler3DTransform(),
            sitk.CenteredTransformInitializerFilter.GEOMETRY,
        )
    )
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(sampling_fraction, seed)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-4,
        numberOfIterations=iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-8,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(shrink_factors))
    reg.SetSmoothingSigmasPerLevel(list(smoothing_sigmas))
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetInitialTransform(transform, inPlace=True)
    reg.Execute(fixed, moving)
    resampled = sitk.Resample(moving, fixed, transform, sitk.sitkLinear, np.nan)
    a = sitk.GetArrayFromImage(fixed).ravel()
    b = sitk.GetArrayFromImage(resampled).ravel()
    ok = np.isfinite(b)
    if ok.sum() > 1 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
        corr = float(np.corrcoef(a[ok], b[ok])[0, 1])
        mad = float(np.mean(np.abs(a[ok] - b[ok])))
    else:
        corr, mad = float("nan"), float("nan")
    result = RigidRegistration(
        transform=transform,
        metric_value=float(reg.GetMetricValue()),
        correlation=corr,
        mean_abs_difference_hu=mad,
        iterations=int(reg.GetOptimizerIteration()),
        stop_condition=reg.GetOptimizerStopConditionDescription(),
    )
    if not corr >= min_correlation:
        warnings.warn(
            f"CT registration looks poor: correlation {corr:.2f} < {min_correlation} "
            "after registration; check the carried lesions",
            ImmunopetWarning,
            stacklevel=2,
        )
    return result


def carry_lesions(
    lesions: LesionSet | LabelMap,
    target_pet: Volume,
    transform: sitk.Transform | None = None,
    *,
    target_suv: Volume | None = None,
) -> LesionSet:
    """Resample reference lesion labels (nearest) onto another scan's PET grid.

    Parameters
    ----------
    lesions
        Lesions on the reference PET grid.
    target_pet
        The other scan's PET (its grid is used).
    transform
        Maps points of the target scan's space into the reference space — the
        ``transform`` of ``register_rigid(fixed_ct=target CT, moving_ct=reference CT)``.
        None when both scans share a frame of reference.
    target_suv
        SUV of the target scan, to fill ``suv_max`` in the table.

    Returns
    -------
    LesionSet
        Same lesion ids and names as the reference. Lesions that fall outside
        the target field of view are missing (warning).
    """
    lm = lesions.labels if isinstance(lesions, LesionSet) else lesions
    if transform is None:
        check_overlap(lm.volume, target_pet, file=lm.source)
    moved = lm.volume.resample_like(target_pet, "nearest", transform=transform)
    values = None if target_suv is None else np.asarray(target_suv.array, dtype=np.float64)
    out = _finalise(
        np.asarray(moved.array), target_pet, values, None, keep_numbers=True, source=lm.source
    )
    lost = sorted(set(lm.names) - set(out.labels.names))
    if len(lost) == len(lm.names) and lost:
        raise GeometryError("no reference lesion falls inside the target PET", file=lm.source)
    if lost:
        warnings.warn(
            f"{len(lost)} lesion(s) fall outside the target PET: {[lm.names[i] for i in lost]}",
            ImmunopetWarning,
            stacklevel=2,
        )
    names = {i: lm.names[i] for i in out.labels.names}
    table = out.table.assign(region=[names[int(i)] for i in out.table["lesion_id"]])
    return LesionSet(out.labels.replace(names=names), table)


def match_lesions(
    reference: LesionSet, other: LesionSet, *, max_distance_mm: float = 20.0
) -> pd.DataFrame:
    """Pair lesions of two sets on the same grid: overlap first, then centroid distance.

    The cost of a pair is ``(1 − Dice) · 1000 + distance_mm``, so any overlap
    beats any distance; pairs with no overlap and centroids farther than
    ``max_distance_mm`` are not allowed. The assignment is the Hungarian
    algorithm (``scipy.optimize.linear_sum_assignment``).

    Returns
    -------
    pandas.DataFrame
        ``reference_lesion, other_lesion, dice, iou, distance_mm`` — one row per
        reference lesion (``other_lesion`` empty when unmatched) plus one row per
        unmatched other lesion (``reference_lesion`` empty).
    """
    ra, oa = reference.labels, other.labels
    if not ra.volume.same_grid(oa.volume, tol_mm=1e-2):
        raise GeometryError(
            "lesion sets to match must be on the same grid: carry_lesions() the reference first"
        )
    rid = reference.table["lesion_id"].to_numpy(int)
    oid = other.table["lesion_id"].to_numpy(int)
    nr, no = int(ra.array.max(initial=0)) + 1, int(oa.array.max(initial=0)) + 1
    joint = np.bincount(
        (ra.array.astype(np.int64) * no + oa.array).ravel(), minlength=nr * no
    ).reshape(nr, no)
    size_r = joint.sum(axis=1)
    size_o = joint.sum(axis=0)
    inter = joint[np.ix_(rid, oid)].astype(float)
    denom = size_r[rid][:, None] + size_o[oid][None, :]
    dice = np.where(denom > 0, 2 * inter / np.maximum(denom, 1), 0.0)
    iou = np.where(denom - inter > 0, inter / np.maximum(denom - inter, 1), 0.0)
    cols = ["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]
    cr = reference.table[cols].to_numpy(float)
    co = other.table[cols].to_numpy(float)
    dist = np.linalg.norm(cr[:, None, :] - co[None, :, :], axis=2)
    allowed = (dice > 0) | (dist <= max_distance_mm)
    big = 1e9
    cost = np.where(allowed, (1 - dice) * 1000.0 + dist, big)
    rows: list[dict[str, object]] = []
    matched_r: set[int] = set()
    matched_o: set[int] = set()
    if rid.size and oid.size:
        ri, oi = linear_sum_assignment(cost)
        for i, j in zip(ri, oi, strict=True):
            if not allowed[i, j]:
                continue
            matched_r.add(i)
            matched_o.add(j)
            rows.append(
                {
                    "reference_lesion": reference.table["region"].iloc[i],
                    "other_lesion": other.table["region"].iloc[j],
                    "dice": float(dice[i, j]),
                    "iou": float(iou[i, j]),
                    "distance_mm": float(dist[i, j]),
                }
            )
    for i in range(rid.size):
        if i not in matched_r:
            rows.append({"reference_lesion": reference.table["region"].iloc[i], "other_lesion": ""})
    for j in range(oid.size):
        if j not in matched_o:
            rows.append({"reference_lesion": "", "other_lesion": other.table["region"].iloc[j]})
    return pd.DataFrame(
        rows, columns=["reference_lesion", "other_lesion", "dice", "iou", "distance_mm"]
    )
