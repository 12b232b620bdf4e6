"""CLI commands for point-source physics: ``immunopet kernel`` and ``immunopet sphere``."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console

from ..core.errors import InvalidValueError
from ..core.volume import Volume
from ..dosimetry.kernels import dose_voxel_kernel
from ..dosimetry.kernels.media import MEDIA
from ..dosimetry.sphere import lesion_sphere_s_value
from ..io import write_nifti

__all__ = ["kernel", "parse_voxel_mm", "register", "sphere"]

console = Console()

#: Unit string written into the kernel's NIfTI sidecar and printed.
KERNEL_UNIT = "mGy/(MBq*s)"


def parse_voxel_mm(text: str) -> float | tuple[float, float, float]:
    """``"4.8"`` → 4.8; ``"2,2,3.27"`` or ``"2x2x3.27"`` → (2.0, 2.0, 3.27).

    Raises
    ------
    InvalidValueError
        Not one or three numbers.
    """
    parts = [p for p in re.split(r"[,x×\s]+", text.strip()) if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 3):
        raise InvalidValueError(
            f"--voxel-mm takes one number or three (x,y,z), got {text!r}",
            field="--voxel-mm",
            value=text,
        )
    return values[0] if len(values) == 1 else (values[0], values[1], values[2])


def kernel(
    nuclide: str = typer.Argument(..., help="Nuclide, e.g. Lu-177, I-124, Zr-89."),
    voxel_mm: str = typer.Option(
        ..., "--voxel-mm", help="Voxel size in mm: one value (cubic) or x,y,z (e.g. 2,2,3.27)."
    ),
    medium: str = typer.Option("soft_tissue", "--medium", help=f"Medium: {', '.join(MEDIA)}."),
    half_width: int | None = typer.Option(
        None, "--half-width", help="Voxels from centre to edge (default: 100 mm, ≤ 40 voxels)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Output NIfTI (.nii or .nii.gz)."),  # noqa: B008
) -> None:
    """Dose voxel kernel: dose to each voxel per decay in the centre voxel, mGy/(MBq·s)."""
    size = parse_voxel_mm(voxel_mm)
    k = dose_voxel_kernel(nuclide, size, medium=medium, half_width=half_width)
    hx, hy, hz = k.half_width
    vx, vy, vz = k.voxel_mm
    vol = Volume(
        k.array_mgy_per_mbq_s,
        spacing_mm=k.voxel_mm,
        origin_mm=(-hx * vx, -hy * vy, -hz * vz),
        unit=KERNEL_UNIT,
    )
    side = {
        "nuclide": k.nuclide,
        "medium": k.medium,
        "unit": KERNEL_UNIT,
        "quantity": "dose per decay in the centre voxel",
        "voxel_mm": list(k.voxel_mm),
        "centre_mgy_per_mbq_s": k.centre_mgy_per_mbq_s,
        "escaped_energy_fraction": k.escaped_energy_fraction,
        "method": k.method,
    }
    path = write_nifti(vol, output, sidecar=side)
    nz, ny, nx = k.array_mgy_per_mbq_s.shape
    console.print(f"{k.nuclide} kernel in {k.medium}, {nx}×{ny}×{nz} voxels of {vx}×{vy}×{vz} mm")
    console.print(f"centre voxel: {k.centre_mgy_per_mbq_s:.5g} {KERNEL_UNIT}")
    console.print(f"escaped energy fraction: {k.escaped_energy_fraction:.4f}")
    console.print(f"method: {k.method}", soft_wrap=True)
    console.print(f"wrote {path}")


def sphere(
    nuclide: str = typer.Argument(..., help="Nuclide, e.g. Lu-177, I-131, Tb-152."),
    mass_g: float = typer.Option(..., "--mass-g", help="Sphere mass (g)."),
    density: float = typer.Option(1.0, "--density", help="Density (g/mL)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """S(sphere ← sphere) of a nuclide uniform in a sphere: electron and photon parts."""
    s = lesion_sphere_s_value(nuclide, mass_g, density)
    record = asdict(s) | {"s_mgy_per_mbq_s": s.s_mgy_per_mbq_s}
    if as_json:
        typer.echo(json.dumps(record))
        return
    console.print(f"{s.nuclide}, sphere of {s.mass_g:g} g at {s.density_g_per_ml:g} g/mL")
    console.print(f"s_mgy_per_mbq_s: {s.s_mgy_per_mbq_s:.5g}")
    console.print(
        f"electron part: {s.electron_mgy_per_mbq_s:.5g} (φ_e = {s.electron_absorbed_fraction:.4f})"
    )
    console.print(
        f"photon part:   {s.photon_mgy_per_mbq_s:.5g} (φ_γ = {s.photon_absorbed_fraction:.4f})"
    )
    console.print(f"method: {s.method}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("kernel")(kernel)
    app.command("sphere")(sphere)
