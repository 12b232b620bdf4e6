"""Dose voxel kernels: a nuclide's point kernel integrated over source and target voxels.

For activity uniform in the source voxel S (box of sides a = (a_x, a_y, a_z)) and a
target voxel T offset by o·a (o integer), the energy deposited in T per decay is

    E_T = ∫ F(r) G_T(r) dr,   G_T(r) = ⟨ Π_k h(o_k − r ω_k / a_k) ⟩_ω ,  h(t) = max(0, 1 − |t|),

with F(r) dr the energy deposited per decay in the shell [r, r + dr] around a point source
(:func:`~.point_kernel.radial_energy_deposition`) and G_T the probability that a point at
distance r in a random direction ω from a random point of S lies in T. It follows from
the overlap volume of two axis-aligned boxes, |S ∩ (T − rω)| = Π_k (a_k − |a_k o_k −
r ω_k|)₊ (the set covariogram; Berger's geometric reduction factor, MIRD Pamphlet 7,
for a cube). No point sampling at voxel centres: the integral over both voxel volumes is
exact; only r (shells) and ω (a quadrature) are discretised. Because the hat functions h
form a partition of unity, Σ_T G_T(r) = 1 for every direction, so the kernel conserves the
energy that lands inside the grid exactly, whatever the direction quadrature.

Numerically each shell's energy is spread over a rotated Fibonacci (golden-spiral) set of
directions at the shell's mid radius, each point distributing its share trilinearly (the
hat product) over the 8 voxels around it; shells are geometric up to 3 voxels (first edge
10⁻⁴ voxel) and a quarter voxel wide beyond, with ≥ 6 points per voxel face area. The
kernel is then averaged over the reflections (and, for cubic voxels, the permutations) of
the axes, which the exact kernel obeys.

Dose per decay = E_T / (ρ V); reported in mGy/(MBq·s) = 10⁹ × Gy per decay.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numba
import numpy as np

from ...core.errors import InvalidValueError
from ...core.nuclides import Nuclide, parse_nuclide_name
from ..emission import MEV_TO_J
from .media import get_medium
from .point_kernel import csda_range_cm, electron_sources, radial_energy_deposition

__all__ = ["DEFAULT_HALF_EXTENT_MM", "VoxelKernel", "dose_voxel_kernel", "kernel_cache_dir"]

#: Default physical half-extent of the kernel grid (mm); at most ``_MAX_HALF_WIDTH`` voxels.
DEFAULT_HALF_EXTENT_MM = 100.0
_MAX_HALF_WIDTH = 40
_ALGORITHM_VERSION = "1"
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


@dataclass(frozen=True, eq=False)  # identity equality and hash: the array is not hashable
class VoxelKernel:
    """Dose to each voxel per decay in the centre voxel, in mGy/(MBq·s).

    Attributes
    ----------
    array_mgy_per_mbq_s
        float32, shape (nz, ny, nx), all odd; the source voxel is the centre element
        ``[nz // 2, ny // 2, nx // 2]`` and element ``[c_z + k, c_y + j, c_x + i]`` is the
        target offset by (i, j, k) voxels along (x, y, z). Symmetric under every axis
        reflection, so dose map (mGy) = TIA map (MBq·s, same grid) ⊛ kernel (linear
        convolution) in a homogeneous medium. Read-only.
    voxel_mm
        Voxel size (x, y, z) in mm.
    medium
        ``"water"``, ``"soft_tissue"`` or ``"bone"``.
    nuclide
        Canonical nuclide name.
    escaped_energy_fraction
        Fraction of the energy emitted per decay that is not deposited inside the grid
        (photons, including bremsstrahlung, and electrons leaving it).
    method
        How the kernel was made (one line).
    """

    array_mgy_per_mbq_s: np.ndarray
    voxel_mm: tuple[float, float, float]
    medium: str
    nuclide: str
    escaped_energy_fraction: float
    method: str

    @property
    def centre_mgy_per_mbq_s(self) -> float:
        """Self-dose of the source voxel."""
        nz, ny, nx = self.array_mgy_per_mbq_s.shape
        return float(self.array_mgy_per_mbq_s[nz // 2, ny // 2, nx // 2])

    @property
    def half_width(self) -> tuple[int, int, int]:
        """Voxels from the centre to the edge along (x, y, z)."""
        nz, ny, nx = self.array_mgy_per_mbq_s.shape
        return nx // 2, ny // 2, nz // 2

    @property
    def voxel_mass_g(self) -> float:
        """Mass of one voxel at the medium's kernel density."""
        vx, vy, vz = self.voxel_mm
        return vx * vy * vz * 1e-3 * get_medium(self.medium).density_g_cm3


@numba.njit(cache=True)
def _splat(r_mid, e_shell, n_dir, rot, a, hw):
    hx, hy, hz = hw[0], hw[1], hw[2]
    k = np.zeros((2 * hz + 1, 2 * hy + 1, 2 * hx + 1))
    outside = 0.0
    for b in range(r_mid.size):
        n = n_dir[b]
        if e_shell[b] == 0.0:
            continue
        wgt = e_shell[b] / n
        for i in range(n):
            cz = 1.0 - (2.0 * i + 1.0) / n
            s = math.sqrt(max(0.0, 1.0 - cz * cz))
            phi = i * _GOLDEN_ANGLE
            cx = s * math.cos(phi)
            cy = s * math.sin(phi)
            p0 = r_mid[b] * (rot[b, 0, 0] * cx + rot[b, 0, 1] * cy + rot[b, 0, 2] * cz) / a[0]
            p1 = r_mid[b] * (rot[b, 1, 0] * cx + rot[b, 1, 1] * cy + rot[b, 1, 2] * cz) / a[1]
            p2 = r_mid[b] * (rot[b, 2, 0] * cx + rot[b, 2, 1] * cy + rot[b, 2, 2] * cz) / a[2]
            ix = math.floor(p0)
            iy = math.floor(p1)
            iz = math.floor(p2)
            fx = p0 - ix
            fy = p1 - iy
            fz = p2 - iz
            for dz in range(2):
                wz = fz if dz else 1.0 - fz
                jz = iz + dz
                for dy in range(2):
                    wy = fy if dy else 1.0 - fy
                    jy = iy + dy
                    for dx in range(2):
                        wx = fx if dx else 1.0 - fx
                        jx = ix + dx
                        w = wgt * wx * wy * wz
                        if abs(jx) <= hx and abs(jy) <= hy and abs(jz) <= hz:
                            k[jz + hz, jy + hy, jx + hx] += w
                        else:
                            outside += w
    return k, outside


def _shell_edges_cm(a_cm: np.ndarray, hw: np.ndarray) -> np.ndarray:
    r_far = float(np.sqrt(np.sum(((hw + 1.0) * a_cm) ** 2)))
    r_near = 3.0 * float(a_cm.max())
    near = np.geomspace(1e-4 * a_cm.min(), min(r_near, r_far), 320)
    far = np.arange(r_near, r_far + 0.25 * a_cm.min(), 0.25 * a_cm.min())[1:]
    return np.concatenate([[0.0], near, far if r_far > r_near else []])


def _rotations(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, 3, 3)))
    return np.ascontiguousarray(q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :])


