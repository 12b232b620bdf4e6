"""Voxel absorbed dose from a time-integrated activity (TIA) map: DVK, local, density-scaled.

Three methods, each a pure function of :class:`~immunopet.core.volume.Volume` objects:

``"dvk"``
    D = Ã ⊛ K: the TIA map (MBq·s per voxel) convolved with a dose voxel kernel K
    (mGy per MBq·s, MIRD Pamphlet 17, Bolch et al., J Nucl Med 1999;40:11S, eq. 3) computed
    in a homogeneous medium (:func:`.convolution.convolve_linear`: float32 FFT, linear).
``"local"``
    Local energy deposition: D = Ã · Δ / m, with Δ the energy emitted per decay (ICRP
    Publication 107 via :func:`immunopet.dosimetry.emission.emission_spectrum`, which reads
    :func:`immunopet.core.nuclides.emissions`) — all of it (``energy="total"``, electrons +
    photons: an upper bound, right for voxels much larger than the particle ranges) or the
    non-penetrating part only (``energy="electron"``: β±, IC and Auger electrons; photons
    assumed to escape) — and m = ρ · V the voxel mass (ρ = 1 g/cm³ or from a CT).
``"dvk-density"``
    The kernel dose scaled by the local density, D(x) = (Ã ⊛ K)(x) · ρ_K / ρ(x), with ρ_K
    the density of the kernel's medium. The approximation: the energy deposited per unit
    volume is that of the homogeneous kernel medium (the kernel's range is *not* scaled),
    and each voxel divides it by its own mass — the density correction of dose-kernel
    convolution studied by Dieudonné et al., J Nucl Med 2013;54:236–243, which brings
    kernel doses in lung and bone close to direct Monte Carlo for β emitters, less so at
    interfaces and for photons. Voxels below ``min_density_g_cm3`` (air) get no dose.

Units: MeV → J by :data:`immunopet.dosimetry.emission.MEV_TO_J` (exact, SI 2019).
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from ...core.errors import GeometryError, ImmunopetError, InvalidValueError, UnsupportedDataError
from ...core.nuclides import Nuclide
from ...core.volume import Volume
from ..emission import MEV_TO_J, emission_spectrum
from .convolution import DoseKernel, check_kernel_array, convolve_linear
from .density import MEDIUM_DENSITY_G_CM3, ct_density

__all__ = [
    "DoseMethod",
    "LocalEnergy",
    "TIA_UNITS_TO_BQ_S",
    "dose_method",
    "kernel_density_g_cm3",
    "kernel_for",
    "local_deposition_dose",
    "tia_bq_s",
    "tia_unit_to_bq_s",
    "voxel_dose",
]


#: Accepted units of a TIA map (per voxel) → factor to Bq·s.
TIA_UNITS_TO_BQ_S: dict[str, float] = {
    "bq*s": 1.0,
    "bqs": 1.0,
    "mbq*s": 1e6,
    "mbqs": 1e6,
    "bq*h": 3600.0,
    "bqh": 3600.0,
    "mbq*h": 3.6e9,
    "mbqh": 3.6e9,
}


class DoseMethod(str, Enum):
    """How a TIA map becomes a dose map (see the module docstring)."""

    DVK = "dvk"
    LOCAL = "local"
    DVK_DENSITY = "dvk-density"
    MC = "mc"

    @property
    def uses_kernel(self) -> bool:
        """Whether the method convolves a dose voxel kernel (``dvk``, ``dvk-density``)."""
        return self in (DoseMethod.DVK, DoseMethod.DVK_DENSITY)


class LocalEnergy(str, Enum):
    """Which energy per decay local deposition absorbs."""

    TOTAL = "total"
    ELECTRON = "electron"


def _enum(cls: type[Enum], value: object, field: str) -> Enum:
    try:
        return cls(value)
    except ValueError:
        names = [m.value for m in cls]  # type: ignore[attr-defined]
        raise InvalidValueError(
            f"unknown {field} {value!r}; use one of {names}", field=field, value=value
        ) from None


def dose_method(value: DoseMethod | str) -> DoseMethod:
    """``value`` as a :class:`DoseMethod`; an unknown name is an :class:`InvalidValueError`."""
    return _enum(DoseMethod, value, "method")  # type: ignore[return-value]


def tia_unit_to_bq_s(tia: Volume) -> float:
    """Factor from the TIA map's ``unit`` to Bq·s per voxel.

    Raises
    ------
    UnsupportedDataError
        A unit that is not a time-integrated activity per voxel.
    """
    key = tia.unit.strip().lower().replace("·", "*").replace(".", "*").replace(" ", "")
    if key not in TIA_UNITS_TO_BQ_S:
        raise UnsupportedDataError(
            f"a TIA map must be in Bq·s, MBq·s, Bq·h or MBq·h per voxel, got unit {tia.unit!r}",
            field="unit",
            value=tia.unit,
        )
    return TIA_UNITS_TO_BQ_S[key]


def tia_bq_s(tia: Volume) -> np.ndarray:
    """The TIA map's values in Bq·s per voxel (float32; no copy when already so)."""
    scale = tia_unit_to_bq_s(tia)
    arr = np.asarray(tia.array, dtype=np.float32)
    return arr if scale == 1.0 else arr * np.float32(scale)


