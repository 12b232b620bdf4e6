"""From a study to its task graph, and :func:`run_study`.

The graph of one study (``S`` subjects, ``n`` scans each)::

    lesions/<S>            (reference scan: load → SUV → lesions)        per subject
    measure/<S>/<scan>     (load → SUV → regions → lesions → measure)    per subject·scan
    tacs/<S> → tias/<S> → doses/<S>                                      per subject
    subjects, statistics, preclinical                                    cohort

Every option that changes a number is put in the task's options, so it is
hashed into the task's key: change the lesion threshold and only the lesion,
measure and downstream tasks rerun.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..study import ScanEntry, Study, Subject
from . import steps
from .engine import RunSummary, Task, run_tasks
from .executors import Executor
from .store import atomic_write_bytes
from .tables import write_errors

__all__ = ["build_tasks", "run_study"]


def _scan_options(study: Study, subject: Subject, scan: ScanEntry) -> dict[str, Any]:
    a = study.analysis
    mbq = scan.injected_activity_mbq
    labels_from = scan.labels_from
    if labels_from is not None and labels_from.lower() != "totalsegmentator":
        labels_from = str(study.resolve(labels_from))
    return {
        "subject": subject.id,
        "scan_id": scan.id,
        "path": str(study.resolve(scan.path)),
        "series_uid": scan.series_uid,
        "ct": None if scan.ct is None else str(study.resolve(scan.ct)),
        "tracer": scan.tracer,
        "nuclide": scan.nuclide,
        "time_h": scan.time_h,
        "injection_datetime": None if scan.injection_datetime is None
        else scan.injection_datetime.isoformat(),
        "injected_activity_bq": None if mbq is None else mbq * 1e6,
        "patient_weight_kg": subject.weight_kg,
        "patient_height_m": subject.height_m,
        "sex": subject.sex,
        "labels": None if scan.labels is None else str(study.resolve(scan.labels)),
        "labels_from": labels_from,
        "suv_kind": a.suv,
        "references": list(a.references),
        "lesion_core_mm": a.lesions.core_mm,
    }  # fmt: skip


def _inputs(o: dict[str, Any]) -> tuple[str, ...]:
    keys = ("path", "ct", "labels")
    files = [o[k] for k in keys if o.get(k)]
    if o.get("labels_from") and o["labels_from"].lower() != "totalsegmentator":
        files.append(o["labels_from"])
    return tuple(files)


def _subject_row(subject: Subject) -> dict[str, Any]:
    row: dict[str, Any] = {
        "subject": subject.id,
        "sex": subject.sex,
        "age_y": subject.age_y,
        "weight_kg": subject.weight_kg,
        "height_m": subject.height_m,
        "cold_antibody_mg": subject.cold_antibody_mg,
        "n_scans": len(subject.scans),
        "n_lesions_known": len(subject.lesions),
    }
    row.update(subject.groups)
    return row


def _tac_tracer(study: Study, subject: Subject) -> str | None:
    if study.analysis.kinetics.tracer:
        return study.analysis.kinetics.tracer
    ref = study.analysis.lesions.reference_tracer
    others = [s.tracer for s in subject.scans if not (ref and ref.lower() in s.tracer.lower())]
    return others[0] if others else None


def build_tasks(study: Study, *, only: Sequence[str] | None = None) -> list[Task]:
    """The task graph of ``study`` (optionally only some subjects)."""
    a = study.analysis
    lo = a.lesions
    subjects = [s for s in study.subjects if not only or s.id in set(only)]
    tasks: list[Task] = []
    measures: list[str] = []
    lesion_tasks: list[str] = []
    for subject in subjects:
        ref_scan = next((s for s in subject.scans if s.lesion_reference), None)
        lesion_task = None
        ref_options = None
        if lo.enabled and ref_scan is not None:
            lesion_task = f"lesions/{subject.id}"
            ref_options = _scan_options(study, subject, ref_scan)
            o = dict(
                ref_options,
                method=lo.method_spec,
                min_diameter_mm=lo.min_diameter_mm,
                seed_suv=lo.seed_suv,
                match_max_distance_mm=lo.match_max_distance_mm,
                exclude_regions=list(lo.exclude_regions),
                exclude_margin_voxels=lo.exclude_margin_voxels,
                min_liver_ratio=lo.min_liver_ratio,
                organ_background_ratio=lo.organ_background_ratio,
                truth=[t.model_dump(mode="json") for t in subject.lesions],
            )
            tasks.append(
                Task(lesion_task, "lesions", steps.detect_lesions, o, _inputs(o),
                     subject=subject.id, table="lesions")
            )  # fmt: skip
            lesion_tasks.append(lesion_task)
        subject_measures = []
        for scan in subject.scans:
            o = _scan_options(study, subject, scan)
            deps: tuple[str, ...] = ()
            if lesion_task is not None:
                o.update(lesion_task=lesion_task, is_lesion_reference=scan is ref_scan,
                         reference_scan=ref_options)  # fmt: skip
                deps = (lesion_task,)
            name = f"measure/{subject.id}/{scan.id}"
            tasks.append(
                Task(name, "measure", steps.measure_scan, o, _inputs(o), deps,
                     subject=subject.id, table="measurements")
            )  # fmt: skip
            subject_measures.append(name)
        measures.extend(subject_measures)
        tracer = _tac_tracer(study, subject)
        if tracer is None:
            continue
        tac = f"tacs/{subject.id}"
        tasks.append(
            Task(tac, "tacs", steps.subject_tacs, {"subject": subject.id, "tracer": tracer},
                 deps=tuple(subject_measures), subject=subject.id, table="tacs")
        )  # fmt: skip
        tia = f"tias/{subject.id}"
        ko = {"subject": subject.id, "tracer": tracer, "model": a.kinetics.model,
              "tail": a.kinetics.tail, "urinary_fraction": a.kinetics.urinary_fraction,
              "voiding_interval_h": a.kinetics.voiding_interval_h}  # fmt: skip
        tasks.append(Task(tia, "tias", steps.subject_tias, ko, deps=(tac,), subject=subject.id,
                          table="tias"))  # fmt: skip
        if a.dosimetry.enabled:
            do = {"subject": subject.id, "phantom": a.dosimetry.phantom, "sex": subject.sex,
                  "nuclide": a.dosimetry.nuclide}  # fmt: skip
            tasks.append(Task(f"doses/{subject.id}", "doses", steps.subject_doses, do,
                              deps=(tia,), subject=subject.id, table="doses"))  # fmt: skip

    rows = [_subject_row(s) for s in subjects]
    tasks.append(Task("subjects", "subjects", steps.subjects_table, {"subjects": rows},
                      table="subjects"))  # fmt: skip
    so = {
        "subjects": rows,
        "statistics": a.statistics.model_dump(mode="json"),
        "reference_tracer": lo.reference_tracer,
    }
    tasks.append(
        Task("statistics", "statistics", steps.cohort_statistics, so,
             deps=(*measures, *lesion_tasks), table="statistics", optional_deps=True)
    )  # fmt: skip
    arm = study.preclinical
    if arm is not None and (arm.uptake_table is not None or any(x.uptake for x in arm.animals)):
        from ..study import parse_time_label_h

        uptake = [
            {"animal": x.id, "group": x.group, "time_h": parse_time_label_h(u.time),
             "region": u.region, "value": u.percent_id_per_g}
            for x in arm.animals for u in x.uptake
        ]  # fmt: skip
        table = None if arm.uptake_table is None else str(study.resolve(arm.uptake_table))
        po = {"uptake": uptake, "uptake_table": table,
              "animals": [{"id": x.id, "group": x.group} for x in arm.animals]}  # fmt: skip
        tasks.append(Task("preclinical", "preclinical", steps.preclinical_uptake, po,
                          inputs=(table,) if table else (), table="preclinical"))  # fmt: skip
    return tasks


def run_study(
    study: Study,
    out_dir: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    only: Sequence[str] | None = None,
    quiet: bool = True,
    log: IO[str] | None = None,
    report: bool = True,
) -> RunSummary:
    """Run the whole analysis of ``study`` into ``out_dir``.

    Writes ``OUT/study.json`` (the validated study), the cached task outputs,
    ``OUT/tables/*.parquet|csv``, ``OUT/errors.json`` and, when the report
    module is present and ``report`` is true, ``OUT/report.html``.

    Returns
    -------
    RunSummary
        ``exit_code`` 0 (all done) or 3 (completed with errors).
    """
    from ..core.version import __version__

    out = Path(out_dir)
    if only:
        unknown = sorted(set(only) - {s.id for s in study.subjects})
        if unknown:
            from ..core.errors import StudyError

            raise StudyError(f"--only names unknown subject(s) {unknown}", file=study.source)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"immunopet_version": __version__, "study": study.model_dump(mode="json")}
    atomic_write_bytes(out / "study.json", json.dumps(meta, indent=2, default=str).encode())
    tasks = build_tasks(study, only=only)
    run_info = {
        "study": study.name,
        "version": __version__,
        "analysis": study.analysis.model_dump(mode="json"),
        "subjects": [s.id for s in study.subjects if not only or s.id in set(only)],
    }
    summary = run_tasks(
        tasks,
        out,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        quiet=quiet,
        log=log,
        run_info=run_info,
    )
    _write_mips(out, summary)
    if report:
        _write_report(out, summary)
    return summary


def _write_mips(out: Path, summary: RunSummary) -> None:
    """Copy each measured scan's MIP (cached with its measurements) to ``OUT/mip/``."""
    from .store import Bundle, read_output

    written = set()
    for name, path in sorted(summary.outputs.items()):
        if not name.startswith("measure/") or path.suffix != ".npz":
            continue
        value = read_output(path)
        if isinstance(value, Bundle) and "mip_png" in value.arrays:
            target = out / "mip" / f"{name.removeprefix('measure/').replace('/', '_')}.png"
            atomic_write_bytes(target, value.arrays["mip_png"].tobytes())
            written.add(target.name)
    for stale in (out / "mip").glob("*.png"):
        if stale.name not in written:  # a scan of an earlier run, not of this one
            stale.unlink()


def _write_report(out: Path, summary: RunSummary) -> None:
    try:
        from ..report import write_report
    except ImportError:
        return  # report module not installed in this build: tables only
    try:
        path = write_report(out)
    except Exception as exc:  # the tables are written; record and go on
        summary.errors.append(
            {"subject": None, "step": "report", "task": "report",
             "error_type": type(exc).__name__, "message": str(exc)}
        )  # fmt: skip
        write_errors(out / "errors.json", summary)
        return
    summary.tables["report"] = Path(path)
