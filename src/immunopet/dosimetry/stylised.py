"""The stylised reference adults: MIRD/ORNL organ equations voxelised at ICRP 89 masses.

See :mod:`immunopet.dosimetry.phantom` for the method and its stated approximations,
and :mod:`immunopet.dosimetry.phantom_organs` for the organ equations.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from scipy import ndimage

from ..core.errors import InvalidValueError
from ..core.volume import Volume
from .phantom import (
    MARROW_FRACTIONS,
    MATERIAL_AIR,
    MATERIAL_BONE,
    MATERIAL_LUNG,
    MATERIAL_SOFT,
    SKELETAL_REGIONS,
    Phantom,
)
from .phantom_organs import BODY_BBOX_CM, OrganShape, body_mask, organ_shapes, skeleton_shapes
from .weights import REFERENCE_MASSES_KG

__all__ = ["REFERENCE_LABELS", "reference_phantom", "shape_overlaps"]

#: Label numbers of the reference phantoms (0 = air outside the body).
REFERENCE_LABELS: tuple[str, ...] = (
    "muscle",  # every body voxel not in a named organ (ICRP 89 muscle + adipose + ...)
    "skin",
    "lungs",
    "small_intestine",
    "right_colon",
    "left_colon",
    "rectosigmoid_colon",
    "liver",
    "gallbladder_wall",
    "gallbladder_contents",
    "pancreas",
    "stomach_wall",
    "stomach_contents",
    "spleen",
    "kidneys",
    "adrenals",
    "heart_wall",
    "heart_contents",
    "thymus",
    "oesophagus",
    "thyroid",
    "brain",
    "urinary_bladder_wall",
    "urinary_bladder_contents",
    "uterus",
    "ovaries",
    "testes",
    "breasts",
    *SKELETAL_REGIONS,
)


#: CT numbers per tissue for the demo simulator (typical clinical values, HU).
_HU: Mapping[str, float] = {
    "lungs": -700.0,
    "brain": 35.0,
    "liver": 60.0,
    "spleen": 50.0,
    "kidneys": 35.0,
    "muscle": 45.0,
    "skin": 20.0,
    "urinary_bladder_contents": 5.0,
    "gallbladder_contents": 10.0,
    "stomach_contents": 15.0,
    "heart_contents": 40.0,
    "breasts": -50.0,
}
_HU_BONE = 700.0
_HU_SOFT = 40.0
_MIRD_HEIGHT_CM = 180.35
_HEIGHT_CM = {"male": 176.0, "female": 163.0}  # ICRP 89 Table 2.9

# Small intestine region = wall + contents (ICRP 89 Table 2.8: contents 350 g M, 280 g F).
_SI_CONTENTS_KG = {"male": 0.350, "female": 0.280}


def _grid_axes(lo_cm: float, hi_cm: float, voxel_cm: float) -> np.ndarray:
    n = int(np.ceil((hi_cm - lo_cm) / voxel_cm))
    return lo_cm + voxel_cm * (np.arange(n) + 0.5)


def _shape_volume_cm3(shape: OrganShape, step_cm: float = 0.2) -> tuple[float, np.ndarray]:
    """Volume and centroid of an (unscaled) shape, by sampling its bounding box."""
    axes = [np.arange(lo, hi + step_cm, step_cm) for lo, hi in shape.bbox_cm]
    x, y, z = axes[0][None, None, :], axes[1][None, :, None], axes[2][:, None, None]
    m = np.broadcast_to(shape.inside(x, y, z), (len(axes[2]), len(axes[1]), len(axes[0])))
    n = int(m.sum())
    if n == 0:
        return 0.0, np.asarray([np.mean(b) for b in shape.bbox_cm])
    iz, iy, ix = np.nonzero(m)
    centroid = np.asarray([axes[0][ix].mean(), axes[1][iy].mean(), axes[2][iz].mean()])
    return n * step_cm**3, centroid


@functools.lru_cache(maxsize=4)
def _unscaled_volumes() -> dict[str, tuple[float, tuple[float, float, float]]]:
    out = {}
    for s in organ_shapes():
        v, c = _shape_volume_cm3(s)
        out[s.name] = (v, tuple(float(ci) for ci in c))
    return out


def _target_mass_kg(sex: str) -> dict[str, float]:
    ref = dict(REFERENCE_MASSES_KG[sex])
    ref["small_intestine"] = ref["small_intestine"] + _SI_CONTENTS_KG[sex]
    return ref


def _scaled_organs(sex: str, body_scale: tuple[float, float, float]) -> list[OrganShape]:
    """Organ shapes scaled to ICRP 89 masses (in unscaled phantom coordinates)."""
    ref = _target_mass_kg(sex)
    vols = _unscaled_volumes()
    jac = float(np.prod(body_scale))
    skip = {"male": {"ovaries", "uterus"}, "female": {"testes"}}[sex]
    lungs_v = vols["lungs_right"][0] + vols["lungs_left"][0]
    out = []
    for s in organ_shapes():
        if s.name in skip:
            continue
        v, c = vols[s.name]
        if s.name.startswith("lungs"):
            target_kg, v = ref["lungs"], lungs_v
        elif s.name.endswith("_outer"):
            organ = s.name[: -len("_outer")]
            target_kg = ref[f"{organ}_wall"] + ref[f"{organ}_contents"]
        else:
            target_kg = ref[s.name]
        target_cm3 = target_kg * 1000.0 / s.density_g_cm3 / jac
        scale = (target_cm3 / v) ** (1.0 / 3.0)
        if s.name.endswith("_contents"):
            organ = s.name[: -len("_contents")]
            frac = ref[f"{organ}_contents"] / (ref[f"{organ}_wall"] + ref[f"{organ}_contents"])
            outer_cm3 = (ref[f"{organ}_wall"] + ref[f"{organ}_contents"]) * 1000.0 / 1.04 / jac
            scale = (outer_cm3 * frac / v) ** (1.0 / 3.0)
        if s.name.startswith("lungs"):
            c = s.centre_cm
        out.append(OrganShape(s.name, s.inside, s.bbox_cm, s.density_g_cm3, c, scale))
    return out


def _paint(
    shape: OrganShape, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray
) -> tuple[tuple[slice, ...], np.ndarray]:
    """Mask of ``shape`` restricted to its bounding box: (slices, boolean sub-array)."""
    (x0, x1), (y0, y1), (z0, z1) = shape.scaled_bbox_cm()
    sl = []
    for axis, lo, hi in ((zs, z0, z1), (ys, y0, y1), (xs, x0, x1)):
        i0 = int(np.searchsorted(axis, lo - 1e-6))
        i1 = int(np.searchsorted(axis, hi + 1e-6))
        sl.append(slice(max(i0 - 1, 0), min(i1 + 1, len(axis))))
    sub = shape.contains(
        xs[sl[2]][None, None, :], ys[sl[1]][None, :, None], zs[sl[0]][:, None, None]
    )
    return tuple(sl), np.asarray(sub, dtype=bool)


def _build(sex: str, voxel_mm: float, transverse: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    sz = _HEIGHT_CM[sex] / _MIRD_HEIGHT_CM
    scale = (transverse, transverse, sz)
    vox_cm = voxel_mm / 10.0
    # Grid in physical cm; shapes are evaluated at phantom coordinates (physical / scale).
    phys = [(lo * s, hi * s) for (lo, hi), s in zip(BODY_BBOX_CM, scale, strict=True)]
    xs_p, ys_p, zs_p = (_grid_axes(lo, hi, vox_cm) for lo, hi in phys)
    xs, ys, zs = xs_p / scale[0], ys_p / scale[1], zs_p / scale[2]
    shape3 = (len(zs), len(ys), len(xs))
    names = {n: i + 1 for i, n in enumerate(REFERENCE_LABELS)}
    labels = np.zeros(shape3, dtype=np.int16)
    body = body_mask(xs[None, None, :], ys[None, :, None], zs[:, None, None])
    labels[np.broadcast_to(body, shape3)] = names["muscle"]
    organs = _scaled_organs(sex, scale)
    by_name = {o.name: o for o in organs}
    for o in organs:
        sl, m = _paint(o, xs, ys, zs)
        if o.name.endswith("_outer"):
            organ = o.name[: -len("_outer")]
            inner_sl, inner = _paint(by_name[f"{organ}_contents"], xs, ys, zs)
            full_out = np.zeros(shape3, bool)
            full_out[sl] = m
            full_in = np.zeros(shape3, bool)
            full_in[inner_sl] = inner
            if not full_in.any():  # tiny organ at coarse voxels: keep one contents voxel
                full_in[_nearest_index(o.centre_cm, scale, xs_p, ys_p, zs_p)] = True
            shell = ndimage.binary_dilation(full_in) & ~full_in
            labels[(full_out | shell) & ~full_in] = names[f"{organ}_wall"]
            labels[full_in] = names[f"{organ}_contents"]
        elif o.name.endswith("_contents"):
            continue
        else:
            target = "lungs" if o.name.startswith("lungs") else o.name
            sub = labels[sl]
            sub[m] = names[target]
            if target in ("breasts", "testes"):  # outside the trunk/legs outline
                pass
    for o in skeleton_shapes():
        sl, m = _paint(o, xs, ys, zs)
        sub = labels[sl]
        sub[m & (sub == names["muscle"])] = names[o.name]
    # Organs the coarse grid missed get one voxel at their centre.
    for o in organs:
        name = "lungs" if o.name.startswith("lungs") else o.name.replace("_outer", "_wall")
        if name in names and not (labels == names[name]).any():
            labels[_nearest_index(o.centre_cm, scale, xs_p, ys_p, zs_p)] = names[name]
    # Skin: body surface voxels of the remaining tissue (MIRD skin is the outer 2 mm).
    outside = labels == 0
    surface = ndimage.binary_dilation(outside) & ~outside
    labels[surface & (labels == names["muscle"])] = names["skin"]
    return labels, np.asarray([xs_p[0], ys_p[0], zs_p[0]]), scale


def _nearest_index(centre_cm, scale, xs_p, ys_p, zs_p) -> tuple[int, int, int]:
    p = [c * s for c, s in zip(centre_cm, scale, strict=True)]
    return (
        int(np.argmin(np.abs(zs_p - p[2]))),
        int(np.argmin(np.abs(ys_p - p[1]))),
        int(np.argmin(np.abs(xs_p - p[0]))),
    )


def _density_material_hu(labels: np.ndarray, organ_names: Mapping[int, str]):
    lut_rho = np.full(max(organ_names) + 1, 1.04)
    lut_mat = np.full(max(organ_names) + 1, MATERIAL_SOFT, dtype=np.uint8)
    lut_hu = np.full(max(organ_names) + 1, _HU_SOFT)
    lut_rho[0], lut_mat[0], lut_hu[0] = 0.0012, MATERIAL_AIR, -1000.0
    for k, name in organ_names.items():
        if name == "lungs":
            lut_rho[k], lut_mat[k] = 0.296, MATERIAL_LUNG  # MIRD-5 lung density
        elif name in MARROW_FRACTIONS:
            lut_rho[k], lut_mat[k], lut_hu[k] = 1.4, MATERIAL_BONE, _HU_BONE
        lut_hu[k] = _HU.get(name, lut_hu[k])
    return lut_rho[labels], lut_mat[labels], lut_hu[labels]


def _checked_sex(sex: str, voxel_mm: float) -> str:
    sex = sex.removeprefix("adult-")
    if sex not in ("male", "female"):
        raise InvalidValueError("sex must be 'male' or 'female'", field="sex", value=sex)
    if not 1.0 <= voxel_mm <= 20.0:
        raise InvalidValueError("voxel size must be 1–20 mm", field="voxel_mm", value=voxel_mm)
    return sex


def _organ_names(sex: str) -> dict[int, str]:
    organ_names = {i + 1: n for i, n in enumerate(REFERENCE_LABELS)}
    absent = ("ovaries", "uterus") if sex == "male" else ("testes",)
    return {k: n for k, n in organ_names.items() if n not in absent}


@functools.lru_cache(maxsize=8)
def _fitted_build(sex: str, voxel_mm: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Labels, origin (cm) and body scale with the transverse scale fitted to ICRP 89 mass."""
    organ_names = _organ_names(sex)
    # Two passes: find the transverse scale giving the ICRP 89 body mass.
    transverse = 1.0
    for _ in range(2):
        labels, origin_cm, scale = _build(sex, voxel_mm, transverse)
        rho, _, _ = _density_material_hu(labels, organ_names)
        mass_kg = float(rho[labels > 0].sum()) * (voxel_mm / 10.0) ** 3 * 1e-3
        transverse *= float(np.sqrt(REFERENCE_MASSES_KG[sex]["total_body"] / mass_kg))
    return labels, origin_cm, scale


