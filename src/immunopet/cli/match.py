"""CLI command ``immunopet match``: carry reference lesions onto other scans and pair them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.progress import Progress

from ..core.errors import ImmunopetWarning, InputError, InvalidValueError
from ..regions import carry_lesions, match_lesions, register_rigid, segment_lesions
from .regions import _stem, _suv, console, read_lesion_mask, write_table

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``match`` to ``app``."""

    @app.command("match")
    def match_cmd(
        ref_path: Path = typer.Argument(..., help="Reference PET (lesions defined on it)."),
        other_paths: list[Path] = typer.Argument(..., help="Other PET scans of the subject."),
        lesions: Path = typer.Option(..., "--lesions", help="Reference lesion mask."),
        output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
        ct: list[Path] = typer.Option(
            [], "--ct", help="CT per scan (reference first) when the PET files carry none."
        ),
        method: str = typer.Option(
            "fixed:4.0", "--method", help="Lesion method on the other scans."
        ),
        min_diameter_mm: float = typer.Option(10.0, "--min-diameter-mm"),
        max_distance_mm: float = typer.Option(20.0, "--max-distance-mm"),
        mask_type: str = typer.Option("auto", "--mask-type", help="auto | binary | labelled"),
    ) -> None:
        """Carry reference lesions onto other scans (rigid CT registration) and match lesions."""
        from ..io import load_scan, load_volume, write_nifti

        paths = [ref_path, *other_paths]
        if ct and len(ct) != len(paths):
            raise InvalidValueError(
                f"--ct given {len(ct)} times for {len(paths)} scans: give one per scan",
                field="--ct",
            )
        scans = [load_scan(p) for p in paths]
        cts = [load_volume(c) for c in ct] if ct else [s.ct for s in scans]
        ref_suv = _suv(scans[0], "bw")
        ref_les = read_lesion_mask(lesions, ref_suv, mask_type)
        output.mkdir(parents=True, exist_ok=True)
        match_rows, reg_rows = [], []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("registering and matching", total=len(other_paths))
            for path, scan, other_ct in zip(other_paths, scans[1:], cts[1:], strict=True):
                name = _stem(path)
                suv = _suv(scan, "bw")
                transform = None
                if cts[0] is not None and other_ct is not None:
                    reg = register_rigid(other_ct, cts[0])
                    transform = reg.transform
                    reg_rows.append({"scan": name, **reg.as_record()})
                elif scan.pet.frame_of_reference_uid != scans[0].pet.frame_of_reference_uid:
                    raise InputError(
                        "no CT to register this scan to the reference: give --ct for every scan",
                        file=path,
                    )
                carried = carry_lesions(ref_les, scan.pet, transform, target_suv=suv)
                found = segment_lesions(suv, method, min_diameter_mm=min_diameter_mm)
                m = match_lesions(carried, found, max_distance_mm=max_distance_mm)
                carried_max = dict(zip(carried.table.region, carried.table.suv_max, strict=True))
                found_max = dict(zip(found.table.region, found.table.suv_max, strict=True))
                m.insert(0, "scan", name)
                m["reference_suv_max_on_scan"] = m.reference_lesion.map(carried_max)
                m["other_suv_max"] = m.other_lesion.map(found_max)
                match_rows.append(m)
                for les, suffix in ((carried, "carried_lesions"), (found, "lesions")):
                    arr = les.labels.array.astype(np.int16)
                    write_nifti(
                        les.labels.volume.with_array(arr), output / f"{name}_{suffix}.nii.gz"
                    )
                progress.advance(task)
        table = pd.concat(match_rows, ignore_index=True)
        write_table(table, output / "matches.csv")
        if reg_rows:
            write_table(pd.DataFrame(reg_rows), output / "registration.csv")
            for r in reg_rows:
                if not r["ct_correlation"] >= 0.5:
                    warnings.warn(f"{r['scan']}: poor registration", ImmunopetWarning, stacklevel=1)
        console.print(f"{len(other_paths)} scan(s) matched → {output}", highlight=False)
