"""Voxel phantoms for organ dosimetry: stylised ICRP-89-mass reference adults and patients.

:func:`reference_phantom` voxelises the stylised adult phantom of MIRD Pamphlet 5
revised (Snyder et al. 1978) / ORNL (Cristy & Eckerman, ORNL/TM-8381, 1987),
whose organ equations live in :mod:`immunopet.dosimetry.phantom_organs`, after

1. scaling the whole body: lengths by height / 180.35 cm (ICRP 89 Table 2.9:
   176 cm male, 163 cm female) and the transverse axes so that the body mass
   matches ICRP 89 (73 kg male, 60 kg female);
2. scaling each soft-tissue organ about its centroid so that its mass matches
   ICRP 89 Table 2.8 (walled organs: wall + contents, then the contents);
   skeletal regions are not rescaled (the MIRD skeleton, density 1.4 g/cm³).

Walls thinner than a voxel are kept at least one voxel thick (the voxels next to
the contents), so walled-organ photon doses are averages over a ≥ 1-voxel shell.
Bone marrow and bone surfaces are not resolved: red-marrow and endosteum photon
doses are approximated by the dose to the skeletal-region voxels, weighted by the
adult red-marrow distribution (Cristy 1981, Health Phys 41:103, as tabulated in
ICRP Publication 70 Table 41) for red marrow and by mass for bone surfaces.

:func:`patient_phantom` builds the same object from a patient's CT and label map
(HU → mass density with the piecewise-linear calibration of Schneider, Bortfeld
& Schlegel 2000, Phys Med Biol 45:459, Fig./Table 1 tissue line segments).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import ndimage

from ..core.errors import GeometryError, ImmunopetWarning, InvalidValueError
from ..core.volume import Volume

__all__ = [
    "MARROW_FRACTIONS",
    "MATERIAL_AIR",
    "MATERIAL_BONE",
    "MATERIAL_LUNG",
    "MATERIAL_SOFT",
    "Phantom",
    "hu_to_density_g_cm3",
    "patient_phantom",
    "reference_phantom",
]

MATERIAL_AIR, MATERIAL_SOFT, MATERIAL_LUNG, MATERIAL_BONE = 0, 1, 2, 3

#: Adult red-marrow fraction per skeletal region (Cristy 1981; ICRP 70 Table 41), grouped
#: to our regions: skull = cranium + mandible; ribs = ribs + sternum; spine = cervical +
#: thoracic + lumbar vertebrae; pelvis = sacrum + os coxae; arm_bones = humeri + scapulae +
#: clavicles; leg_bones = femora.
MARROW_FRACTIONS: Mapping[str, float] = MappingProxyType(
    {
        "skull": 0.084,
        "ribs": 0.192,
        "spine": 0.323,
        "pelvis": 0.274,
        "arm_bones": 0.059,
        "leg_bones": 0.067,
    }
)
SKELETAL_REGIONS: tuple[str, ...] = tuple(MARROW_FRACTIONS)


@dataclass(frozen=True)
class Phantom:
    """A voxel phantom: organ labels, mass density, material class, CT numbers.

    Attributes
    ----------
    name
        ``"adult-male"``, ``"adult-female"`` or ``"patient"``.
    labels
        Integer organ labels (0 = outside the body).
    density
        Mass density, g/cm³.
    material
        uint8 material class per voxel: 0 air, 1 soft tissue, 2 lung, 3 bone.
    hu
        CT numbers (HU) per voxel.
    organ_names
        ``{label: organ name}`` (shared snake_case names).
    sex
        ``"male"``, ``"female"`` or ``None``.
    reference_masses_kg
        ICRP 89 masses of the organs as modelled (small intestine with contents).
    marrow_fractions
        Red-marrow fraction per skeletal region present.
    """

    name: str
    labels: Volume
    density: Volume
    material: np.ndarray
    hu: Volume
    organ_names: Mapping[int, str]
    sex: str | None = None
    reference_masses_kg: Mapping[str, float] = field(default_factory=dict)
    marrow_fractions: Mapping[str, float] = field(default_factory=dict)

    @functools.cached_property
    def region_masses_kg(self) -> dict[str, float]:
        """Voxel mass of every labelled region (kg)."""
        lab = np.asarray(self.labels.array).ravel()
        rho = np.asarray(self.density.array, dtype=float).ravel()
        sums = np.bincount(lab, weights=rho, minlength=max(self.organ_names) + 1)
        vox_ml = self.labels.voxel_volume_ml
        return {name: float(sums[k]) * vox_ml * 1e-3 for k, name in self.organ_names.items()}

    def label_of(self, organ: str) -> int:
        """Label number of ``organ`` (raises :class:`InvalidValueError` if absent)."""
        for k, name in self.organ_names.items():
            if name == organ:
                return k
        raise InvalidValueError(
            f"organ {organ!r} is not in phantom {self.name}", field="organ", value=organ
        )

    def mass_kg(self, organ: str) -> float:
        """Mass of ``organ`` from the voxels (kg).

        Composites: ``total_body`` (all body voxels), ``skeleton`` (all skeletal
        regions); ``red_marrow`` is not resolved and returns its reference mass.
        """
        masses = self.region_masses_kg
        if organ in masses:
            return masses[organ]
        if organ == "total_body":
            return float(sum(masses.values()))
        if organ in ("skeleton", "bone_surfaces"):
            return float(sum(masses[r] for r in self.marrow_fractions))
        if organ == "red_marrow":
            return self.reference_mass_kg("red_marrow")
        raise InvalidValueError(
            f"organ {organ!r} is not in phantom {self.name}", field="organ", value=organ
        )

    def reference_mass_kg(self, organ: str) -> float:
        """ICRP 89 mass of ``organ`` (kg); the voxel mass when no reference exists."""
        if organ in self.reference_masses_kg:
            return float(self.reference_masses_kg[organ])
        return self.mass_kg(organ)


# Schneider et al. 2000 (Phys Med Biol 45:459), piecewise-linear HU → mass density for
# body tissues: air/lung segment, adipose–soft tissue, soft tissue, and the bone line.
_SCHNEIDER_HU = np.array([-1000.0, -98.0, -97.0, 14.0, 23.0, 100.0, 101.0, 1600.0, 3000.0])
_SCHNEIDER_RHO = np.array([0.00121, 0.93, 0.93, 1.03, 1.031, 1.119, 1.076, 1.964, 2.8])


def hu_to_density_g_cm3(hu: np.ndarray) -> np.ndarray:
    """Mass density (g/cm³) from CT numbers, piecewise-linear (Schneider et al. 2000)."""
    return np.interp(np.asarray(hu, dtype=float), _SCHNEIDER_HU, _SCHNEIDER_RHO)


def patient_phantom(ct: Volume, labels: Volume, label_names: Mapping[int, str]) -> Phantom:
    """A phantom from a patient's CT (HU) and organ label map.

    Body voxels without a label become the region ``"muscle"`` (remaining
    tissue); voxels below −950 HU outside every label are air. Materials by HU:
    lung −950…−200 HU, bone > 200 HU, soft tissue otherwise (labelled voxels are
    never air). The label map is resampled (nearest) onto the CT grid if needed.

    Raises
    ------
    GeometryError
        If the label map cannot be put on the CT grid.
    InvalidValueError
        If ``label_names`` is empty or uses label 0.
    """
    if not label_names or 0 in label_names:
        raise InvalidValueError(
            "label_names must map positive labels to organ names", field="label_names"
        )
    if not labels.same_grid(ct):
        try:
            labels = labels.resample_like(ct, interpolator="nearest")
        except Exception as exc:  # SimpleITK errors
            raise GeometryError(f"cannot resample the label map onto the CT grid: {exc}") from exc
    hu = np.asarray(ct.array, dtype=float)
    lab_in = np.asarray(labels.array).astype(np.int64)
    names = sorted(set(label_names.values()))
    organ_names = {i + 1: n for i, n in enumerate(names)}
    rest_label = len(organ_names) + 1 if "muscle" not in names else names.index("muscle") + 1
    organ_names.setdefault(rest_label, "muscle")
    remap = np.zeros(max(max(label_names), int(lab_in.max())) + 1, dtype=np.int16)
    for k, n in label_names.items():
        remap[k] = names.index(n) + 1
    out = remap[np.clip(lab_in, 0, None)]
    body = hu > -950.0
    # Fill enclosed air (bowel gas, trachea) slice by slice; labelled voxels are body.
    body = np.stack([ndimage.binary_fill_holes(sl) for sl in body]) | (out > 0)
    out[(out == 0) & body] = rest_label
    rho = hu_to_density_g_cm3(hu)
    rho[out == 0] = 0.00121
    mat = np.full(hu.shape, MATERIAL_SOFT, dtype=np.uint8)
    mat[hu <= -200.0] = MATERIAL_LUNG
    mat[hu > 200.0] = MATERIAL_BONE
    mat[out == 0] = MATERIAL_AIR
    rho = np.where(out > 0, np.maximum(rho, 0.05), rho)
    present = set(np.unique(out).tolist())
    empty = sorted(n for k, n in organ_names.items() if k not in present)
    if empty:
        # A named label with no voxel on the CT grid (e.g. a female organ in a male
        # patient's names file) is neither a source nor a target of this patient.
        warnings.warn(
            f"label(s) without voxels on the CT grid, not in the patient phantom: {empty}",
            ImmunopetWarning,
            stacklevel=2,
        )
        organ_names = {k: n for k, n in organ_names.items() if k in present}
    return Phantom(
        name="patient",
        labels=ct.with_array(out, unit="label"),
        density=ct.with_array(rho.astype(np.float32), unit="g/cm3"),
        material=mat,
        hu=ct,
        organ_names=MappingProxyType(organ_names),
        sex=None,
        reference_masses_kg=MappingProxyType({}),
        marrow_fractions=MappingProxyType({}),
    )


from .stylised import reference_phantom  # noqa: E402  (needs Phantom)
