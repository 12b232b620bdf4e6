"""CLI commands of voxel dosimetry: ``immunopet voxel-tia`` and ``immunopet voxel-dose``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..core.errors import InputError, InvalidValueError

__all__ = ["register"]


def _volume(path: Path, unit: str | None = None):  # type: ignore[no-untyped-def]
    """A NIfTI file or one DICOM series as a Volume; ``unit`` overrides the file's."""
    from ..io import load_volume

    if not path.exists():
        raise InputError("file not found", file=path)
    vol = load_volume(path)
    if unit is not None and unit != vol.unit:
        vol = vol.with_array(vol.array, unit=unit)
    return vol


def _names(path: Path | None, labels: Path) -> dict[int, str] | None:
    """Label names from JSON ``{"1": "liver"}`` or CSV ``label,name``; None: ``label_<n>``."""
    if path is None:
        for cand in (labels.with_suffix("").with_suffix(".json"), Path(str(labels) + ".json")):
            if cand.exists() and cand != labels:
                path = cand
                break
    if path is None:
        return None
    if not path.exists():
        raise InputError("file not found", file=path)
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(path.read_text())
            return {int(k): str(v) for k, v in raw.items()}
        except (ValueError, AttributeError) as exc:
            raise InputError(f"not a JSON {{label: name}} object ({exc})", file=path) from exc
    import pandas as pd

    df = pd.read_csv(path, comment="#")
    return {int(k): str(v) for k, v in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True)}