def shape_overlaps(sex: str, organ: str, voxel_mm: float = 4.0) -> dict[str, int]:
    """Voxels of ``organ``'s scaled shape that also lie in another organ's or bone's shape.

    The shapes are evaluated before painting (no painting order), on the grid of
    ``reference_phantom(sex, voxel_mm)``; a walled organ is its outer shape
    (``<organ>_outer``: wall + contents), the lungs are ``lungs_left``/``lungs_right``.

    Returns
    -------
    dict
        ``{other shape: number of shared voxel centres}`` for every shape sharing any;
        empty when ``organ`` overlaps nothing.

    Raises
    ------
    InvalidValueError
        Unknown sex, voxel size, or a shape name not in this phantom.
    """
    sex = _checked_sex(sex, voxel_mm)
    _, _, scale = _fitted_build(sex, voxel_mm)
    vox_cm = voxel_mm / 10.0
    phys = [(lo * s, hi * s) for (lo, hi), s in zip(BODY_BBOX_CM, scale, strict=True)]
    xs, ys, zs = (_grid_axes(lo, hi, vox_cm) / s for (lo, hi), s in zip(phys, scale, strict=True))
    shapes = [o for o in _scaled_organs(sex, scale) if not o.name.endswith("_contents")]
    shapes += skeleton_shapes()
    by_name = {o.name: o for o in shapes}
    if organ not in by_name:
        raise InvalidValueError(
            f"no shape {organ!r} in the {sex} phantom", field="organ", value=organ
        )
    shape3 = (len(zs), len(ys), len(xs))
    sl, m = _paint(by_name[organ], xs, ys, zs)
    mine = np.zeros(shape3, bool)
    mine[sl] = m
    out = {}
    for o in shapes:
        if o.name == organ:
            continue
        sl, m = _paint(o, xs, ys, zs)
        n = int((mine[sl] & m).sum())
        if n:
            out[o.name] = n
    return out


