"""From a study to its task graph, and :func:`run_study`.

The graph of one study (``S`` subjects, ``n`` scans each)::

    lesions/<S>            (reference scan: load → SUV → lesions)        per subject
    measure/<S>/<scan>     (load → SUV → regions → lesions → measure)    per subject·scan
    mips/<S>/<scan>        (the scan's MIP drawn to PNG → OUT/mip/)      per subject·scan
    tacs/<S> → tias/<S> → doses/<S>                                      per subject
    voxel_doses/<S> → voxel_dvh/<S>   (dosimetry.voxel; maps → OUT/voxel/) per subject
    subjects, statistics, preclinical                                    cohort

Every option that changes a number is put in the task's options, so it is
hashed into the task's key: change the lesion threshold and only the lesion,
measure and downstream tasks rerun.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from ..study import Study, Subject
from ..workflow import lesion_policy, scan_input, tac_tracer
from ..workflow.dose_sets import resolve_svalues
from . import figure_steps, steps, voxel_steps
from .engine import RunSummary, Task, run_tasks
from .executors import Executor
from .store import atomic_write_bytes
from .tables import write_errors
from .voxel_outputs import write_voxel_maps

__all__ = ["build_tasks", "run_study"]


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
        "n_lesions_analysed": sum(1 for les in subject.lesions if les.analysed),
    }
    row.update(subject.groups)
    return row


def _check_dose_nuclide(study: Study, subject: Subject, tracer: str) -> None:
    """Refuse ``dosimetry.nuclide`` ≠ the TAC nuclide (and ≠ any ``kinetics.therapy_nuclide``)."""
    from ..core.nuclides import parse_nuclide_name
    from ..workflow import check_tia_nuclide

    asked = study.analysis.dosimetry.nuclide
    if asked is None:
        return
    integrated = {parse_nuclide_name(s.nuclide) for s in subject.scans if s.tracer == tracer}
    if study.analysis.kinetics.therapy_nuclide:
        integrated.add(study.analysis.kinetics.therapy_nuclide)
    source = None if study.source is None else str(study.source)
    check_tia_nuclide(tuple(sorted(integrated)), parse_nuclide_name(asked), source=source)


def build_tasks(study: Study, *, only: Sequence[str] | None = None) -> list[Task]:
    """The task graph of ``study`` (optionally only some subjects)."""
    a = study.analysis
    lo = a.lesions
    subjects = [s for s in study.subjects if not only or s.id in set(only)]
    tasks: list[Task] = []
    figures = _can_draw_figures()
    measures: list[str] = []
    lesion_tasks: list[str] = []
    for subject in subjects:
        ref_scan = next((s for s in subject.scans if s.lesion_reference), None)
        lesion_task = None
        ref_input = None
        if lo.enabled and ref_scan is not None:
            lesion_task = f"lesions/{subject.id}"
            ref_input = scan_input(study, subject, ref_scan)
            policy = asdict(lesion_policy(lo))
            o = {
                "scan": ref_input.model_dump(mode="json"),
                "suv_kind": a.suv,
                "policy": {**policy, "exclude_regions": list(policy["exclude_regions"])},
                "match_max_distance_mm": lo.match_max_distance_mm,
                "truth": [t.model_dump(mode="json") for t in subject.lesions],
            }
            tasks.append(
                Task(lesion_task, "lesions", steps.detect_lesions, o, ref_input.files(),
                     subject=subject.id, table="lesions")
            )  # fmt: skip
            lesion_tasks.append(lesion_task)
        subject_measures = []
        for scan in subject.scans:
            si = scan_input(study, subject, scan)
            o = {
                "scan": si.model_dump(mode="json"),
                "suv_kind": a.suv,
                "references": list(a.references),
                "lesion_core_mm": lo.core_mm,
            }
            deps: tuple[str, ...] = ()
            if lesion_task is not None and ref_input is not None:
                o.update(lesion_task=lesion_task, is_lesion_reference=scan is ref_scan,
                         reference_scan=ref_input.model_dump(mode="json"))  # fmt: skip
                deps = (lesion_task,)
            name = f"measure/{subject.id}/{scan.id}"
            tasks.append(
                Task(name, "measure", steps.measure_scan, o, si.files(), deps,
                     subject=subject.id, table="measurements")
            )  # fmt: skip
            subject_measures.append(name)
            if figures:
                tasks.append(Task(f"mips/{subject.id}/{scan.id}", "mips", figure_steps.draw_mip,
                                  {"measure_task": name}, deps=(name,), subject=subject.id))  # fmt: skip
        measures.extend(subject_measures)
        tracer = tac_tracer(study, subject)
        if tracer is None:
            continue
        tac = f"tacs/{subject.id}"
        tasks.append(
            Task(tac, "tacs", steps.subject_tacs, {"subject": subject.id, "tracer": tracer},
                 deps=tuple(subject_measures), subject=subject.id, table="tacs")
        )  # fmt: skip
        tia = f"tias/{subject.id}"
        ko = {"subject": subject.id, "tracer": tracer,
              "kinetics": a.kinetics.model_dump(mode="json")}  # fmt: skip
        tasks.append(Task(tia, "tias", steps.subject_tias, ko, deps=(tac,), subject=subject.id,
                          table="tias"))  # fmt: skip
        if a.dosimetry.enabled and a.dosimetry.voxel is not None:
            tac_scans = [s for s in subject.scans if tracer.lower() in s.tracer.lower()]
            vo: dict[str, Any] = {
                "scans": [scan_input(study, subject, s).model_dump(mode="json") for s in tac_scans],
                "voxel": a.dosimetry.voxel.model_dump(mode="json"),
            }
            files = tuple(f for s in tac_scans for f in scan_input(study, subject, s).files())
            vdeps: tuple[str, ...] = ()
            if lesion_task is not None and ref_input is not None:
                vo.update(lesion_task=lesion_task, reference_scan=ref_input.model_dump(mode="json"))
                vdeps = (lesion_task,)
            vtask = f"voxel_doses/{subject.id}"
            tasks.append(Task(vtask, "voxel_doses", voxel_steps.subject_voxel_doses, vo, files,
                              vdeps, subject=subject.id, table="voxel_doses"))  # fmt: skip
            tasks.append(Task(f"voxel_dvh/{subject.id}", "voxel_dvh",
                              voxel_steps.subject_voxel_dvh, {"voxel_task": vtask},
                              deps=(vtask,), subject=subject.id, table="voxel_dvh"))  # fmt: skip
        if a.dosimetry.enabled:
            _check_dose_nuclide(study, subject, tracer)
            dosimetry = resolve_svalues(a.dosimetry, study.base_dir)
            do = {"subject": subject.id, "sex": subject.sex, "tracer": tracer,
                  "dosimetry": dosimetry.model_dump(mode="json")}  # fmt: skip
            given = dosimetry.svalues
            svalue_files = () if given is None else (
                (given,) if isinstance(given, str) else tuple(given.values())
            )  # fmt: skip
            tasks.append(Task(f"doses/{subject.id}", "doses", steps.subject_doses, do,
                              inputs=svalue_files, deps=(tia,), subject=subject.id,
                              table="doses"))  # fmt: skip

    rows = [_subject_row(s) for s in subjects]
    tasks.append(Task("subjects", "subjects", steps.subjects_table, {"subjects": rows},
                      deps=tuple(measures), table="subjects", optional_deps=True))  # fmt: skip
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
    elif arm is not None and any(x.images for x in arm.animals):
        from . import preclinical_steps as pre

        po, image_inputs = pre.preclinical_image_options(study)
        tasks.append(Task("preclinical", "preclinical", pre.preclinical_from_images, po,
                          inputs=image_inputs, table="preclinical"))  # fmt: skip
        tasks.append(Task("preclinical_comparisons", "preclinical_comparisons",
                          pre.preclinical_comparison_table,
                          {"groups": po["groups"]}, deps=("preclinical",),
                          table="preclinical_comparisons"))  # fmt: skip
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
    figure_steps.write_mip_files(out, summary.outputs)
    write_voxel_maps(out, summary)
    if report:
        _write_report(out, summary)
    return summary


def _can_draw_figures() -> bool:
    """Whether the report module and matplotlib are installed in this build.

    Asked of the import system without importing them (1.4 s in this process, serial,
    before any task): the workers import matplotlib where they draw.
    """
    from importlib.util import find_spec

    return find_spec("matplotlib") is not None and find_spec("jinja2") is not None


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
