"""CLI commands of the regions step: ``immunopet measure`` and ``lesions`` (``match``: :mod:`.match`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import InputError, InvalidValueError
from ..core.scan import Scan
from ..core.volume import Volume
from ..measure import measure
from ..regions import (
    LabelMap,
    LesionSet,
    blood_pool,
    fractional_occupancy,
    label_names_from,
    labels_on_pet_grid,
    lesions_from_labels,
    load_label_map,
    parse_method,
    segment_lesions,
    to_immunopet_organs,
)
from ..workflow import ScanInput, lesion_policy
from .study_options import SCAN_OPTION, STUDY_OPTION, SUBJECT_OPTION, analysis_of, override

__all__ = ["read_lesion_mask", "register", "write_table"]

console = Console()


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV or Parquet, chosen by the suffix."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InvalidValueError(
            "output must end in .csv or .parquet", file=path, field="-o", value=path.suffix
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if suffix == ".csv":
        df.to_csv(tmp, index=False)
    else:
        df.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def read_lesion_mask(
    path: Path, suv: Volume, mask_type: str = "auto", *, min_diameter_mm: float | None = None
) -> LesionSet:
    """A user lesion mask on the PET grid: ``binary`` (0/1 only), ``labelled`` or ``auto``."""
    if mask_type not in ("auto", "binary", "labelled"):
        raise InvalidValueError(
            "mask type must be auto, binary or labelled", field="--mask-type", value=mask_type
        )
    lm = load_label_map(path, region_kind="lesion", warn_empty=False)
    binary = mask_type == "binary" or (
        mask_type == "auto" and set(np.unique(lm.array).tolist()) <= {0, 1}
    )
    return lesions_from_labels(
        lm.volume, suv, binary=binary, min_diameter_mm=min_diameter_mm, file=path
    )


def _suv(scan: Scan, kind: str) -> Volume:
    from ..quant import suv_volume

    return suv_volume(scan, kind=kind)  # type: ignore[arg-type]


def _organ_labels(
    labels: Path, labels_from: str | None, pet: Volume, partial_volume: bool
) -> tuple[LabelMap, object]:
    """Organ label map on the PET grid (and the set to measure: nearest or fractional)."""
    if labels_from is None:
        lm = load_label_map(labels)
    else:
        names = label_names_from(labels_from)
        is_ts = str(labels_from).lower().startswith("totalsegmentator")
        lm = load_label_map(labels, names, warn_empty=not is_ts)
        if is_ts:
            lm = to_immunopet_organs(lm)
    on_pet = labels_on_pet_grid(lm, pet)
    to_measure = fractional_occupancy(lm, pet) if partial_volume else on_pet
    return on_pet, to_measure


def _seg_layers(
    label_maps: Sequence[LabelMap],
) -> tuple[list[Volume], dict[int, str], dict[int, str]]:
    """Label layers, names and kinds for :func:`~immunopet.io.write_seg`.

    The first map keeps its label numbers; each later map (lesions, blood pool) is
    renumbered above the largest label before it. Only named labels with voxels are
    kept (the regions :func:`~immunopet.measure.measure` reports); layers may overlap.
    """
    layers: list[Volume] = []
    names: dict[int, str] = {}
    kinds: dict[int, str] = {}
    offset = 0
    for lm in label_maps:
        present = set(lm.present_labels().tolist())
        keep = sorted(n for n in lm.names if n in present)
        if not keep:
            continue
        arr = np.asarray(lm.array)
        lut = np.zeros(int(arr.max()) + 1, dtype=np.int32)
        for number in keep:
            lut[number] = number + offset
            names[number + offset] = lm.names[number]
            kinds[number + offset] = lm.region_kind
        layers.append(lm.volume.with_array(lut[arr], "label"))
        offset = int(lut.max())
    return layers, names, kinds


def _write_dicom_regions(
    scan: Scan,
    pet_path: Path,
    label_maps: Sequence[LabelMap],
    table: pd.DataFrame,
    seg_path: Path,
    sr_path: Path | None,
) -> None:
    """Write the measured regions as a DICOM SEG and, optionally, a TID 1500 SR on it."""
    from ..io import write_measurement_sr, write_seg

    layers, names, kinds = _seg_layers(label_maps)
    if not layers:
        raise InputError("no labelled region on the PET grid to write to the SEG", file=seg_path)
    write_seg(layers, names, pet_path, seg_path, kinds=kinds)
    if sr_path is not None:
        write_measurement_sr(
            table, seg_path, pet_path, sr_path, subject=scan.subject_id, scan_id=scan.scan_id
        )


def _print_lesions(les: LesionSet) -> None:
    table = Table("lesion", "SUVmax", "volume (mL)", "diameter (mm)", "centroid LPS (mm)")
    for row in les.table.itertuples():
        table.add_row(
            row.region,
            f"{row.suv_max:.2f}",
            f"{row.volume_ml:.2f}",
            f"{row.equivalent_diameter_mm:.1f}",
            f"({row.centroid_x_mm:.1f}, {row.centroid_y_mm:.1f}, {row.centroid_z_mm:.1f})",
        )
    console.print(table)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _masked_lesions(si, policy, kind: str, search_mask: Path):  # type: ignore[no-untyped-def]
    """Lesions inside a user's search mask (no organ rules)."""
    from ..quant import suv_volume
    from ..workflow import load_study_scan

    suv = suv_volume(load_study_scan(si), kind)  # type: ignore[arg-type]
    mask = labels_on_pet_grid(load_label_map(search_mask, warn_empty=False), suv)
    les = segment_lesions(
        suv, policy.method, search_mask=mask, min_diameter_mm=policy.min_diameter_mm,
        seed_suv=policy.seed_suv,
    )  # fmt: skip
    return les, suv


