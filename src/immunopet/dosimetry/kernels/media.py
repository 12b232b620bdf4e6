"""Homogeneous media of the point and voxel kernels.

Each medium names the NIST ESTAR material (NIST Standard Reference Database 124; Berger,
Coursey, Zucker & Chang) whose electron stopping powers and composition generate the
electron point kernels (``scripts/make_point_kernels.py``), the photon material of
:mod:`immunopet.dosimetry.xsections` (NIST XCOM, ICRU-44 compositions) and the density at
which kernels are used. Kernels are computed per unit density in mass-thickness units
(g/cm²) and scaled to the medium's density: in a homogeneous medium every interaction
length scales as 1/ρ, so r·ρ is the invariant distance (O'Brien's scaling theorem for
electrons and photons; ICRU Report 35 §2).

=============== ===================================== ============== ===============
name            ESTAR material                        XCOM material  density g/cm³
=============== ===================================== ============== ===============
``water``       Water, liquid                         water          1.00
``soft_tissue`` Tissue, soft (ICRU four-component)    soft_tissue    1.04 (a)
``bone``        Bone, cortical (ICRP)                 cortical_bone  1.92 (b)
=============== ===================================== ============== ===============

(a) the density of ICRU soft tissue used by Lanconelli et al., Phys Med Biol
2012;57:517 (DOSXYZnrc voxel S values); (b) ICRU Report 44 cortical bone, as in the same
database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import InvalidValueError

__all__ = ["MEDIA", "Medium", "get_medium"]


@dataclass(frozen=True)
class Medium:
    """A homogeneous kernel medium (see the module table)."""

    name: str
    density_g_cm3: float
    estar_material: str
    photon_material: str


MEDIA: dict[str, Medium] = {
    "water": Medium("water", 1.00, "WATER_LIQUID", "water"),
    "soft_tissue": Medium("soft_tissue", 1.04, "TISSUE_SOFT_ICRU_FOUR_COMPONENT", "soft_tissue"),
    "bone": Medium("bone", 1.92, "BONE_CORTICAL_ICRP", "cortical_bone"),
}


def get_medium(name: str) -> Medium:
    """The medium called ``name`` (``water``, ``soft_tissue`` or ``bone``).

    Raises
    ------
    InvalidValueError
        Unknown name; the message lists the valid ones.
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = {"tissue": "soft_tissue", "cortical_bone": "bone"}.get(key, key)
    if key not in MEDIA:
        raise InvalidValueError(
            f"unknown kernel medium {name!r}; choose one of {', '.join(MEDIA)}",
            field="medium",
            value=name,
        )
    return MEDIA[key]