@functools.lru_cache(maxsize=8)
def reference_phantom(sex: str = "male", voxel_mm: float = 4.0) -> Phantom:
    """The stylised ICRP-89-mass adult phantom of ``sex`` on a ``voxel_mm`` grid.

    Parameters
    ----------
    sex
        ``"male"`` or ``"female"`` (``"adult-male"``/``"adult-female"`` accepted).
    voxel_mm
        Isotropic voxel size in mm (4 mm default; 8–10 mm for fast tests).

    Returns
    -------
    Phantom
        Labels, density, material, HU on an LPS grid whose origin is the base of
        the trunk (mm), plus ICRP 89 reference masses.

    Raises
    ------
    InvalidValueError
        Unknown sex or a voxel size outside 1–20 mm.
    """
    sex = _checked_sex(sex, voxel_mm)
    organ_names = _organ_names(sex)
    labels, origin_cm, _ = _fitted_build(sex, voxel_mm)
    rho, mat, hu = _density_material_hu(labels, organ_names)
    spacing = (voxel_mm, voxel_mm, voxel_mm)
    origin_mm = tuple(float(o) * 10.0 for o in origin_cm)
    ref = _target_mass_kg(sex)
    return Phantom(
        name=f"adult-{sex}",
        labels=Volume(labels, spacing, origin_mm, unit="label"),
        density=Volume(rho.astype(np.float32), spacing, origin_mm, unit="g/cm3"),
        material=mat,
        hu=Volume(hu.astype(np.float32), spacing, origin_mm, unit="HU"),
        organ_names=MappingProxyType(organ_names),
        sex=sex,
        reference_masses_kg=MappingProxyType(ref),
        marrow_fractions=MARROW_FRACTIONS,
    )
