"""CLI commands of the ingest step: ``immunopet info`` and ``immunopet suv``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import ImmunopetError, InvalidValueError
from ..io import SeriesInfo, find_series, load_scan, write_nifti
from ..quant import (
    check_header_half_life,
    sul_factor,
    suv_bw_factor,
    suv_volume,
)
from ..quant import injection_datetime as checked_injection_datetime

__all__ = ["register", "series_record"]

console = Console()
if not console.is_terminal:  # pipes and logs: do not squeeze tables into 80 columns
    console = Console(width=160)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def series_record(info: SeriesInfo) -> dict[str, Any]:
    """The JSON object ``immunopet info --json`` prints for one series.

    For PET series the SUV factors are the numbers that multiply the stored
    (rescaled) pixel values; when they cannot be computed they are ``null``
    and ``error`` says why.
    """
    rec: dict[str, Any] = {
        "modality": info.modality,
        "series_instance_uid": info.series_instance_uid,
        "series_description": info.description,
        "source": info.source,
        "n_files": info.n_files,
        "shape": list(info.shape) if info.shape else None,
        "spacing_mm": list(info.spacing_mm) if info.spacing_mm else None,
        "study_instance_uid": info.study_instance_uid,
        "frame_of_reference_uid": info.frame_of_reference_uid,
        "patient_id": info.patient_id,
        "manufacturer": info.manufacturer,
        "error": info.error,
    }
    if info.modality != "PT":
        return rec
    acq = info.acquisition
    rec.update(
        {
            "nuclide": acq.nuclide.name if acq else None,
            "half_life_s": acq.nuclide.half_life_s if acq else None,
            "tracer": acq.tracer if acq else None,
            "injected_activity_bq": acq.injected_activity_bq if acq else None,
            "injection_datetime": _iso(acq.injection_datetime) if acq else None,
            "injection_date_inferred": acq.injection_date_inferred if acq else None,
            "scan_start_datetime": _iso(acq.scan_start_datetime) if acq else None,
            "time_post_injection_h": acq.time_post_injection_h if acq else None,
            "patient_weight_kg": acq.patient_weight_kg if acq else None,
            "patient_height_m": acq.patient_height_m if acq else None,
            "patient_sex": acq.patient_sex if acq else None,
            "units": acq.units if acq else None,
            "decay_correction": acq.decay_correction if acq else None,
            "suv_bw_factor": None,
            "sul_factor": None,
        }
    )
    if acq is None:
        return rec
    if acq.injection_date_inferred and acq.injection_datetime is not None:
        rec["injection_time_of_day"] = acq.injection_datetime.time().isoformat()
        try:
            checked_injection_datetime(acq)
        except ImmunopetError:  # date unknown: never show a guessed date or delay
            rec["injection_datetime"] = rec["time_post_injection_h"] = None
    check_header_half_life(acq)
    try:
        rec["suv_bw_factor"] = suv_bw_factor(acq)
    except ImmunopetError as exc:
        rec["error"] = rec["error"] or str(exc)
        return rec
    try:
        rec["sul_factor"] = sul_factor(acq)
    except ImmunopetError as exc:
        rec["sul_error"] = str(exc)
    return rec


def _table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="Series found", show_lines=False)
    for col in (
        "modality",
        "description",
        "slices",
        "shape (z,y,x)",
        "nuclide",
        "t p.i. (h)",
        "units",
        "SUVbw factor",
        "note",
    ):
        table.add_column(col)
    for r in records:
        tpi = r.get("time_post_injection_h")
        fac = r.get("suv_bw_factor")
        table.add_row(
            r["modality"],
            r.get("series_description") or "",
            str(r["n_files"]),
            "×".join(str(n) for n in r["shape"]) if r["shape"] else "?",
            r.get("nuclide") or "",
            "" if tpi is None else f"{tpi:.2f}",
            r.get("units") or "",
            "" if fac is None else f"{fac:.6g}",
            r.get("error") or "",
        )
    return table


def info(
    path: Path = typer.Argument(
        ..., help="DICOM folder (searched recursively), DICOM file or NIfTI image."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object {'series': [...]}."),
) -> None:
    """List every series found, with the PET header data needed for SUV."""
    records = [series_record(s) for s in find_series(path)]
    if as_json:
        typer.echo(json.dumps({"series": records}, indent=2, default=str))
    else:
        console.print(_table(records))


def suv(
    path: Path = typer.Argument(..., help="DICOM folder/file or NIfTI PET with PET-BIDS sidecar."),
    output: Path = typer.Option(..., "-o", "--output", help="Output NIfTI file (.nii.gz)."),
    kind: str = typer.Option("bw", "--kind", help="bw (body weight), sul (lean body mass) or bsa."),
    series: str | None = typer.Option(None, "--series", help="PET SeriesInstanceUID when several."),
    weight_kg: float | None = typer.Option(
        None, "--weight-kg", help="Patient weight (kg); overrides the header."
    ),
    height_m: float | None = typer.Option(
        None, "--height-m", help="Patient height (m); overrides the header."
    ),
    injected_mbq: float | None = typer.Option(
        None, "--injected-mbq", help="Injected activity (MBq); overrides the header."
    ),
    injection_datetime: str | None = typer.Option(
        None,
        "--injection-datetime",
        help="Injection date-time, ISO 8601 (e.g. 2024-03-01T09:12:00, or with a UTC "
        "offset: 2024-03-01T01:12:00Z, converted to the series' TimezoneOffsetFromUTC).",
    ),
    nuclide: str | None = typer.Option(
        None,
        "--nuclide",
        help="Radionuclide (e.g. 18F, I-124) when the header's is missing or contradictory.",
    ),
    frame: int | None = typer.Option(
        None, "--frame", min=0, help="Frame (0-based) of a dynamic series stored as one series."
    ),
) -> None:
    """Write the SUV image of a PET scan as NIfTI (RAS affine, PET-BIDS sidecar)."""
    if kind not in ("bw", "sul", "bsa"):
        raise InvalidValueError(
            f"--kind must be bw, sul or bsa, got {kind!r}", field="--kind", value=kind
        )
    scan = load_scan(
        path,
        series_uid=series,
        frame=frame,
        patient_weight_kg=weight_kg,
        patient_height_m=height_m,
        injected_activity_bq=None if injected_mbq is None else injected_mbq * 1e6,
        injection_datetime=injection_datetime,
        nuclide=nuclide,
    )
    vol = suv_volume(scan, kind)  # type: ignore[arg-type]
    units = "cm2/mL" if kind == "bsa" else "g/mL"
    write_nifti(
        vol, output, acquisition=scan.acquisition, sidecar={"Units": units, "SUVType": vol.unit}
    )
    tpi = scan.time_post_injection_h
    console.print(
        f"{vol.unit} written to {output}: max {float(np.max(vol.array)):.4g}, "
        f"{scan.acquisition.nuclide.name}" + ("" if tpi is None else f", {tpi:.2f} h p.i."),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("info")(info)
    app.command("suv")(suv)