def _measure_study_scan(study, analysis, subject, scan_id, pet_path, kind, refs):  # type: ignore[no-untyped-def]
    """The run's measurement of one study scan: its labels, the reference lesions carried."""
    from ..workflow import find_lesions, measure_scan, scan_input, select_scan

    entry_subject, entry = select_scan(study, subject, scan_id)
    si = scan_input(study, entry_subject, entry).model_copy(update={"path": str(pet_path)})
    ref_entry = next((s for s in entry_subject.scans if s.lesion_reference), None)
    reference = ref_si = None
    if analysis.lesions.enabled and ref_entry is not None:
        ref_si = scan_input(study, entry_subject, ref_entry)
        if ref_entry is entry:
            ref_si = si
        reference, _ = find_lesions(ref_si, lesion_policy(analysis.lesions), suv_kind=kind)
    table, _, _ = measure_scan(
        si, suv_kind=kind, references=refs, lesion_core_mm=analysis.lesions.core_mm,
        reference=reference, reference_scan=ref_si, is_reference=ref_entry is entry,
    )  # fmt: skip
    return table.frame


def register(app: typer.Typer) -> None:
    """Add ``measure`` and ``lesions`` to ``app``."""

    @app.command("measure")
    def measure_cmd(
        pet_path: Path = typer.Argument(..., help="PET: DICOM folder or NIfTI + JSON sidecar."),
        output: Path = typer.Option(..., "-o", "--output", help="table.csv or table.parquet"),
        labels: Path | None = typer.Option(
            None, "--labels", help="Organ label map (NIfTI or DICOM SEG); with --study: the scan's."
        ),
        labels_from: str | None = typer.Option(
            None, "--labels-from", help="'totalsegmentator' or a names.json {number: name}."
        ),
        lesions: str | None = typer.Option(
            None, "--lesions", help="'auto' (segment) or a lesion mask file."
        ),
        method: str | None = typer.Option(
            None, "--method", help="Lesion method for --lesions auto (default: the study's)."
        ),
        min_diameter_mm: float | None = typer.Option(None, "--min-diameter-mm"),
        mask_type: str = typer.Option("auto", "--mask-type", help="auto | binary | labelled"),
        reference: str | None = typer.Option(
            None, "--reference", help="Reference regions for tnr_<ref> (default: the study's)."
        ),
        blood_margin_mm: float = typer.Option(5.0, "--blood-margin-mm"),
        partial_volume: bool = typer.Option(
            False, "--partial-volume", help="Fractional occupancy (3³ sub-voxels) for organs."
        ),
        suv_kind: str | None = typer.Option(None, "--suv", help="bw | sul | bsa"),
        seg: Path | None = typer.Option(
            None, "--seg", help="Also write the regions as a DICOM SEG (DICOM PET only)."
        ),
        sr: Path | None = typer.Option(
            None, "--sr", help="Also write a TID 1500 SR referencing the --seg (DICOM PET only)."
        ),
        study_path: Path | None = STUDY_OPTION,
        subject: str | None = SUBJECT_OPTION,
        scan_id: str | None = SCAN_OPTION,
    ) -> None:
        """Measure every organ (and lesion) of one PET scan into the tidy table.

        With ``--seg`` the organ labels (on the PET grid), lesions (renumbered above
        the largest organ label) and blood pool are written as a DICOM SEG on the PET
        series; ``--sr`` adds a TID 1500 measurement report referencing its segments.
        """
        study, analysis = analysis_of(study_path)
        kind = suv_kind or analysis.suv
        refs = (
            tuple(analysis.references)
            if reference is None
            else tuple(r.strip() for r in reference.split(",") if r.strip())
        )
        if study is not None:
            if seg is not None or sr is not None or lesions or labels is not None:
                raise InvalidValueError(
                    "with --study the labels and lesions are the study's: leave out "
                    "--labels/--lesions/--seg/--sr (measure without --study for those)",
                    field="--study",
                )
            df = _measure_study_scan(study, analysis, subject, scan_id, pet_path, kind, refs)
            write_table(df, output)
            console.print(
                f"{df.region.nunique()} regions × {df.metric.nunique()} metrics → {output}",
                highlight=False,
            )
            return
        if labels is None:
            raise InvalidValueError("give --labels (or --study)", field="--labels")
        lesion_options = analysis.lesions
        if method is not None:
            name, value = parse_method(method)
            lesion_options = override(lesion_options, method=name, threshold=value)
        lesion_options = override(lesion_options, min_diameter_mm=min_diameter_mm)
        from ..io import load_scan
        from ..io.nifti import is_nifti

        if (seg is not None or sr is not None) and is_nifti(pet_path):
            raise InputError(
                "--seg/--sr write DICOM objects that reference the PET series: "
                "give the PET as a DICOM folder, not NIfTI",
                file=pet_path,
                field="--seg" if seg is not None else "--sr",
            )
        if sr is not None and seg is None:
            raise InputError(
                "--sr references the regions of a DICOM SEG: give --seg PATH too", field="--sr"
            )
        scan = load_scan(pet_path)
        suv = _suv(scan, kind)
        on_pet, organs = _organ_labels(labels, labels_from, scan.pet, partial_volume)
        sets: list[object] = [organs]
        extra_maps: list[LabelMap] = []  # lesions, blood pool: SEG layers after the organs
        if "blood" not in on_pet.names.values():
            try:
                extra_maps.append(blood_pool(on_pet, margin_mm=blood_margin_mm))
                sets.append(extra_maps[-1])
            except InputError:
                pass  # no heart/aorta label: no blood row (and no tnr_blood, with a warning)
        if lesions:
            if lesions.lower() == "auto":
                les = lesion_policy(lesion_options).find(suv, on_pet)
            else:
                les = read_lesion_mask(Path(lesions), suv, mask_type)
            sets.append(les.labels)
            extra_maps.insert(0, les.labels)
        df = measure(
            scan, sets, references=refs, suv=suv, suv_kind=kind,
            lesion_core_mm=analysis.lesions.core_mm,
        )  # type: ignore[arg-type]  # fmt: skip
        write_table(df, output)
        console.print(
            f"{df.region.nunique()} regions × {df.metric.nunique()} metrics → {output}",
            highlight=False,
        )
        if seg is not None:
            _write_dicom_regions(scan, pet_path, [on_pet, *extra_maps], df, seg, sr)
            console.print(
                f"DICOM SEG → {seg}" + (f", SR → {sr}" if sr is not None else ""), highlight=False
            )

    @app.command("lesions")
    def lesions_cmd(
        pet_path: Path = typer.Argument(..., help="PET: DICOM folder or NIfTI + JSON sidecar."),
        output: Path = typer.Option(..., "-o", "--output", help="lesions.nii.gz (label map)"),
        method: str | None = typer.Option(
            None, "--method", help="fixed:T | relative:F | adaptive[:F] (default: the study's)."
        ),
        min_diameter_mm: float | None = typer.Option(None, "--min-diameter-mm"),
        seed_suv: float | None = typer.Option(
            None, "--seed-suv", help="Seed threshold (relative/adaptive)."
        ),
        search_mask: Path | None = typer.Option(None, "--search-mask", help="Search region mask."),
        suv_kind: str | None = typer.Option(None, "--suv", help="bw | sul | bsa"),
        study_path: Path | None = STUDY_OPTION,
        subject: str | None = SUBJECT_OPTION,
        scan: str | None = SCAN_OPTION,
    ) -> None:
        """Segment lesions (≥ --min-diameter-mm) on the SUV image; writes labels + a CSV table.

        With ``--study`` the study's lesion policy (organ exclusion, organ-median
        background ratio, liver floor) and the scan's organ labels apply, exactly as
        in ``immunopet run``; the scan is the subject's lesion reference unless
        ``--scan`` names another.
        """
        from ..io import write_nifti
        from ..workflow import find_lesions, lesion_policy, scan_input, select_scan

        if not output.name.lower().endswith((".nii", ".nii.gz")):
            raise InvalidValueError(
                "output must be a .nii or .nii.gz file", file=output, field="-o"
            )
        study, analysis = analysis_of(study_path)
        options = analysis.lesions
        if method is not None:
            name, value = parse_method(method)  # a bad spelling fails here
            options = override(options, method=name, threshold=value)
        options = override(options, min_diameter_mm=min_diameter_mm, seed_suv=seed_suv)
        kind = suv_kind or analysis.suv
        if study is not None:
            entry_subject, entry = select_scan(study, subject, scan)
            si = scan_input(study, entry_subject, entry).model_copy(update={"path": str(pet_path)})
        else:
            si = ScanInput(subject="", scan_id=_stem(pet_path), path=str(pet_path), tracer="",
                           nuclide="", time_h=0.0)  # fmt: skip
        policy = lesion_policy(options)
        if search_mask is not None:
            from ..regions.lesion_policy import LesionPolicy

            policy = LesionPolicy.plain(policy.method, policy.min_diameter_mm, policy.seed_suv)
            les, suv = _masked_lesions(si, policy, kind, search_mask)
        else:
            les, suv = find_lesions(si, policy, suv_kind=kind)
        write_nifti(les.labels.volume.with_array(les.labels.array.astype(np.int16)), output)
        table_path = output.with_name(_stem(output) + ".csv")
        write_table(les.table, table_path)
        _print_lesions(les)
        console.print(f"{len(les)} lesion(s) → {output}, {table_path}", highlight=False)
