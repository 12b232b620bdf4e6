"""Organ shapes of the stylised (MIRD / ORNL) adult phantom, in phantom coordinates.

Geometry follows the adult stylised phantom of MIRD Pamphlet 5 revised
(Snyder, Ford, Warner, Watson 1978) as extended by Cristy & Eckerman
(ORNL/TM-8381, 1987): an elliptical-cylinder trunk (semi-axes 20 × 10 cm,
70 cm high, z = 0 at the base of the trunk), a neck, an elliptical head, two
truncated-cone legs, and organs as ellipsoids, elliptical cylinders, half-annuli
and cut planes. Coordinates are in cm, x towards the phantom's left, y
posterior, z superior (the MIRD convention, which coincides with DICOM LPS).

Approximations (stated, not hidden):
- the heart is one ellipsoid with an inner "contents" ellipsoid (CE 1987 uses
  rotated half-ellipsoids per chamber); gallbladder is an ellipsoid (CE: cone +
  hemisphere); the rectosigmoid colon is a capsule (CE: tori);
- the oesophagus is absent from CE 1987; it was added to the ORNL series by
  Eckerman, Cristy & Ryman (1996, "The ORNL mathematical phantom series",
  ORNL report), whose equations we could not read. Ours is placed from anatomy
  alone (Gray's Anatomy, ed. Standring, 41st ed. 2016: the thoracic oesophagus
  runs in the posterior mediastinum, behind the trachea and then the left
  atrium, in front of the vertebral bodies, deviating to the left to pass the
  diaphragm): a tube of radius 0.6 cm (unscaled) from z = 68 cm down to 40 cm,
  on the midline in front of the vertebral bodies above the heart, then
  left-posterior (x = 2.9 cm, y = 3.9 cm) behind the heart, between the heart, the left lung and the
  vertebral bodies. It overlaps no other organ or bone (v1 of this phantom ran
  it through the heart ellipsoid);
- the uterus keeps the MIRD-5 / CE semi-axes (2.5, 1.5, 4 cm) but its centre
  moves from (0, −2, 14) to (0, 0.3, 13.1) cm: at the MIRD centre, and after the
  ICRP 89 mass scaling, it reached into the top of the urinary bladder (v1 of
  this phantom painted it over the bladder wall, next to the contents). Now it
  lies behind and above the bladder, resting on its wall, in front of the
  rectosigmoid and below the small-intestine region, and overlaps no other
  organ or bone (checked by ``stylised.shape_overlaps`` in the tests). Other
  MIRD-style overlaps resolved by painting order remain (heart over lungs,
  organs over the small-intestine region, as in MIRD-5's region definitions);
- the rib cage is a band-modulated elliptical shell 1 cm thick (CE: 12 thin
  ribs), so that it survives 4–6 mm voxels; scapulae and clavicles are omitted,
  the facial skeleton too;
- organ sizes are afterwards scaled about each organ's centroid so that their
  masses match ICRP Publication 89 (see :mod:`immunopet.dosimetry.phantom`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["OrganShape", "body_mask", "organ_shapes", "skeleton_shapes"]

Predicate = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OrganShape:
    """One organ (or skeletal region): a predicate on (x, y, z) in cm and its bounding box.

    ``scale`` shrinks/grows the shape about ``centre_cm``: the predicate is
    evaluated at ``centre + (p - centre) / scale``.
    """

    name: str
    inside: Predicate
    bbox_cm: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    density_g_cm3: float = 1.04
    centre_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the (scaled) shape."""
        if self.scale == 1.0:
            return self.inside(x, y, z)
        cx, cy, cz = self.centre_cm
        s = self.scale
        return self.inside(cx + (x - cx) / s, cy + (y - cy) / s, cz + (z - cz) / s)

    def scaled_bbox_cm(self) -> tuple[tuple[float, float], ...]:
        """Bounding box after scaling about the centre."""
        out = []
        for (lo, hi), c in zip(self.bbox_cm, self.centre_cm, strict=True):
            out.append((c + (lo - c) * self.scale, c + (hi - c) * self.scale))
        return tuple(out)


