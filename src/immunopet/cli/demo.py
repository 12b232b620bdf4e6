"""``immunopet demo``: a small generated 124I immuno-PET/CT study, written as real DICOM and analysed.

The phantom (an elliptic body with blood pool, liver and a tumour sphere) is
scanned at 1, 24 and 48 h after 74 MBq of a 124I-labelled antibody. Uptake is
prescribed in SUVbw (decay-corrected to injection); the activity written to
the images is the activity physically present at each scan (ICRP-107 decay).
Each time point uses another vendor convention (Siemens BQML, GE late
SeriesTime, Philips CNTS with private scale factors), so the demo exercises the
vendor-neutral SUV path end to end: read back, SUV computed, compared with truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import typer
from pydicom.uid import generate_uid
from rich.table import Table

from ..io import find_series, load_scan, write_nifti
from ..io.dicom_write import Flavour, write_ct_series, write_pet_series
from ..nuclides import Nuclide
from ..quant import suv_volume
from ..scan import Acquisition
from ..volume import Volume
from .ingest import _table, console, series_record

__all__ = ["DemoTruth", "make_phantom", "register", "write_demo_study"]

#: Prescribed SUVbw (decay-corrected to injection) per region and scan time (h):
#: antibody kinetics — blood clears, tumour accumulates (illustrative values).
DEMO_SUV = {
    "blood": {1.0: 12.0, 24.0: 7.0, 48.0: 5.0},
    "liver": {1.0: 6.0, 24.0: 6.0, 48.0: 5.5},
    "tumour": {1.0: 2.0, 24.0: 6.0, 48.0: 9.0},
    "background": {1.0: 0.6, 24.0: 0.6, 48.0: 0.5},
}
DEMO_FLAVOURS: dict[float, Flavour] = {1.0: "siemens", 24.0: "ge", 48.0: "philips"}


@dataclass(frozen=True)
class DemoTruth:
    """Region masks of the demo phantom (same grid as the PET)."""

    grid: Volume
    masks: dict[str, np.ndarray]


def make_phantom(shape: tuple[int, int, int] = (40, 56, 64), spacing_mm: float = 4.0) -> DemoTruth:
    """Masks of body, blood pool, liver and tumour on an LPS grid centred on the origin."""
    nz, ny, nx = shape
    origin = (-(nx - 1) * spacing_mm / 2, -(ny - 1) * spacing_mm / 2, -(nz - 1) * spacing_mm / 2)
    grid = Volume(
        np.zeros(shape, np.float32),
        (spacing_mm,) * 3,
        origin,
        frame_of_reference_uid=generate_uid(),
    )
    k, j, i = np.indices(shape)
    x, y, z = (origin[0] + i * spacing_mm, origin[1] + j * spacing_mm, origin[2] + k * spacing_mm)

    def sphere(cx: float, cy: float, cz: float, r: float) -> np.ndarray:
        return (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= r**2

    body = (x / 115.0) ** 2 + (y / 90.0) ** 2 <= 1.0
    blood = sphere(25.0, -20.0, 10.0, 22.0)
    liver = sphere(-50.0, 10.0, -10.0, 38.0) & ~blood
    tumour = sphere(50.0, 35.0, -20.0, 14.0) & ~blood & ~liver
    background = body & ~blood & ~liver & ~tumour
    return DemoTruth(
        grid,
        {"blood": blood, "liver": liver, "tumour": tumour, "background": background, "body": body},
    )


def write_demo_study(
    out_dir: Path, seed: int = 0, weight_kg: float = 70.0, injected_bq: float = 74e6
) -> dict[float, Path]:
    """Write the three PET/CT sessions as DICOM under ``out_dir/dicom``; returns {time_h: folder}."""
    rng = np.random.default_rng(seed)
    truth = make_phantom()
    nuclide = Nuclide.from_name("I-124")
    injection = datetime(2024, 3, 4, 9, 30, 0)
    study_uid = generate_uid()
    hu = np.where(truth.masks["body"], 40.0, -1000.0)
    folders = {}
    for time_h, flavour in DEMO_FLAVOURS.items():
        suv = np.zeros(truth.grid.shape)
        for region, values in DEMO_SUV.items():
            suv[truth.masks[region]] = values[time_h]
        # SUV → Bq/mL decay-corrected to injection → Bq/mL present at scan (ICRP-107 decay).
        conc_at_injection = suv * injected_bq / (weight_kg * 1000.0)
        conc_at_scan = conc_at_injection * float(nuclide.decay_factor(time_h * 3600.0))
        noisy = conc_at_scan * rng.normal(1.0, 0.05, size=suv.shape).clip(0.5, 1.5)
        scan_start = injection + timedelta(hours=time_h)
        acq = Acquisition(
            nuclide=nuclide,
            units="BQML",
            decay_correction="START",
            scan_start_datetime=scan_start,
            injection_datetime=injection,
            injected_activity_bq=injected_bq,
            patient_weight_kg=weight_kg,
            patient_height_m=1.72,
            patient_sex="F",
            frame_duration_s=900.0,
            tracer="124I-trastuzumab",
            series_description=f"124I PET {time_h:g}h",
        )
        folder = out_dir / "dicom" / f"scan_{int(time_h):02d}h"
        frame_uid = generate_uid()
        write_pet_series(
            truth.grid.with_array(noisy, "BQML"),
            acq,
            folder / "pet",
            flavour=flavour,
            study_uid=study_uid,
            frame_of_reference_uid=frame_uid,
            patient_id="DEMO-001",
            series_number=int(time_h) * 10 + 1,
        )
        write_ct_series(
            truth.grid.with_array(hu, "HU"),
            folder / "ct",
            study_uid=study_uid,
            frame_of_reference_uid=frame_uid,
            patient_id="DEMO-001",
            series_number=int(time_h) * 10 + 2,
            acquisition_datetime=scan_start - timedelta(minutes=2),
        )
        folders[time_h] = folder
    return folders


def demo(
    output: Path = typer.Option(
        Path("demo-output"), "-o", "--output", help="Folder to write the study to."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the image noise."),
) -> None:
    """Generate a small 124I PET/CT study as DICOM, list it, and compute SUV images."""
    output.mkdir(parents=True, exist_ok=True)
    folders = write_demo_study(output, seed=seed)
    console.print(f"[bold]Demo study written as DICOM to {output / 'dicom'}[/bold]")
    console.print(_table([series_record(s) for s in find_series(output / "dicom")]))
    truth = make_phantom()
    summary = Table(title="SUVbw from the DICOM headers vs the prescribed truth (tumour / blood)")
    for col in (
        "scan",
        "vendor convention",
        "t p.i. (h)",
        "tumour SUVmean",
        "truth",
        "blood SUVmean",
        "truth",
        "NIfTI",
    ):
        summary.add_column(col)
    for time_h, folder in folders.items():
        scan = load_scan(folder)
        suv = suv_volume(scan, "bw")
        out = write_nifti(
            suv,
            output / "suv" / f"{folder.name}_suvbw.nii.gz",
            acquisition=scan.acquisition,
            sidecar={"Units": "g/mL", "SUVType": "SUVbw"},
        )
        arr = np.asarray(suv.array)
        summary.add_row(
            folder.name,
            DEMO_FLAVOURS[time_h],
            f"{scan.time_post_injection_h:.2f}",
            f"{arr[truth.masks['tumour']].mean():.3f}",
            f"{DEMO_SUV['tumour'][time_h]:.3f}",
            f"{arr[truth.masks['blood']].mean():.3f}",
            f"{DEMO_SUV['blood'][time_h]:.3f}",
            str(out.relative_to(output)),
        )
    console.print(summary)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("demo")(demo)