def _times(text: str, n: int) -> list[float]:
    try:
        times = [float(t) for t in text.replace(";", ",").split(",") if t.strip()]
    except ValueError:
        raise InvalidValueError("--times must be numbers in h, e.g. 1,24,48", field="--times",
                                value=text) from None  # fmt: skip
    if len(times) != n:
        raise InvalidValueError(
            f"{n} activity maps but {len(times)} times", field="--times", value=text
        )
    return times


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("voxel-tia")
    def voxel_tia_cmd(
        maps: list[Path] = typer.Argument(..., help="Aligned activity maps, one per time point."),
        times: str = typer.Option(..., "--times", help="Times post-injection (h): 1,24,48."),
        nuclide: str = typer.Option(..., "--nuclide", help="Imaged nuclide, e.g. Zr-89."),
        output: Path = typer.Option(..., "-o", "--output", help="TIA map (NIfTI), Bq·s/voxel."),
        method: str = typer.Option("trapezoid", "--method", help="trapezoid | mono."),
        tail: str = typer.Option("physical", "--tail", help="physical | fit | none (trapezoid)."),
        head: str = typer.Option("linear", "--head", help="linear | constant (trapezoid)."),
        mask: Path | None = typer.Option(None, "--mask", help="Body mask (non-zero = inside)."),
        unit: str | None = typer.Option(
            None, "--unit", help="Unit of the maps if the files lack it: BQML, Bq/mL, Bq."
        ),
        decay_corrected: bool = typer.Option(
            False, "--decay-corrected", help="Maps are decay-corrected to injection."
        ),
        therapy: str | None = typer.Option(
            None, "--therapy", help="Predict this therapy nuclide's TIA (e.g. I-131)."
        ),
        activity_ratio: float = typer.Option(
            1.0, "--activity-ratio", help="Therapy / imaging administered activity."
        ),
        sd_output: Path | None = typer.Option(None, "--sd", help="TIA SD map (mono fit)."),
        workers: int | None = typer.Option(None, "--workers", help="Threads (numba)."),
    ) -> None:
        """Voxel time-integrated activity map from aligned activity maps at several times."""
        from ..dosimetry.voxel import predict_therapy_tia, voxel_tia
        from ..io import write_nifti

        vols = [_volume(p, unit) for p in maps]
        t = _times(times, len(vols))
        body = _volume(mask) if mask is not None else None
        kwargs = dict(method=method, mask=body, head=head, tail=tail,
                      decay_corrected=decay_corrected, workers=workers)  # fmt: skip
        if therapy:
            res = predict_therapy_tia(
                vols, t, nuclide, therapy, activity_ratio=activity_ratio, **kwargs
            )
        else:
            res = voxel_tia(vols, t, nuclide, **kwargs)
        write_nifti(res.tia, output, sidecar={"Units": "Bq*s", **res.as_record()})
        if sd_output is not None:
            if res.tia_sd is None:
                raise InvalidValueError(
                    "--sd needs --method mono (the trapezoid gives no SD)", field="--sd"
                )
            write_nifti(res.tia_sd, sd_output, sidecar={"Units": "Bq*s"})
        rec = res.as_record()
        typer.echo(
            f"{rec['nuclide']} TIA {rec['tia_total_bq_s']:.4g} Bq·s in {rec['n_voxels']} voxels "
            f"({rec['method']}, tail {rec['tail']}: {100 * rec['tail_fraction']:.1f} % of the "
            f"TIA); {rec['n_failed']} failed fits, {rec['n_tail_fallback']} tail fallbacks; "
            f"wrote {output}"
        )

    @app.command("voxel-dose")
    def voxel_dose_cmd(
        tia: Path = typer.Argument(..., help="TIA map (NIfTI or DICOM), per voxel."),
        nuclide: str = typer.Option(..., "--nuclide", help="Nuclide, e.g. I-131."),
        output: Path = typer.Option(..., "-o", "--output", help="Dose map (NIfTI), Gy."),
        method: str = typer.Option("dvk", "--method", help="dvk | local | dvk-density | mc."),
        histories: int = typer.Option(
            1_000_000, "--histories", help="mc: photons transported (noise ∝ 1/√n)."
        ),
        seed: int = typer.Option(0, "--seed", help="mc: random seed."),
        ct: Path | None = typer.Option(None, "--ct", help="CT (HU) for densities."),
        labels: Path | None = typer.Option(None, "--labels", help="Label map for statistics."),
        label_names: Path | None = typer.Option(
            None, "--label-names", help="JSON/CSV label → region name."
        ),
        region_kind: str = typer.Option("organ", "--region-kind", help="organ | lesion …"),
        table: Path | None = typer.Option(
            None, "--table", help="Dose statistics table (CSV; default beside -o)."
        ),
        rtdose: Path | None = typer.Option(None, "--rtdose", help="Also write DICOM RT Dose."),
        reference: Path | None = typer.Option(
            None, "--reference", help="A PET DICOM file: patient, study, frame of reference."
        ),
        unit: str | None = typer.Option(
            None, "--unit", help="TIA unit if the file has none (default Bq*s): MBq*s, Bq*h…"
        ),
        kernel: Path | None = typer.Option(
            None, "--kernel", help="Own kernel (NIfTI, mGy/(MBq·s), odd, centred)."
        ),
        medium: str = typer.Option("soft_tissue", "--medium", help="Kernel medium."),
        energy: str = typer.Option("total", "--energy", help="local: total | electron."),
        subject: str = typer.Option("", "--subject", help="Subject id in the table."),
        workers: int | None = typer.Option(None, "--workers", help="FFT threads."),
    ) -> None:
        """Voxel absorbed dose (Gy) from a TIA map, with DVH statistics per region."""
        from ..dosimetry.voxel import (
            ArrayKernel,
            dose_method,
            dose_volume_table,
            kernel_for,
            voxel_dose,
        )
        from ..io import write_nifti
        from ..io.rt_dose import write_rt_dose

        tia_vol = _volume(tia, unit)
        if not tia_vol.unit:
            tia_vol = tia_vol.with_array(tia_vol.array, unit="Bq*s")
        ct_vol = _volume(ct, "HU") if ct is not None else None
        k = None
        if dose_method(method).uses_kernel:
            if kernel is not None:
                kv = _volume(kernel)
                k = ArrayKernel(kv.array, kv.spacing_mm, medium=medium, nuclide=nuclide)
            else:
                k = kernel_for(nuclide, tia_vol.spacing_mm, medium)
        dose = voxel_dose(
            tia_vol, k, method=method, nuclide=nuclide, ct=ct_vol, energy=energy,
            workers=workers, n_histories=histories, seed=seed,
        )  # fmt: skip
        write_nifti(dose, output, sidecar={"Units": "Gy", "method": method, "nuclide": nuclide})
        msg = f"dose max {float(dose.array.max()):.4g} Gy ({method}); wrote {output}"
        if rtdose is not None:
            write_rt_dose(dose, rtdose, reference=reference)
            msg += f", {rtdose}"
        if labels is not None:
            lab = _volume(labels)
            if not lab.same_grid(dose, tol_mm=1e-2):
                lab = lab.resample_like(dose, "nearest")
            stats = dose_volume_table(
                dose, lab, _names(label_names, labels), subject=subject, region_kind=region_kind
            )
            name = output.name.removesuffix(".gz").removesuffix(".nii")
            out_table = table or output.with_name(name + "_dvh.csv")
            out_table.parent.mkdir(parents=True, exist_ok=True)
            stats.to_csv(out_table, index=False)
            msg += f", {out_table}"
        typer.echo(msg)