def kernel_density_g_cm3(kernel: DoseKernel) -> float:
    """Density of the kernel's medium: its ``density_g_cm3``, else by its ``medium`` name.

    The name is looked up in :mod:`immunopet.dosimetry.kernels.media` when installed, else
    in :data:`~.density.MEDIUM_DENSITY_G_CM3`.
    """
    rho = getattr(kernel, "density_g_cm3", None)
    if rho is not None:
        return float(rho)
    medium = str(getattr(kernel, "medium", "water"))
    try:
        from ..kernels.media import get_medium  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return float(get_medium(medium).density_g_cm3)
    if medium not in MEDIUM_DENSITY_G_CM3:
        raise InvalidValueError(
            f"unknown kernel medium {medium!r}; known: {sorted(MEDIUM_DENSITY_G_CM3)}",
            field="medium",
            value=medium,
        )
    return MEDIUM_DENSITY_G_CM3[medium]


def kernel_for(
    nuclide: str | Nuclide, voxel_mm: tuple[float, float, float], medium: str = "soft_tissue"
) -> DoseKernel:
    """The dose voxel kernel of ``nuclide`` at ``voxel_mm`` in ``medium``.

    Built (and cached) by :func:`immunopet.dosimetry.kernels.dose_voxel_kernel` from the
    ICRP-107 spectra.

    Raises
    ------
    ImmunopetError
        When this installation has no kernel module yet (use ``method="local"`` or pass
        your own kernel as an :class:`~.convolution.ArrayKernel`).
    """
    try:
        from ..kernels import dose_voxel_kernel  # type: ignore[attr-defined]
    except ImportError:
        raise ImmunopetError(
            "dose voxel kernels are not available in this installation "
            "(immunopet.dosimetry.kernels is missing): use method 'local', or give a kernel "
            "file (--kernel kernel.nii.gz)",
            field="method",
            value="dvk",
        ) from None
    name = nuclide.name if isinstance(nuclide, Nuclide) else Nuclide.from_name(nuclide).name
    return dose_voxel_kernel(name, tuple(float(v) for v in voxel_mm), medium)  # type: ignore[no-any-return]


def _density_on_grid(
    tia: Volume, density: Volume | None, ct: Volume | None, default: float
) -> np.ndarray:
    if density is None and ct is not None:
        if not ct.same_grid(tia):
            ct = ct.resample_like(tia, "linear", default_value=-1000.0)
        density = ct_density(ct)
    if density is None:
        return np.full(tia.shape, default, dtype=np.float32)
    if not density.same_grid(tia):
        density = density.resample_like(tia, "linear", default_value=0.0)
    rho = np.asarray(density.array, dtype=np.float32)
    if not np.all(np.isfinite(rho)) or rho.min() < 0:
        raise InvalidValueError("densities must be finite and ≥ 0 g/cm³", field="density")
    return rho


def local_deposition_dose(
    tia: Volume,
    nuclide: str | Nuclide,
    *,
    energy: LocalEnergy | str = LocalEnergy.TOTAL,
    density: Volume | None = None,
    ct: Volume | None = None,
    include_progeny: bool = False,
    min_density_g_cm3: float = 0.01,
) -> Volume:
    """Dose (Gy) by local deposition of the energy emitted per decay: D = Ã · Δ / (ρ V).

    Parameters
    ----------
    tia
        TIA map per voxel (unit Bq·s, MBq·s, Bq·h or MBq·h).
    nuclide
        The nuclide whose ICRP-107 emissions give Δ.
    energy
        ``"total"`` (electrons + photons) or ``"electron"`` (non-penetrating only).
    density, ct
        Mass density map (g/cm³) or a CT in HU (Schneider 2000 calibration); neither:
        unit density (1 g/cm³). Resampled onto the TIA grid when needed.
    include_progeny
        Add short-lived progeny's emissions (see :func:`~immunopet.dosimetry.emission_spectrum`).
    min_density_g_cm3
        Voxels lighter than this (air) get no dose.
    """
    which = _enum(LocalEnergy, energy, "energy")
    spec = emission_spectrum(nuclide, include_progeny=include_progeny)
    delta_mev = (
        spec.total_energy_per_decay_mev
        if which is LocalEnergy.TOTAL
        else spec.electron_energy_per_decay_mev
    )
    rho = _density_on_grid(tia, density, ct, 1.0)
    mass_kg = rho * np.float32(tia.voxel_volume_ml * 1e-3)
    a = tia_bq_s(tia)
    with np.errstate(divide="ignore", invalid="ignore"):
        dose = np.where(
            rho >= min_density_g_cm3, a * np.float32(delta_mev * MEV_TO_J) / mass_kg, 0.0
        ).astype(np.float32)
    return tia.with_array(dose, unit="Gy")


