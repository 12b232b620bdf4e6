"""CT numbers (HU) → mass density (g/cm³), and the densities of the kernels' media.

The calibration is the piecewise-linear HU → density relation of Schneider, Bortfeld &
Schlegel, "Correlation between CT numbers and tissue parameters needed for Monte Carlo
simulations of clinical dose distributions", Phys Med Biol 2000;45:459–478, with the
nodes as tabulated for Monte Carlo use in GATE's ``Schneider2000DensitiesTable.txt``
(air/lung → adipose → soft tissue → skeletal segments, each a straight line; the step
at 100/101 HU separates soft tissue from the bone-marrow mixtures). Above the last node
the skeletal line is extrapolated. The calibration belongs to the scanner and its kVp: a
user's own (HU, density) table may be passed instead.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import InvalidValueError, UnsupportedDataError
from ...core.volume import Volume

__all__ = ["MEDIUM_DENSITY_G_CM3", "SCHNEIDER_2000_HU_DENSITY", "ct_density", "hu_to_density"]

#: (HU, g/cm³) nodes of the Schneider et al. (2000) calibration (GATE Schneider2000 table).
SCHNEIDER_2000_HU_DENSITY: tuple[tuple[float, float], ...] = (
    (-1000.0, 0.00121),
    (-98.0, 0.93),
    (-97.0, 0.930486),
    (14.0, 1.03),
    (23.0, 1.031),
    (100.0, 1.1199),
    (101.0, 1.0762),
    (1600.0, 1.9642),
)

#: Densities (g/cm³) of the homogeneous media dose kernels are computed in, used only when
#: :mod:`immunopet.dosimetry.kernels.media` (the one source) is not installed: liquid
#: water; ICRU soft tissue at 1.04 g/cm³ (the density of Lanconelli et al., Phys Med Biol
#: 2012;57:517, which the kernels follow); ICRU-44 cortical bone 1.92 g/cm³ (ICRU Report 44).
MEDIUM_DENSITY_G_CM3: dict[str, float] = {"water": 1.0, "soft_tissue": 1.04, "bone": 1.92}


def hu_to_density(
    hu: np.ndarray, table: tuple[tuple[float, float], ...] = SCHNEIDER_2000_HU_DENSITY
) -> np.ndarray:
    """Mass density (g/cm³, float32) of CT numbers, by a piecewise-linear calibration.

    Parameters
    ----------
    hu
        CT numbers (HU).
    table
        (HU, density) nodes in increasing HU; below the first node the first density is
        used, above the last the last segment is extrapolated.

    Raises
    ------
    InvalidValueError
        A table with fewer than two nodes or HU not increasing.
    """
    nodes = np.asarray(table, dtype=np.float64)
    if nodes.ndim != 2 or nodes.shape[0] < 2 or np.any(np.diff(nodes[:, 0]) <= 0):
        raise InvalidValueError(
            "an HU → density table needs ≥ 2 (HU, g/cm³) nodes with increasing HU",
            field="hu_density_table",
        )
    x = np.asarray(hu, dtype=np.float32)
    rho = np.interp(x, nodes[:, 0], nodes[:, 1]).astype(np.float32)
    (h0, d0), (h1, d1) = nodes[-2], nodes[-1]
    high = x > h1
    if np.any(high):
        rho[high] = (d1 + (x[high] - h1) * (d1 - d0) / (h1 - h0)).astype(np.float32)
    return rho


def ct_density(
    ct: Volume, table: tuple[tuple[float, float], ...] = SCHNEIDER_2000_HU_DENSITY
) -> Volume:
    """Density map (g/cm³) of a CT volume in HU (see :func:`hu_to_density`).

    Raises
    ------
    UnsupportedDataError
        A volume whose unit says it is not in HU.
    """
    if ct.unit and ct.unit.upper() not in ("HU", "HOUNSFIELD"):
        raise UnsupportedDataError(
            f"a density map needs a CT in HU, got unit {ct.unit!r}", field="unit", value=ct.unit
        )
    return ct.with_array(hu_to_density(np.asarray(ct.array)), unit="g/cm3")
