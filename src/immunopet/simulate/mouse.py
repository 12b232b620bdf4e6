"""A digital mouse for the micro-PET arm: phantom, small-animal PET resolution and noise.

Phantom (prone mouse, LPS millimetres, origin at the body centre, head at +z):
a body ellipsoid of soft tissue (muscle uptake) whose volume equals the
animal's weight at 1 g/mL (semi-axes 12.5 × 10.5 × 45 mm for 25 g, scaled by
the cube root of the weight), lungs, a heart/blood-pool sphere, liver, two
kidneys, the bladder and a subcutaneous tumour on the right flank that bulges
out of the body surface (diameter 5–8 mm: 65–270 µL, typical of xenografts
imaged 2–4 weeks after implantation). Organ sizes and positions are rounded
values of an adult mouse (assumed, not from the reference study).

Each region is painted with a partial-voxel ramp, so the true image is the sum
``Σ_r v_r · w_r`` of region uptakes ``v_r`` and voxel weights ``w_r`` (fractions,
summing to ≤ 1). The image is linear in the uptakes: :func:`blur` is applied
to each weight map once per animal, and every time point is a weighted sum.

Resolution (:func:`micropet_kernel`):

* scanner: an isotropic Gaussian of FWHM 1.2 mm — an assumed value inside the
  1–1.5 mm range of current small-animal PET with iterative reconstruction
  (NEMA NU 4 point source, ¹⁸F); the reference paper does not state the
  SuperArgus resolution;
* positron range: the 3-D distance from emission to annihilation is taken as
  exponentially distributed with mean R_mean, ρ(r) = exp(−r/R_mean) / (4π R_mean r²),
  with R_mean from Conti & Eriksson, EJNMMI Phys 3:8 (2016), Table 1 (¹²⁴I
  3.4 mm in water; the table the clinical twin uses). This one-parameter shape
  is an assumption: it keeps the cusp and long tails of simulated end-point
  distributions (Cal-González et al., Phys Med Biol 58:5127, 2013) — its 95th
  percentile 3 R_mean ≈ 10 mm is the ¹²⁴I maximum range — where a Gaussian of
  FWHM R_mean (the clinical twin's approximation) would blur a mouse tumour far
  more in the core and far less in the tails.

Noise: the Poisson-like model of :mod:`.imaging` (variance ∝ expected counts)
with a 10 min frame and 0.8 mm voxels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from ..core.errors import PhysicsError
from ..core.nuclides import Nuclide
from ..core.volume import Volume
from .imaging import POSITRON_MEAN_RANGE_WATER_MM, PetSystem, add_noise

__all__ = [
    "MOUSE_REGIONS",
    "Blurrer",
    "MicroPetSystem",
    "MouseAnatomy",
    "blur",
    "micropet_kernel",
    "mouse_anatomy",
    "mouse_grid",
    "noisy_image",
]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: Painting order (later regions cover earlier ones).
MOUSE_REGIONS = ("muscle", "lungs", "blood", "liver", "kidneys", "bladder", "tumour")
_BODY_SEMI_AXES_25G_MM = (12.5, 10.5, 45.0)  # 4/3 π abc = 24.7 mL ≈ 25 g at 1 g/mL


@dataclass(frozen=True)
class MicroPetSystem:
    """A small-animal PET scanner as the simulation sees it (module docstring)."""

    scanner_fwhm_mm: float = 1.2
    voxel_mm: float = 0.8
    frame_s: float = 600.0
    counts_per_positron: float = 1.2e-3
    kernel_radius_mm: float = 12.0

    def pet_system(self) -> PetSystem:
        """The :class:`PetSystem` the shared noise model takes."""
        return PetSystem(
            scanner_fwhm_mm=self.scanner_fwhm_mm,
            voxel_mm=self.voxel_mm,
            frame_s_per_bed={"I-124": self.frame_s, "F-18": self.frame_s},
            counts_per_positron=self.counts_per_positron,
        )


@dataclass(frozen=True)
class MouseAnatomy:
    """One animal's regions on its grid: ``weights[r]`` (fractions), tumour centre/diameter."""

    grid: Volume
    weights: dict[str, np.ndarray] = field(repr=False)
    tumour_centre_mm: tuple[float, float, float]
    tumour_diameter_mm: float
    muscle_centre_mm: tuple[float, float, float]
    liver_centre_mm: tuple[float, float, float]
    weight_g: float