def voxel_dose(
    tia: Volume,
    kernel: DoseKernel | None = None,
    *,
    method: DoseMethod | str = DoseMethod.DVK,
    nuclide: str | Nuclide | None = None,
    density: Volume | None = None,
    ct: Volume | None = None,
    energy: LocalEnergy | str = LocalEnergy.TOTAL,
    workers: int | None = None,
    max_block_bytes: int | None = None,
    min_density_g_cm3: float = 0.01,
    spacing_rtol: float = 1e-3,
    n_histories: int = 1_000_000,
    seed: int = 0,
) -> Volume:
    """Absorbed dose map (Gy) of a TIA map by ``"dvk"``, ``"local"``, ``"dvk-density"`` or ``"mc"``.

    Parameters
    ----------
    tia
        TIA per voxel (unit Bq·s, MBq·s, Bq·h or MBq·h), on the dose grid.
    kernel
        Dose voxel kernel (``array_mgy_per_mbq_s`` + ``voxel_mm``) at the TIA's voxel size;
        needed by ``"dvk"`` and ``"dvk-density"``.
    method
        See :class:`DoseMethod`.
    nuclide
        Needed by ``"local"``; for the kernel methods, checked against ``kernel.nuclide``.
    density, ct
        Density map (g/cm³) or CT (HU) for ``"dvk-density"`` (required) and ``"local"``.
    energy
        ``"local"`` only: ``"total"`` or ``"electron"``.
    workers, max_block_bytes
        FFT threads and slab memory budget (:func:`.convolution.convolve_linear`).
    min_density_g_cm3
        Voxels lighter than this get no dose (``"dvk-density"``, ``"local"``).
    spacing_rtol
        Relative tolerance between the kernel's and the TIA's voxel sizes.
    n_histories, seed
        ``"mc"`` only: photons transported and the random seed
        (:func:`.monte_carlo.monte_carlo_dose`, which also gives the photon dose's SD).

    Returns
    -------
    Volume
        float32 dose in Gy on the TIA's grid and frame of reference.

    Raises
    ------
    InvalidValueError
        Missing kernel/nuclide/density for the method, or a kernel of another nuclide.
    GeometryError
        Kernel voxel size ≠ TIA voxel size.
    """
    how = dose_method(method)
    if not how.uses_kernel:  # from the nuclide's emissions
        if nuclide is None:
            nuclide = getattr(kernel, "nuclide", None) or None
        if nuclide is None:
            raise InvalidValueError(f"method {how.value!r} needs the nuclide", field="nuclide")
    if how is DoseMethod.MC:
        from .monte_carlo import monte_carlo_dose

        return monte_carlo_dose(
            tia, nuclide, density=density, ct=ct, n_histories=n_histories, seed=seed,
            min_density_g_cm3=min_density_g_cm3,
        ).dose  # fmt: skip
    if how is DoseMethod.LOCAL:
        return local_deposition_dose(
            tia, nuclide, energy=energy, density=density, ct=ct,
            min_density_g_cm3=min_density_g_cm3,
        )  # fmt: skip
    if kernel is None:
        raise InvalidValueError(f"method {how.value!r} needs a dose voxel kernel", field="kernel")
    k_arr = np.asarray(kernel.array_mgy_per_mbq_s, dtype=np.float32)
    check_kernel_array(k_arr)
    k_mm = np.asarray(kernel.voxel_mm, dtype=float)
    if not np.allclose(k_mm, tia.spacing_mm, rtol=spacing_rtol, atol=0.0):
        raise GeometryError(
            f"kernel voxel size {tuple(k_mm)} mm differs from the TIA map's "
            f"{tia.spacing_mm} mm: build the kernel at the map's voxel size or resample the map"
        )
    k_nuc = str(getattr(kernel, "nuclide", "") or "")
    if nuclide is not None and k_nuc:
        want = nuclide.name if isinstance(nuclide, Nuclide) else Nuclide.from_name(nuclide).name
        if Nuclide.from_name(k_nuc).name != want:
            raise InvalidValueError(
                f"the kernel is for {k_nuc}, the TIA map for {want}", field="nuclide", value=k_nuc
            )
    if how is DoseMethod.DVK_DENSITY and density is None and ct is None:
        raise InvalidValueError("method 'dvk-density' needs a CT or a density map", field="ct")
    # Units folded into the (small) kernel, so the map is not copied: Gy per (unit · voxel).
    k_gy = (k_arr * np.float32(tia_unit_to_bq_s(tia) * 1e-6 * 1e-3)).astype(np.float32)
    values = np.asarray(tia.array, dtype=np.float32)
    dose = convolve_linear(values, k_gy, workers=workers, max_block_bytes=max_block_bytes)
    if how is DoseMethod.DVK_DENSITY:
        rho = _density_on_grid(tia, density, ct, 1.0)
        rho_k = np.float32(kernel_density_g_cm3(kernel))
        ratio = np.divide(rho_k, rho, out=np.zeros_like(rho), where=rho >= min_density_g_cm3)
        dose *= ratio
    return tia.with_array(dose, unit="Gy")
