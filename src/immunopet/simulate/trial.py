"""The simulated trial written to disk: DICOM PET/CT per subject and scan, organ label
maps, ``study.yaml`` for the pipeline, a hidden ``truth.json`` and the micro-PET table.

Layout of ``out_dir``::

    dicom/<subject>/<scan_id>/PT/*.dcm, dicom/<subject>/<scan_id>/CT/*.dcm
    labels/<subject>_organs.nii.gz, labels/organ_names.json
    preclinical/images/<animal>_<t>h.nii.gz (+ .json), preclinical/micropet_truth.csv
    study.yaml      (what the pipeline reads)
    truth.json      (what only validation tests read)

All scans of one subject share one frame of reference (the patient is
repositioned identically — a simplification; registration is not exercised).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from ..core.nuclides import Nuclide
from ..core.scan import Acquisition
from .anatomy import SubjectAnatomy, local_background_organ, place_lesions, subject_anatomy
from .background import Background
from .biodistribution import organ_suvs
from .cohort import Cohort, SubjectSpec, build_cohort
from .imaging import (
    PetSystem,
    SphereLesion,
    form_ct_image,
    form_pet_image,
    pet_grid,
    recovery_coefficient_sphere,
    render_suv_map,
    system_fwhm_mm,
    true_uptake_for_target,
)
from .lesion_uptake import FDG_TRACER, calibrate_lesions, lesion_target
from .micropet_arm import simulate_micropet_arm
from .study_file import study_dict

__all__ = ["SimulatedTrial", "simulate_trial", "study_dict", "I124_TRACER", "FDG_TRACER"]

I124_TRACER = "124I-trastuzumab"
_MANUFACTURER = {
    "siemens": "SIEMENS",
    "ge": "GE MEDICAL SYSTEMS",
    "philips": "Philips",
    "generic": "immunopet",
}
_CT_HU_OFFSET = {"liver": -25.0, "lymph_node": 5.0}  # hypodense liver mets; bone lesions lytic
PhantomFactory = Callable[[str, float], Any]


@dataclass(frozen=True)
class SimulatedTrial:
    """Where the simulated trial was written, and the cohort behind it."""

    out_dir: Path
    study_path: Path
    truth_path: Path
    preclinical_csv: Path  # the micro-PET arm's hidden truth (micropet_truth.csv)
    cohort: Cohort
    scans: tuple[dict[str, Any], ...]


def _default_phantom_factory(sex: str, voxel_mm: float) -> Any:
    from ..dosimetry.phantom import reference_phantom

    return reference_phantom("female" if sex == "F" else "male", voxel_mm)


def _time_label(time_h: float) -> str:
    return f"{int(round(time_h))}h"


def _scan_plan(subject: SubjectSpec) -> list[dict[str, Any]]:
    plan = [
        dict(
            scan_id="FDG-1h",
            tracer=FDG_TRACER,
            nuclide="18F",
            time_h=subject.fdg_scan_time_h,
            nominal="1h",
            injection=subject.fdg_injection_datetime,
            activity_bq=subject.fdg_activity_bq,
            reference=True,
        )
    ]
    for t in subject.scan_times_h:
        label = _time_label(t)
        plan.append(
            dict(
                scan_id=f"I124-{label}",
                tracer=I124_TRACER,
                nuclide="124I",
                time_h=t,
                nominal=label,
                injection=subject.injection_datetime,
                activity_bq=subject.injected_activity_bq,
                reference=False,
            )
        )
    return plan


def _simulate_subject(
    subject: SubjectSpec,
    anatomy: SubjectAnatomy,
    centres: dict[str, tuple[float, float, float]],
    out_dir: Path,
    *,
    system: PetSystem,
    rng: np.random.Generator,
    noise: bool,
    write_dicom: bool,
    background: Background,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names = sorted(set(anatomy.organ_names.values()))
    label_of = {n: v for v, n in anatomy.organ_names.items()}
    frame_uid = anatomy.labels.frame_of_reference_uid or generate_uid()
    study_uid = generate_uid()
    grid = pet_grid(anatomy.labels, system.voxel_mm)
    lesions = [les for les in subject.lesions if les.analysed]
    shells = {
        les.lesion_id: local_background_organ(anatomy, centres[les.lesion_id], les.diameter_mm / 2)
        for les in lesions
    }
    scans: list[dict[str, Any]] = []
    truth_rows: list[dict[str, Any]] = []
    ct_lesions = [
        (centres[les.lesion_id], les.diameter_mm, _CT_HU_OFFSET.get(les.site, -15.0))
        for les in lesions
    ]
    for n_series, plan in enumerate(_scan_plan(subject)):
        nuclide = Nuclide.from_name(plan["nuclide"])
        fwhm = system_fwhm_mm(nuclide, system)
        suv = organ_suvs(
            names,
            tracer=plan["tracer"],
            time_h=plan["time_h"],
            quantiles=subject.organ_quantiles,
            liver_condition=subject.liver_condition,
            thyroid_escape=subject.thyroid_escape_suv,
        )
        spheres = []
        for les in lesions:
            bg = sum(suv.get(o, 0.0) * f for o, f in shells[les.lesion_id].items())
            target = lesion_target(les, plan["time_h"], bg, plan["tracer"])
            true = true_uptake_for_target(target, bg, les.diameter_mm, fwhm, system.voxel_mm)
            spheres.append(SphereLesion(centres[les.lesion_id], les.diameter_mm, true))
            truth_rows.append(
                dict(
                    subject=subject.subject_id,
                    scan_id=plan["scan_id"],
                    tracer=plan["tracer"],
                    time_h=plan["time_h"],
                    lesion=les.lesion_id,
                    target_suvmax=round(target, 4),
                    true_suv=round(true, 4),
                    background_suv=round(bg, 4),
                    recovery_coefficient=round(
                        float(recovery_coefficient_sphere(les.diameter_mm, fwhm, system.voxel_mm)),
                        4,
                    ),
                )
            )
        organ_lut = {label_of[n]: v for n, v in suv.items()}
        form = dict(
            nuclide=nuclide,
            injected_activity_bq=plan["activity_bq"],
            weight_kg=subject.weight_kg,
            time_h=plan["time_h"],
            system=system,
        )
        to_suv = (
            plan["activity_bq"]
            / (subject.weight_kg * 1000.0)
            * float(nuclide.decay_factor(plan["time_h"] * 3600.0))
        )
        rows = truth_rows[-len(lesions) :] if lesions else []
        spheres = calibrate_lesions(
            spheres, rows, anatomy, organ_lut, grid, form, to_suv,
            rng=rng if noise else None,
        )  # fmt: skip
        suv_map = render_suv_map(anatomy.labels, organ_lut, spheres)
        image = form_pet_image(suv_map, grid, rng=rng if noise else None, **form)
        scan_dir = out_dir / "dicom" / subject.subject_id / plan["scan_id"]
        start = plan["injection"] + timedelta(hours=plan["time_h"])
        acq = Acquisition(
            nuclide=nuclide,
            units="BQML",
            decay_correction="START",
            scan_start_datetime=start,
            injection_datetime=plan["injection"],
            injected_activity_bq=plan["activity_bq"],
            patient_weight_kg=subject.weight_kg,
            patient_height_m=subject.height_m,
            patient_sex=subject.sex,
            frame_duration_s=system.frame_s(nuclide),
            tracer=plan["tracer"],
            manufacturer=_MANUFACTURER[subject.flavour],
            series_description=f"{plan['tracer']} {plan['nominal']} PET",
            patient_id=subject.patient_id,
        )
        if write_dicom:
            from ..io.dicom_write import write_ct_series, write_pet_series

            ct = form_ct_image(anatomy.hu, ct_lesions, rng=rng if noise else None)
            background.submit(
                write_pet_series,
                image,
                acq,
                scan_dir / "PT",
                flavour=subject.flavour,
                study_uid=study_uid,
                frame_of_reference_uid=frame_uid,
                patient_id=subject.patient_id,
                patient_name=f"SIM^{subject.subject_id}",
                series_number=100 + 2 * n_series,
                bed_duration_s=system.frame_s(nuclide),
            )
            background.submit(
                write_ct_series,
                ct,
                scan_dir / "CT",
                study_uid=study_uid,
                frame_of_reference_uid=frame_uid,
                patient_id=subject.patient_id,
                patient_name=f"SIM^{subject.subject_id}",
                series_number=101 + 2 * n_series,
                acquisition_datetime=start - timedelta(minutes=2),
            )
        scans.append(dict(plan, path=scan_dir, image=image, organ_suv=suv, fwhm_mm=fwhm))
    return scans, truth_rows


def _write_labels(anatomy: SubjectAnatomy, path: Path) -> None:
    import nibabel as nib

    arr = np.asarray(anatomy.labels.array).transpose(2, 1, 0).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(arr, anatomy.labels.affine_ras), str(path))


def simulate_trial(
    out_dir: str | Path,
    *,
    n_subjects: int | None = None,
    seed: int = 0,
    system: PetSystem | None = None,
    ct_voxel_mm: float = 3.0,
    phantom_factory: PhantomFactory | None = None,
    noise: bool = True,
    write_dicom: bool = True,
    lesion_record: str = "sites",
    background_processes: int = 0,
) -> SimulatedTrial:
    """Simulate the reference trial into ``out_dir`` (module docstring for the layout).

    Parameters
    ----------
    out_dir
        Output folder (created).
    n_subjects, seed
        Cohort size and seed (:func:`.cohort.build_cohort`).
    system
        PET system (resolution, voxel, frame durations, noise); default :class:`PetSystem`.
    ct_voxel_mm
        CT (and label map) voxel size.
    phantom_factory
        ``(sex, voxel_mm) -> phantom``; default the dosimetry reference phantom.
    noise
        False gives noiseless (expected) images, for validation.
    write_dicom
        False skips the DICOM files (images stay in memory in ``scans``).
    lesion_record
        What ``study.yaml`` says about lesions (:func:`study_dict`).
    background_processes
        Processes that write the DICOM files and simulate the micro-PET arm while
        this one goes on with the next subject (0: all here). The files are the
        same either way: the random draws all happen here, in the same order.
    """
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    system = system or PetSystem()
    factory = phantom_factory or _default_phantom_factory
    cohort = build_cohort(seed, n_subjects)
    rng = np.random.default_rng([seed, 1])
    phantoms: dict[str, Any] = {}
    all_scans: dict[str, list[dict[str, Any]]] = {}
    truth: dict[str, Any] = dict(
        seed=seed,
        system=dict(scanner_fwhm_mm=system.scanner_fwhm_mm, voxel_mm=system.voxel_mm),
        subjects=[],
        lesion_scans=[],
    )
    label_names: dict[int, str] = {}
    all_centres: dict[str, dict[str, tuple[float, float, float]]] = {}
    with Background(background_processes) as background:
        arm_future = background.submit(
            simulate_micropet_arm, out / "preclinical", seed=seed, rel_to=out
        )
        for subject in cohort.subjects:
            if subject.sex not in phantoms:
                phantoms[subject.sex] = factory(subject.sex, ct_voxel_mm)
            anatomy = subject_anatomy(
                phantoms[subject.sex],
                sex=subject.sex,
                weight_kg=subject.weight_kg,
                height_m=subject.height_m,
                ct_voxel_mm=ct_voxel_mm,
                frame_of_reference_uid=generate_uid(),
            )
            label_names.update(anatomy.organ_names)
            centres = place_lesions(anatomy, subject.lesions, rng)
            all_centres[subject.subject_id] = centres
            scans, rows = _simulate_subject(
                subject,
                anatomy,
                centres,
                out,
                system=system,
                rng=rng,
                noise=noise,
                write_dicom=write_dicom,
                background=background,
            )
            _write_labels(anatomy, out / "labels" / f"{subject.subject_id}_organs.nii.gz")
            all_scans[subject.subject_id] = scans
            truth["lesion_scans"].extend(rows)
            truth["subjects"].append(
                dict(
                    subject=subject.subject_id,
                    template=subject.template,
                    sex=subject.sex,
                    weight_kg=subject.weight_kg,
                    height_m=subject.height_m,
                    injected_activity_bq=subject.injected_activity_bq,
                    her2="positive" if subject.her2_positive else "negative",
                    cold_antibody_mg=subject.cold_antibody_mg,
                    liver_condition=subject.liver_condition,
                    lesions=[
                        dict(
                            id=les.lesion_id,
                            site=les.site,
                            her2_positive=les.her2_positive,
                            diameter_mm=les.diameter_mm,
                            centre_lps_mm=centres.get(les.lesion_id),
                            analysed=les.analysed,
                            role=les.role,
                            target_suvmax_fdg=les.target_suvmax_fdg,
                            target_suvmax_i124={
                                str(k): v for k, v in les.target_suvmax_i124.items()
                            },
                        )
                        for les in subject.lesions
                    ],
                    scans=[
                        dict(
                            scan_id=sc["scan_id"],
                            tracer=sc["tracer"],
                            time_h=sc["time_h"],
                            fwhm_mm=sc["fwhm_mm"],
                            organ_true_suv=sc["organ_suv"],
                        )
                        for sc in scans
                    ],
                )
            )
        arm = arm_future.result()
    (out / "labels").mkdir(exist_ok=True)
    (out / "labels" / "organ_names.json").write_text(
        json.dumps({str(k): v for k, v in sorted(label_names.items())}, indent=1)
    )
    csv = arm.truth_path
    study = study_dict(cohort, all_scans, out, lesion_record=lesion_record, centres=all_centres,
                       preclinical=arm.study_section)  # fmt: skip
    study_path = out / "study.yaml"
    study_path.write_text(yaml.safe_dump(study, sort_keys=False))
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, default=str))
    flat = tuple(sc for sc_list in all_scans.values() for sc in sc_list)
    return SimulatedTrial(out, study_path, truth_path, csv, cohort, flat)