def mouse_grid(voxel_mm: float = 0.8) -> Volume:
    """An empty grid covering a ≤ 35 g mouse with its flank tumour (≈ 44 × 34 × 104 mm)."""
    extent = np.array([44.0, 34.0, 104.0])
    n = np.ceil(extent / voxel_mm).astype(int)
    origin = -0.5 * (n - 1) * voxel_mm
    return Volume(
        np.zeros((n[2], n[1], n[0]), dtype=np.float32),
        spacing_mm=(voxel_mm,) * 3,
        origin_mm=tuple(origin),
        unit="BQML",
    )


def _coordinates(grid: Volume) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nz, ny, nx = grid.shape
    ox, oy, oz = grid.origin_mm
    dx, dy, dz = grid.spacing_mm
    z = oz + dz * np.arange(nz)
    y = oy + dy * np.arange(ny)
    x = ox + dx * np.arange(nx)
    return z[:, None, None], y[None, :, None], x[None, None, :]


def _ellipsoid_fraction(coords, centre, semi_axes, voxel_mm: float) -> np.ndarray:
    """Occupancy with a linear one-voxel ramp across the (approximate) surface."""
    z, y, x = coords
    q = np.sqrt(
        ((x - centre[0]) / semi_axes[0]) ** 2
        + ((y - centre[1]) / semi_axes[1]) ** 2
        + ((z - centre[2]) / semi_axes[2]) ** 2
    )
    distance_mm = (q - 1.0) * min(semi_axes)
    return np.clip(0.5 - distance_mm / voxel_mm, 0.0, 1.0).astype(np.float32)


def mouse_anatomy(
    weight_g: float, tumour_diameter_mm: float, *, voxel_mm: float = 0.8
) -> MouseAnatomy:
    """The phantom of one animal (module docstring), scaled to ``weight_g``.

    Raises
    ------
    PhysicsError
        A weight outside 10–35 g or a tumour outside 2–10 mm (the grid's reach).
    """
    if not 10.0 <= weight_g <= 35.0:
        raise PhysicsError(f"mouse weight {weight_g} g is outside the phantom's 10–35 g")
    if not 2.0 <= tumour_diameter_mm <= 10.0:
        raise PhysicsError(f"tumour diameter {tumour_diameter_mm} mm is outside 2–10 mm")
    grid = mouse_grid(voxel_mm)
    c = _coordinates(grid)
    s = (weight_g / 25.0) ** (1.0 / 3.0)
    ax, ay, az = (a * s for a in _BODY_SEMI_AXES_25G_MM)
    d = tumour_diameter_mm
    # Subcutaneous right-flank tumour (right = −x in LPS): centre 0.2 d inside the surface.
    tumour = (-(ax - 0.2 * d), -1.0 * s, -16.0 * s)
    regions = [
        ("muscle", (0.0, 0.0, 0.0), (ax, ay, az)),
        ("lungs", (-4.0 * s, 0.0, 24.0 * s), (3.5 * s, 4.0 * s, 5.0 * s)),
        ("lungs", (4.0 * s, 0.0, 24.0 * s), (3.5 * s, 4.0 * s, 5.0 * s)),
        ("blood", (1.0 * s, -1.0 * s, 22.0 * s), (3.0 * s, 3.0 * s, 3.0 * s)),
        ("liver", (-2.0 * s, 0.5 * s, 12.0 * s), (9.0 * s, 6.5 * s, 4.5 * s)),
        ("kidneys", (-5.0 * s, 5.0 * s, 3.0 * s), (2.3 * s, 2.3 * s, 4.2 * s)),
        ("kidneys", (5.0 * s, 5.0 * s, 1.0 * s), (2.3 * s, 2.3 * s, 4.2 * s)),
        ("bladder", (0.0, -3.0 * s, -33.0 * s), (2.5 * s, 2.5 * s, 2.5 * s)),
        ("tumour", tumour, (d / 2, d / 2, d / 2)),
    ]
    weights: dict[str, np.ndarray] = {}
    for name, centre, axes in regions:
        f = _ellipsoid_fraction(c, centre, axes, voxel_mm)
        for key in weights:
            weights[key] *= 1.0 - f
        weights[name] = np.maximum(weights.get(name, 0.0), f)
    muscle = (ax - 6.0 * s, -1.0 * s, -16.0 * s)  # contralateral (left) flank, 6 mm deep
    return MouseAnatomy(
        grid=grid,
        weights=weights,
        tumour_centre_mm=tuple(float(v) for v in tumour),  # type: ignore[arg-type]
        tumour_diameter_mm=float(d),
        muscle_centre_mm=tuple(float(v) for v in muscle),  # type: ignore[arg-type]
        liver_centre_mm=(-2.0 * s, 0.5 * s, 12.0 * s),
        weight_g=float(weight_g),
    )


