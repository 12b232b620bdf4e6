"""Per-subject anatomy: the dosimetry reference phantom, sized to the subject, cropped to
a neck-to-pelvis field of view, and the lesion sites of Table 1 placed inside it.

The phantom is :func:`immunopet.dosimetry.phantom.reference_phantom` (stylised
MIRD/ORNL organs, ICRP 89 masses); anything with ``labels``, ``hu`` and
``organ_names`` works. Sizing scales the voxel spacing: the length axis by
height / reference height, the transverse axes by √(mass ratio / height ratio)
so that volume scales with weight (ICRP 89 Table 2.9 reference adults:
male 176 cm / 73 kg, female 163 cm / 60 kg).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..core.errors import GeometryError
from ..core.volume import Volume
from .cohort import LesionSpec

__all__ = ["SubjectAnatomy", "subject_anatomy", "place_lesions", "REFERENCE_ADULT"]

#: ICRP Publication 89, Table 2.9: reference adult height (m) and mass (kg).
REFERENCE_ADULT: dict[str, tuple[float, float]] = {"M": (1.76, 73.0), "F": (1.63, 60.0)}

BONE_NAMES = (
    "cortical_bone",
    "trabecular_bone",
    "red_marrow",
    "bone_surfaces",
    "spine",
    "pelvis",
    "ribs",
    "arm_bones",
    "skull",
    "leg_bones",
)
STOMACH_NAMES = ("stomach_wall", "stomach_contents")


@dataclass(frozen=True)
class SubjectAnatomy:
    """Organ labels and CT numbers of one subject on the CT grid."""

    labels: Volume
    hu: Volume
    organ_names: dict[int, str]

    def label_values(self, names: Iterable[str]) -> list[int]:
        wanted = set(names)
        return [v for v, n in self.organ_names.items() if n in wanted]

    def mask(self, names: Iterable[str]) -> np.ndarray:
        """Boolean mask of the union of organs ``names``."""
        return np.isin(np.asarray(self.labels.array), self.label_values(names))

    def background_organ(self) -> list[str]:
        """Names of soft-tissue filler labels (``remainder`` or similar)."""
        names = set(self.organ_names.values())
        return [n for n in ("remainder", "soft_tissue", "body", "muscle") if n in names][:1]


def _scaled(vol: Volume, scale_xyz: np.ndarray) -> Volume:
    return Volume(
        vol.array,
        spacing_mm=tuple(np.asarray(vol.spacing_mm) * scale_xyz),
        origin_mm=tuple(np.asarray(vol.origin_mm) * scale_xyz),
        direction=vol.direction,
        unit=vol.unit,
        frame_of_reference_uid=vol.frame_of_reference_uid,
    )


def subject_anatomy(
    phantom: Any,
    *,
    sex: str,
    weight_kg: float,
    height_m: float,
    ct_voxel_mm: float = 3.0,
    frame_of_reference_uid: str | None = None,
    margin_mm: float = 10.0,
) -> SubjectAnatomy:
    """The phantom sized to the subject and resampled onto a neck-to-pelvis CT grid.

    The field of view runs from 3 cm below the urinary bladder to 4 cm above the
    thyroid (or the whole phantom when those organs are missing), transversally
    the body outline plus ``margin_mm``.
    """
    h_ref, w_ref = REFERENCE_ADULT.get(sex, REFERENCE_ADULT["M"])
    sz = height_m / h_ref
    sxy = float(np.sqrt((weight_kg / w_ref) / sz))
    scale = np.array([sxy, sxy, sz])
    labels = _scaled(phantom.labels, scale)
    hu = _scaled(phantom.hu, scale)
    names: dict[int, str] = {int(k): str(v) for k, v in phantom.organ_names.items()}
    lab = np.asarray(labels.array)
    body = lab > 0
    if not body.any():
        raise GeometryError("the phantom has no labelled voxels")
    kk, jj, ii = np.nonzero(body)
    pts = labels.index_to_lps(np.stack([ii, jj, kk], axis=1)[:: max(len(ii) // 200000, 1)])
    lo, hi = pts.min(axis=0) - margin_mm, pts.max(axis=0) + margin_mm

    def z_extent(organ: str) -> tuple[float, float] | None:
        vals = [v for v, n in names.items() if n == organ]
        if not vals:
            return None
        k = np.nonzero(np.isin(lab, vals).any(axis=(1, 2)))[0]
        if k.size == 0:
            return None
        zs = labels.index_to_lps(np.array([[0, 0, k.min()], [0, 0, k.max()]], dtype=float))[:, 2]
        return float(zs.min()), float(zs.max())

    bladder = z_extent("urinary_bladder_wall") or z_extent("urinary_bladder_contents")
    thyroid = z_extent("thyroid")
    if bladder is not None:
        lo[2] = max(lo[2], bladder[0] - 30.0)
    if thyroid is not None:
        hi[2] = min(hi[2], thyroid[1] + 40.0)
    n = np.maximum(np.ceil((hi - lo) / ct_voxel_mm).astype(int), 1)
    grid = Volume(
        np.zeros((n[2], n[1], n[0]), dtype=np.int16),
        spacing_mm=(ct_voxel_mm,) * 3,
        origin_mm=tuple(lo),
        frame_of_reference_uid=frame_of_reference_uid,
    )
    labels_ct = labels.resample_like(grid, interpolator="nearest")
    hu_ct = hu.resample_like(grid, interpolator="linear", default_value=-1000.0)
    labels_ct = grid.with_array(np.asarray(labels_ct.array).astype(np.int16), unit="label")
    hu_ct = grid.with_array(np.asarray(hu_ct.array, dtype=np.float32), unit="HU")
    return SubjectAnatomy(labels=labels_ct, hu=hu_ct, organ_names=names)


def _candidates(anat: SubjectAnatomy, site: str, radius_mm: float) -> list[np.ndarray]:
    """Candidate masks for a site, from strictest to most permissive."""
    grid = anat.labels
    lab = np.asarray(grid.array)
    body = lab > 0
    nz, ny, nx = lab.shape
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij", sparse=True)
    x = grid.origin_mm[0] + grid.spacing_mm[0] * i
    y = grid.origin_mm[1] + grid.spacing_mm[1] * j
    z = grid.origin_mm[2] + grid.spacing_mm[2] * k
    kb, jb, ib = np.nonzero(body)
    cx = grid.origin_mm[0] + grid.spacing_mm[0] * float(np.median(ib))
    cy = grid.origin_mm[1] + grid.spacing_mm[1] * float(np.median(jb))
    half_w = grid.spacing_mm[0] * (ib.max() - ib.min()) / 2.0
    z0 = grid.origin_mm[2] + grid.spacing_mm[2] * kb.min()
    length = grid.spacing_mm[2] * (kb.max() - kb.min())
    zf = (z - z0) / max(length, 1.0)  # 0 at the bottom of the FOV, 1 at the top
    spacing_zyx = grid.spacing_mm[::-1]
    bone = anat.mask(BONE_NAMES)
    soft = anat.mask(anat.background_organ())

    def inside(mask: np.ndarray, depth_mm: float) -> np.ndarray:
        if not mask.any():
            return mask
        return ndimage.distance_transform_edt(mask, sampling=spacing_zyx) >= depth_mm

    if site == "liver":
        liver = anat.mask(["liver"])
        return [inside(liver, radius_mm + 3.0), inside(liver, radius_mm / 2), liver]
    if site in ("primary_stomach", "primary_gej"):
        stomach = anat.mask(STOMACH_NAMES)
        masks = [stomach]
        if site == "primary_gej" and stomach.any():
            ks = np.nonzero(stomach.any(axis=(1, 2)))[0]
            top = ks.max() - 0.3 * (ks.max() - ks.min())
            masks.insert(0, stomach & (k >= top))
        return masks + [anat.mask(["oesophagus"])]
    if site == "lymph_node":
        stomach = anat.mask(STOMACH_NAMES)
        if stomach.any():
            d = ndimage.distance_transform_edt(~stomach, sampling=spacing_zyx)
            near = soft & (d >= radius_mm * 0.6) & (d <= radius_mm + 40.0)
        else:
            near = np.zeros_like(soft)
        return [near & inside(soft, radius_mm * 0.5), soft & (zf > 0.3) & (zf < 0.7), soft]
    arm = anat.mask(["arm_bones"])
    pelvis = anat.mask(["pelvis"])
    spine = anat.mask(["spine"])
    if site == "humerus_right":  # LPS: patient's right is −x
        lateral = x < cx - 0.7 * half_w
        if arm.any():
            return [arm & (x < cx) & (zf > 0.55), arm & (x < cx), bone & lateral & (zf > 0.6)]
        return [bone & lateral & (zf > 0.6), bone & (x < cx - 0.4 * half_w) & (zf > 0.5)]
    if site == "iliac_pubic" and pelvis.any():
        return [pelvis & (np.abs(x - cx) > 25.0), pelvis]
    if site == "sacrum" and pelvis.any():
        return [pelvis & (np.abs(x - cx) < 30.0) & (y > cy), spine & (zf < 0.3), pelvis]
    if site == "spine" and spine.any():
        return [spine & (zf > 0.25) & (zf < 0.9), spine]
    if site == "iliac_pubic":
        return [bone & (zf < 0.3) & (np.abs(x - cx) > 25.0), bone & (zf < 0.35)]
    if site == "sacrum":
        return [bone & (zf < 0.3) & (np.abs(x - cx) < 30.0) & (y > cy), bone & (zf < 0.35)]
    if site == "spine":
        return [
            bone & (np.abs(x - cx) < 25.0) & (y > cy) & (zf > 0.3) & (zf < 0.9),
            bone & (np.abs(x - cx) < 40.0) & (zf > 0.2),
        ]
    raise GeometryError(f"unknown lesion site {site!r}")


def place_lesions(
    anatomy: SubjectAnatomy,
    lesions: Sequence[LesionSpec],
    rng: np.random.Generator,
    *,
    min_gap_mm: float = 8.0,
) -> dict[str, tuple[float, float, float]]:
    """LPS centres (mm) of the analysed lesions, each inside its site's region.

    Lesions are placed one by one at a random voxel of the strictest
    non-empty candidate mask for their site, keeping centres at least
    ``r₁ + r₂ + min_gap_mm`` apart (spine lesions: also ≥ 25 mm apart in z, one
    per vertebra). Falls back to the body when no site mask remains.
    """
    placed: dict[str, tuple[float, float, float]] = {}
    radii: dict[str, float] = {}
    lab = np.asarray(anatomy.labels.array)
    cache: dict[tuple[str, float], list[np.ndarray]] = {}
    for les in lesions:
        if not les.analysed:
            continue
        r = les.diameter_mm / 2.0
        key = (les.site, round(r))
        if key not in cache:
            cache[key] = _candidates(anatomy, les.site, r) + [lab > 0]
        centre = None
        for mask in cache[key]:
            kji = np.argwhere(mask)
            if kji.size == 0:
                continue
            order = rng.permutation(len(kji))[:4000]
            pts = anatomy.labels.index_to_lps(kji[order][:, ::-1].astype(float))
            for p in pts:
                ok = all(
                    np.linalg.norm(p - np.asarray(c)) >= r + radii[o] + min_gap_mm
                    and (
                        les.site != "spine" or not o.startswith("spine") or abs(p[2] - c[2]) >= 25.0
                    )
                    for o, c in placed.items()
                )
                if ok:
                    centre = tuple(float(v) for v in p)
                    break
            if centre is not None:
                break
        if centre is None:
            raise GeometryError(f"no room to place lesion {les.lesion_id} ({les.site})")
        placed[les.lesion_id] = centre  # type: ignore[assignment]
        radii[les.lesion_id] = r
    return placed


def local_background_organ(
    anatomy: SubjectAnatomy, centre_lps_mm: Sequence[float], radius_mm: float
) -> Mapping[str, float]:
    """Fractions of organ names in a shell 2–10 mm outside a sphere (what a reader sees around it)."""
    grid = anatomy.labels
    idx = np.round(grid.lps_to_index(np.asarray(centre_lps_mm))).astype(int)  # i, j, k
    reach = radius_mm + 10.0
    half = [int(np.ceil(reach / s)) for s in grid.spacing_mm]
    lab = np.asarray(grid.array)
    sl = tuple(
        slice(max(idx[a] - half[a], 0), min(idx[a] + half[a] + 1, lab.shape[2 - a]))
        for a in (2, 1, 0)
    )
    block = lab[sl]
    ks = np.arange(sl[0].start, sl[0].stop)[:, None, None]
    js = np.arange(sl[1].start, sl[1].stop)[None, :, None]
    is_ = np.arange(sl[2].start, sl[2].stop)[None, None, :]
    d = np.sqrt(
        ((is_ - idx[0]) * grid.spacing_mm[0]) ** 2
        + ((js - idx[1]) * grid.spacing_mm[1]) ** 2
        + ((ks - idx[2]) * grid.spacing_mm[2]) ** 2
    )
    shell = (d >= radius_mm + 2.0) & (d <= reach) & (block > 0)
    vals, counts = np.unique(block[shell], return_counts=True)
    total = counts.sum()
    if total == 0:
        return {}
    return {
        anatomy.organ_names.get(int(v), "remainder"): c / total
        for v, c in zip(vals, counts, strict=True)
    }