def _ellipsoid(c: tuple[float, float, float], a: tuple[float, float, float]) -> Predicate:
    def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ((x - c[0]) / a[0]) ** 2 + ((y - c[1]) / a[1]) ** 2 + ((z - c[2]) / a[2]) ** 2 <= 1.0

    return f


def _ell_cyl(cx: float, cy: float, a: float, b: float, z0: float, z1: float) -> Predicate:
    def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return (((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0) & (z >= z0) & (z <= z1)

    return f


def _capsule(p0: tuple[float, float, float], p1: tuple[float, float, float], r: float) -> Predicate:
    a = np.asarray(p0, dtype=float)
    d = np.asarray(p1, dtype=float) - a
    dd = float(d @ d)

    def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / dd, 0.0, 1.0)
        return (x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (
            z - a[2] - t * d[2]
        ) ** 2 <= r * r

    return f


def _union(*preds: Predicate) -> Predicate:
    def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = preds[0](x, y, z)
        for p in preds[1:]:
            out = out | p(x, y, z)
        return out

    return f


# Trunk 0–70 cm, neck 70–78.4 cm, head cylinder 78.4–91.45 cm with a dome to 100.35 cm,
# legs −80–0 cm (MIRD-5 revised; neck from Cristy & Eckerman 1987).
Z_NECK, Z_HEAD, Z_DOME = 70.0, 78.4, 91.45
BODY_BBOX_CM = ((-20.5, 20.5), (-15.0, 10.5), (-80.0, 100.5))


def body_mask(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The body outline: trunk, neck, head, legs (without breasts and testes)."""
    trunk = ((x / 20.0) ** 2 + (y / 10.0) ** 2 <= 1.0) & (z >= 0.0) & (z <= Z_NECK)
    neck = (x**2 + y**2 <= 5.4**2) & (z > Z_NECK) & (z <= Z_HEAD)
    head_cyl = ((x / 7.0) ** 2 + (y / 10.0) ** 2 <= 1.0) & (z > Z_HEAD) & (z <= Z_DOME)
    dome = ((x / 7.0) ** 2 + (y / 10.0) ** 2 + ((z - Z_DOME) / 8.9) ** 2 <= 1.0) & (z > Z_DOME)
    r_leg = 10.0 * (1.0 + z / 160.0)
    legs = (
        (((x - 10.0) ** 2 + y**2 <= r_leg**2) | ((x + 10.0) ** 2 + y**2 <= r_leg**2))
        & (z >= -80.0)
        & (z < 0.0)
    )
    return trunk | neck | head_cyl | dome | legs


# Oesophagus (our placement, see the module docstring): a tube of radius _OES_R through
# these points (cm), cut to 40 ≤ z ≤ 68 (clear of the cervical spine after mass scaling):
# midline in front of the vertebral bodies above the heart, then left-posterior behind the
# heart (posterior mediastinum, beside the descending aorta) down to the diaphragm.
_OES_R = 0.60
_OES_PATH_CM = ((0.0, 2.0, 70.0), (0.0, 2.0, 60.0), (2.9, 3.7, 56.0), (2.9, 3.9, 39.0))

#: Uterus centre (cm): MIRD-5 / CE 1987 give (0, −2, 14) with the same semi-axes, which
#: puts it into the bladder's top; moved 2.3 cm posterior and 0.9 cm down (behind the
#: bladder, in front of the rectosigmoid, below the small-intestine region).
_UTERUS_CENTRE_CM = (0.0, 0.3, 13.1)


_OES_TUBE = _union(*(_capsule(a, b, _OES_R) for a, b in itertools.pairwise(_OES_PATH_CM)))


def _oesophagus(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    return _OES_TUBE(x, y, z) & (z >= 40.0) & (z <= 68.0)


def organ_shapes() -> list[OrganShape]:
    """Soft-tissue organs in painting order (later shapes overwrite earlier ones).

    Walled organs are given as ``<organ>_outer`` (wall + contents) followed by
    ``<organ>_contents``; the phantom builder turns the shell into the wall.
    """

    def e(
        name: str, c: tuple[float, float, float], a: tuple[float, float, float], rho: float = 1.04
    ):
        bbox = tuple((ci - ai, ci + ai) for ci, ai in zip(c, a, strict=True))
        return OrganShape(name, _ellipsoid(c, a), bbox, rho, c)  # type: ignore[arg-type]

    def lung(sign: float) -> Predicate:
        cx = 8.5 * sign

        def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
            return (((x - cx) / 5.0) ** 2 + (y / 7.5) ** 2 + ((z - 43.5) / 24.0) ** 2 <= 1.0) & (
                z >= 43.5
            )

        return f

    def liver(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        # MIRD-5 revised: elliptical cylinder cut by the plane x/35 + y/45 − z/43 ≤ −1.
        return (
            ((x / 16.5) ** 2 + (y / 8.0) ** 2 <= 1.0)
            & (x / 35.0 + y / 45.0 - z / 43.0 <= -1.0)
            & (z >= 27.0)
            & (z <= 43.0)
        )

    def kidneys(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        k = ((np.abs(x) - 6.0) / 4.5) ** 2 + ((y - 6.0) / 1.5) ** 2 + ((z - 32.5) / 5.5) ** 2
        return (k <= 1.0) & (np.abs(x) >= 3.0)

    def pancreas(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ((x / 16.0) ** 2 + (y / 1.0) ** 2 + ((z - 37.0) / 3.0) ** 2 <= 1.0) & (x >= 0.0)

    def thyroid(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        # Half annulus in front of the trachea (MIRD-5 thyroid lobes).
        r2 = x**2 + (y + 2.0) ** 2
        return (r2 >= 1.0) & (r2 <= 2.2**2) & (y <= -2.0) & (z >= 70.6) & (z <= 74.6)

    def adrenals(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ((np.abs(x) - 4.5) / 1.5) ** 2 + ((y - 6.5) / 0.5) ** 2 + (
            (z - 39.5) / 2.5
        ) ** 2 <= 1.0

    right_colon = _union(
        _ell_cyl(-8.5, -2.36, 2.5, 2.5, 14.5, 24.0),
        lambda x, y, z: (
            (((y + 2.36) / 2.5) ** 2 + ((z - 25.5) / 1.5) ** 2 <= 1.0) & (x >= -10.5) & (x < 0.0)
        ),
    )
    left_colon = _union(
        _ell_cyl(9.0, -3.97, 1.88, 2.09, 8.72, 24.0),
        lambda x, y, z: (
            (((y + 2.36) / 2.5) ** 2 + ((z - 25.5) / 1.5) ** 2 <= 1.0) & (x >= 0.0) & (x <= 10.5)
        ),
    )
    rectosigmoid = _union(
        _capsule((9.0, -3.0, 9.0), (2.0, 1.0, 6.0), 1.6),
        _capsule((2.0, 1.0, 6.0), (0.0, 4.0, 1.0), 1.6),
    )

    return [
        OrganShape(
            "lungs_right",
            lung(-1.0),
            ((-13.5, -3.5), (-7.5, 7.5), (43.5, 67.5)),
            0.296,
            (-8.5, 0.0, 53.7),
        ),
        OrganShape(
            "lungs_left",
            lung(1.0),
            ((3.5, 13.5), (-7.5, 7.5), (43.5, 67.5)),
            0.296,
            (8.5, 0.0, 53.7),
        ),
        OrganShape(
            "small_intestine",
            _ell_cyl(0.0, -3.8, 11.3, 4.9, 17.0, 27.0),
            ((-11.3, 11.3), (-8.7, 1.1), (17.0, 27.0)),
            1.04,
            (0.0, -3.8, 22.0),
        ),
        OrganShape(
            "right_colon",
            right_colon,
            ((-11.0, 0.0), (-4.9, 0.2), (14.5, 27.0)),
            1.04,
            (-6.5, -2.36, 22.0),
        ),
        OrganShape(
            "left_colon",
            left_colon,
            ((0.0, 11.0), (-6.1, 0.2), (8.7, 27.0)),
            1.04,
            (6.5, -3.2, 20.0),
        ),
        OrganShape(
            "rectosigmoid_colon",
            rectosigmoid,
            ((-1.6, 10.6), (-4.6, 5.6), (-0.6, 10.6)),
            1.04,
            (3.5, 0.5, 5.5),
        ),
        OrganShape(
            "liver", liver, ((-16.5, 16.5), (-8.0, 8.0), (27.0, 43.0)), 1.04, (-7.0, 0.0, 37.0)
        ),
        e("gallbladder_outer", (-4.5, -3.2, 30.0), (2.0, 2.0, 4.0)),
        e("gallbladder_contents", (-4.5, -3.2, 30.0), (2.0, 2.0, 4.0)),
        OrganShape(
            "pancreas", pancreas, ((0.0, 16.0), (-1.0, 1.0), (34.0, 40.0)), 1.04, (6.0, 0.0, 37.0)
        ),
        e("stomach_outer", (8.0, -4.0, 35.0), (4.0, 3.0, 8.0)),
        e("stomach_contents", (8.0, -4.0, 35.0), (4.0, 3.0, 8.0)),
        e("spleen", (11.0, 3.0, 37.0), (3.5, 2.0, 6.0)),
        OrganShape(
            "kidneys", kidneys, ((-10.5, 10.5), (4.5, 7.5), (27.0, 38.0)), 1.04, (0.0, 6.0, 32.5)
        ),
        OrganShape(
            "adrenals", adrenals, ((-6.0, 6.0), (6.0, 7.0), (37.0, 42.0)), 1.04, (0.0, 6.5, 39.5)
        ),
        e("heart_outer", (1.5, -2.0, 51.5), (6.0, 4.5, 6.5)),
        e("heart_contents", (1.5, -2.0, 51.5), (6.0, 4.5, 6.5)),
        e("thymus", (0.0, -7.0, 60.0), (2.5, 1.0, 3.5)),
        OrganShape(
            "oesophagus",
            _oesophagus,
            ((-_OES_R, 2.9 + _OES_R), (2.0 - _OES_R, 3.9 + _OES_R), (40.0, 68.0)),
            1.04,
            (1.8, 3.3, 52.0),
        ),
        OrganShape(
            "thyroid", thyroid, ((-2.2, 2.2), (-4.2, -2.0), (70.6, 74.6)), 1.04, (0.0, -3.2, 72.6)
        ),
        e("brain", (0.0, 0.0, Z_DOME), (6.0, 9.0, 6.5)),
        e("urinary_bladder_outer", (0.0, -4.5, 8.0), (4.958, 3.458, 3.458)),
        e("urinary_bladder_contents", (0.0, -4.5, 8.0), (4.958, 3.458, 3.458)),
        e("uterus", _UTERUS_CENTRE_CM, (2.5, 1.5, 4.0)),
        OrganShape(
            "ovaries",
            lambda x, y, z: (
                ((np.abs(x) - 6.0) / 1.0) ** 2 + (y / 0.5) ** 2 + ((z - 20.0) / 2.0) ** 2 <= 1.0
            ),
            ((-7.0, 7.0), (-0.5, 0.5), (18.0, 22.0)),
            1.04,
            (0.0, 0.0, 20.0),
        ),
        OrganShape(
            "testes",
            lambda x, y, z: (
                ((np.abs(x) - 1.3) / 1.3) ** 2 + ((y + 8.0) / 1.5) ** 2 + ((z + 2.3) / 2.3) ** 2
                <= 1.0
            ),
            ((-2.6, 2.6), (-9.5, -6.5), (-4.6, 0.0)),
            1.04,
            (0.0, -8.0, -2.3),
        ),
        OrganShape(
            "breasts",
            lambda x, y, z: (
                ((np.abs(x) - 10.0) / 4.8) ** 2 + ((y + 9.0) / 4.8) ** 2 + ((z - 51.0) / 4.8) ** 2
                <= 1.0
            ),
            ((-14.8, 14.8), (-13.8, -4.2), (46.2, 55.8)),
            1.02,
            (0.0, -9.0, 51.0),
        ),
    ]


def skeleton_shapes() -> list[OrganShape]:
    """Skeletal regions (density 1.4 g/cm³, the MIRD skeleton mixture)."""

    def skull(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        inner = (x / 6.0) ** 2 + (y / 9.0) ** 2 + ((z - Z_DOME) / 6.5) ** 2
        outer = (x / 6.8) ** 2 + (y / 9.8) ** 2 + ((z - Z_DOME) / 8.3) ** 2
        return (inner > 1.0) & (outer <= 1.0)

    def spine(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        thoraco_lumbar = (
            ((x / 2.0) ** 2 + ((y - 5.5) / 2.5) ** 2 <= 1.0) & (z >= 22.0) & (z <= Z_NECK)
        )
        cervical = (x**2 + (y - 2.5) ** 2 <= 1.5**2) & (z > Z_NECK) & (z <= Z_HEAD)
        return thoraco_lumbar | cervical

    def pelvis(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        outer = x**2 + (y + 3.0) ** 2 <= 12.0**2
        inner = x**2 + (y + 3.8) ** 2 >= 10.8**2
        girdle = outer & inner & (y >= -3.0) & (z >= 8.0) & (z <= 22.0)
        sacrum = ((x / 2.0) ** 2 + ((y - 5.5) / 2.5) ** 2 <= 1.0) & (z >= 12.0) & (z < 22.0)
        return girdle | sacrum

    def ribs(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        inner = (x / 16.2) ** 2 + (y / 9.0) ** 2
        outer = (x / 17.2) ** 2 + (y / 9.8) ** 2
        band = np.mod(z - 35.1, 2.7) < 1.35
        return (inner > 1.0) & (outer <= 1.0) & band & (z >= 35.1) & (z <= 67.5)

    def arms(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ((np.abs(x) - 18.4) / 1.4) ** 2 + (y / 2.7) ** 2 <= 1.0

    def legs(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return ((np.abs(x) - 10.0) ** 2 + y**2 <= 1.8**2) & (z >= -78.0) & (z < 8.0)

    rho = 1.4
    return [
        OrganShape(
            "skull",
            skull,
            ((-6.8, 6.8), (-9.8, 9.8), (Z_DOME - 8.3, Z_DOME + 8.3)),
            rho,
            (0.0, 0.0, Z_DOME),
        ),
        OrganShape(
            "spine", spine, ((-2.0, 2.0), (1.0, 8.0), (22.0, Z_HEAD)), rho, (0.0, 5.0, 50.0)
        ),
        OrganShape(
            "pelvis", pelvis, ((-12.0, 12.0), (-3.0, 9.0), (8.0, 22.0)), rho, (0.0, 5.0, 15.0)
        ),
        OrganShape("ribs", ribs, ((-17.2, 17.2), (-9.8, 9.8), (35.1, 67.5)), rho, (0.0, 0.0, 51.0)),
        OrganShape(
            "arm_bones",
            _ell_cyl_abs(18.4, 1.4, 2.7, 2.0, 68.0, arms),
            ((-19.8, 19.8), (-2.7, 2.7), (2.0, 68.0)),
            rho,
            (0.0, 0.0, 35.0),
        ),
        OrganShape(
            "leg_bones", legs, ((-11.8, 11.8), (-1.8, 1.8), (-78.0, 8.0)), rho, (0.0, 0.0, -35.0)
        ),
    ]


def _ell_cyl_abs(cx: float, a: float, b: float, z0: float, z1: float, base: Predicate) -> Predicate:
    def f(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return base(x, y, z) & (z >= z0) & (z <= z1)

    return f