def _symmetrise(k: np.ndarray, cubic: bool) -> np.ndarray:
    out = np.zeros_like(k)
    flips = [f for n in range(4) for f in itertools.combinations((0, 1, 2), n)]
    for f in flips:
        out += np.flip(k, axis=f) if f else k
    out /= len(flips)
    if cubic:
        out = sum(np.transpose(out, p) for p in itertools.permutations((0, 1, 2))) / 6.0
    return out


def _default_half_width(nuclide: str, medium: str, a_mm: np.ndarray) -> np.ndarray:
    e, _, _ = electron_sources(nuclide)
    reach_mm = 10.0 * float(csda_range_cm(e.max(), medium)) if e.size else 0.0
    hw = np.ceil(DEFAULT_HALF_EXTENT_MM / a_mm)
    hw = np.minimum(hw, _MAX_HALF_WIDTH)
    return np.maximum(hw, np.ceil(reach_mm / a_mm) + 2).astype(np.int64)


def kernel_cache_dir() -> Path | None:
    """On-disk kernel cache: ``$IMMUNOPET_CACHE_DIR``/kernels, else the user cache dir.

    ``$XDG_CACHE_HOME/immunopet/kernels`` or ``~/.cache/immunopet/kernels``; never inside
    the package. ``IMMUNOPET_CACHE_DIR=off`` disables the disk cache.
    """
    root = os.environ.get("IMMUNOPET_CACHE_DIR")
    if root is not None and root.strip().lower() in ("", "0", "off", "none"):
        return None
    if root:
        return Path(root) / "kernels"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "immunopet" / "kernels"


@functools.lru_cache(maxsize=1)
def _table_digest() -> str:
    ref = resources.files("immunopet.dosimetry") / "data" / "point_kernels.npz"
    return hashlib.sha256(ref.read_bytes()).hexdigest()[:12]


def _compute(nuclide: str, a_mm: tuple[float, float, float], medium: str, hw: tuple[int, ...]):
    med = get_medium(medium)
    a_cm = np.asarray(a_mm) / 10.0
    hw_arr = np.asarray(hw, dtype=np.int64)
    edges = _shell_edges_cm(a_cm, hw_arr)
    dep = radial_energy_deposition(nuclide, med.name, edges)
    r_mid = 0.5 * (edges[1:] + edges[:-1])
    area = 4.0 * np.pi * (r_mid / a_cm.min()) ** 2
    n_dir = np.where(r_mid < a_cm.max(), 512, np.maximum(256, np.ceil(6.0 * area))).astype(np.int64)
    rot = _rotations(r_mid.size, seed=12345)
    k_mev, outside = _splat(r_mid, dep.total_mev, n_dir, rot, a_cm, hw_arr)
    cubic = bool(np.allclose(a_cm, a_cm[0]) and len(set(hw)) == 1)
    k_mev = _symmetrise(k_mev, cubic)
    emitted = dep.emitted_electron_mev + dep.emitted_photon_mev
    escaped = (dep.escaped_mev + outside) / emitted if emitted > 0 else 0.0
    mass_kg = med.density_g_cm3 * float(np.prod(a_cm)) * 1e-3
    dose = k_mev * MEV_TO_J / mass_kg * 1e9  # Gy per decay → mGy/(MBq·s)
    return dose.astype(np.float32), float(escaped)