def micropet_kernel(nuclide: Nuclide, system: MicroPetSystem) -> np.ndarray:
    """Point-spread kernel on the voxel grid: positron range ⊛ scanner Gaussian (sum 1).

    The positron-range density (module docstring) is averaged over each voxel
    with 4³ sub-points; the centre voxel, where ρ ∝ 1/r² is singular, gets the
    exact mass P(r < r_eq) = 1 − exp(−r_eq / R_mean) of its volume-equivalent
    sphere (r_eq = v (3/4π)^⅓). Mass beyond ``kernel_radius_mm`` (for ¹²⁴I at
    12 mm, exp(−12/3.4) = 2.9 %) is dropped and the kernel renormalised.

    Raises
    ------
    PhysicsError
        If the nuclide's mean positron range is not tabulated.
    """
    try:
        r_mean = POSITRON_MEAN_RANGE_WATER_MM[nuclide.name]
    except KeyError as exc:
        raise PhysicsError(f"no mean positron range tabulated for {nuclide.name}") from exc
    v = system.voxel_mm
    half = int(np.ceil(system.kernel_radius_mm / v))
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    offsets = (np.arange(-half, half + 1)[:, None] + sub[None, :]).ravel() * v
    z, y, x = np.meshgrid(offsets, offsets, offsets, indexing="ij", sparse=True)
    r = np.sqrt(x**2 + y**2 + z**2)
    with np.errstate(divide="ignore"):
        rho = np.exp(-r / r_mean) / (4.0 * np.pi * r_mean * r**2)
    n = 2 * half + 1
    kernel = rho.reshape(n, 4, n, 4, n, 4).mean(axis=(1, 3, 5)) * v**3
    r_eq = v * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    kernel[half, half, half] = 1.0 - np.exp(-r_eq / r_mean)
    r_vox = (
        np.sqrt(sum(a**2 for a in np.meshgrid(*(np.arange(-half, half + 1),) * 3, indexing="ij")))
        * v
    )
    kernel[r_vox > system.kernel_radius_mm] = 0.0
    kernel = ndimage.gaussian_filter(
        kernel, system.scanner_fwhm_mm * _FWHM_TO_SIGMA / v, mode="constant"
    )
    return (kernel / kernel.sum()).astype(np.float32)


def blur(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``array`` ⊛ ``kernel`` (zero outside the grid), same shape, float32, no negatives."""
    return Blurrer(kernel, np.shape(array))(array)


class Blurrer:
    """:func:`blur` for many arrays of one shape: the kernel's transform is computed once.

    Linear (zero-padded, not circular) convolution by FFT on a padded grid of fast
    lengths; the result equals ``scipy.signal.fftconvolve(a, kernel, mode="same")``.
    """

    def __init__(self, kernel: np.ndarray, shape: tuple[int, ...]) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.offsets = tuple(k // 2 for k in kernel.shape)
        self.padded = tuple(
            sp_fft.next_fast_len(n + k - 1, real=True)
            for n, k in zip(self.shape, kernel.shape, strict=True)
        )
        self.transfer = sp_fft.rfftn(np.asarray(kernel, dtype=np.float32), s=self.padded)

    def __call__(self, array: np.ndarray) -> np.ndarray:
        a = np.asarray(array, dtype=np.float32)
        if a.shape != self.shape:
            raise PhysicsError(f"array shape {a.shape} is not the blurrer's {self.shape}")
        full = sp_fft.irfftn(sp_fft.rfftn(a, s=self.padded) * self.transfer, s=self.padded)
        sl = tuple(slice(o, o + n) for o, n in zip(self.offsets, self.shape, strict=True))
        return np.maximum(full[sl], 0.0).astype(np.float32)


def noisy_image(
    conc_bq_per_ml: Volume,
    *,
    nuclide: Nuclide,
    system: MicroPetSystem,
    rng: np.random.Generator,
) -> Volume:
    """One noisy realisation (shared Poisson-like model of :mod:`.imaging`)."""
    return add_noise(conc_bq_per_ml, nuclide=nuclide, system=system.pet_system(), rng=rng)