def _method(medium: str) -> str:
    return (
        "point-kernel integration over source and target voxels (set covariogram); "
        "electrons: ICRP-107 β± spectra, IC and Auger lines with scaled point kernels from "
        "immunopet's condensed-history MC (ESTAR CSDA, screened-Rutherford multiple "
        "scattering); photons: immunopet photon MC point kernels (XCOM, kerma); "
        f"medium {medium} (ρ = {get_medium(medium).density_g_cm3} g/cm³)"
    )


@functools.lru_cache(maxsize=64)
def _kernel_cached(
    nuclide: str, a_mm: tuple[float, float, float], medium: str, hw: tuple[int, int, int]
) -> VoxelKernel:
    cache = kernel_cache_dir()
    name = (
        f"{nuclide}_{medium}_{a_mm[0]:.4f}x{a_mm[1]:.4f}x{a_mm[2]:.4f}mm_"
        f"hw{hw[0]}-{hw[1]}-{hw[2]}_v{_ALGORITHM_VERSION}-{_table_digest()}.npz"
    )
    path = cache / name if cache is not None else None
    array = None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                array, escaped = z["kernel"], float(z["escaped"])
        except (OSError, ValueError, KeyError):
            array = None
    if array is None:
        array, escaped = _compute(nuclide, a_mm, medium, hw)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
                np.savez(tmp, kernel=array, escaped=escaped)
                tmp.replace(path)
            except OSError as exc:  # a read-only home: keep the in-memory cache only
                warnings.warn(f"kernel disk cache not written ({exc})", stacklevel=3)
    array.setflags(write=False)
    return VoxelKernel(
        array_mgy_per_mbq_s=array,
        voxel_mm=a_mm,
        medium=medium,
        nuclide=nuclide,
        escaped_energy_fraction=escaped,
        method=_method(medium),
    )


def dose_voxel_kernel(
    nuclide: str | Nuclide,
    voxel_mm: float | tuple[float, float, float],
    medium: str = "soft_tissue",
    half_width: int | tuple[int, int, int] | None = None,
) -> VoxelKernel:
    """Dose voxel kernel of ``nuclide`` in a homogeneous medium (module doc).

    Parameters
    ----------
    nuclide
        Any spelling accepted by :func:`immunopet.core.nuclides.parse_nuclide_name`.
    voxel_mm
        Voxel size (mm): one number for cubic voxels or (x, y, z).
    medium
        ``"water"``, ``"soft_tissue"`` (1.04 g/cm³) or ``"bone"`` (1.92 g/cm³).
    half_width
        Voxels from the centre to the grid edge (one number or per axis (x, y, z)); the
        grid has 2·half_width + 1 voxels per axis. Default: 100 mm (at most 40 voxels),
        and never less than the longest electron CSDA range + 2 voxels.

    Returns
    -------
    VoxelKernel
        Cached per nuclide × voxel size × medium × half-width (in memory, and on disk
        under :func:`kernel_cache_dir`).

    Raises
    ------
    UnknownNuclideError
        Unknown nuclide.
    InvalidValueError
        Non-positive or non-finite voxel size, unknown medium, negative half-width.

    Examples
    --------
    >>> k = dose_voxel_kernel("Lu-177", 4.8)
    >>> k.array_mgy_per_mbq_s.shape
    (43, 43, 43)
    """
    canonical = nuclide.name if isinstance(nuclide, Nuclide) else parse_nuclide_name(nuclide)
    med = get_medium(medium)
    a = np.broadcast_to(np.asarray(voxel_mm, dtype=float), (3,))
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InvalidValueError(
            f"voxel size must be positive and finite, got {voxel_mm} mm",
            field="voxel_mm",
            value=voxel_mm,
        )
    if half_width is None:
        hw = _default_half_width(canonical, med.name, a)
    else:
        hw = np.broadcast_to(np.asarray(half_width), (3,))
        if np.any(hw < 0) or np.any(hw != np.round(hw)):
            raise InvalidValueError(
                f"half_width must be a non-negative integer, got {half_width}",
                field="half_width",
                value=half_width,
            )
    a_mm = (round(float(a[0]), 6), round(float(a[1]), 6), round(float(a[2]), 6))
    hw_t = (int(hw[0]), int(hw[1]), int(hw[2]))
    return _kernel_cached(canonical, a_mm, med.name, hw_t)
