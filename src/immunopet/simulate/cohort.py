"""The digital twin's cohort: the six patients of the reference study, and resampled ones.

Every random choice comes from one ``numpy.random.default_rng(seed)``, so a
seed reproduces the cohort exactly.

Patient templates restate Table 1 of the reference study (reference-study.md,
"Clinical arm", unscrambled). Table 1 lists 12 lesions in the HER2-negative
patients; the paper analysed 11 and does not say which one it left out. **The
simulation leaves out patient 6's third liver metastasis**, recorded at 9 mm,
below the paper's ≥ 1 cm rule for analysed lesions. It is kept in the truth
with ``analysed = False`` and is not drawn in the images.

Lesions and their uptake targets: :mod:`.lesion_design`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from .biodistribution import standardised_sample
from .lesion_design import LesionSpec, resampled_lesions, template_lesions

__all__ = [
    "LesionSpec",
    "SubjectSpec",
    "Cohort",
    "PATIENT_TEMPLATES",
    "build_cohort",
]


@dataclass(frozen=True)
class SubjectSpec:
    """One simulated patient: demographics, injections, scan times, lesions."""

    subject_id: str
    template: int
    sex: str
    age_y: int
    her2_positive: bool
    ihc: str
    fish: str
    cold_antibody_mg: float
    liver_condition: str
    weight_kg: float
    height_m: float
    injected_activity_bq: float
    fdg_activity_bq: float
    injection_datetime: datetime
    fdg_injection_datetime: datetime
    scan_times_h: tuple[float, ...]
    fdg_scan_time_h: float
    lesions: tuple[LesionSpec, ...]
    organ_quantiles: dict[str, float]
    thyroid_escape_suv: float | None
    flavour: str
    diagnosis: str = ""

    @property
    def patient_id(self) -> str:
        """DICOM PatientID."""
        return f"IMMUNOPET-{self.subject_id}"


@dataclass(frozen=True)
class Cohort:
    """The simulated trial population."""

    seed: int
    subjects: tuple[SubjectSpec, ...] = field(default_factory=tuple)

    @property
    def analysed_lesions(self) -> list[tuple[str, LesionSpec]]:
        """(subject_id, lesion) for every analysed lesion."""
        return [(s.subject_id, les) for s in self.subjects for les in s.lesions if les.analysed]


# --- Table 1 -------------------------------------------------------------------------------
#: Table 1 of the reference study (reference-study.md); lesion sites with counts.
PATIENT_TEMPLATES: tuple[dict[str, object], ...] = (
    dict(
        sex="M",
        age=52,
        her2=True,
        ihc="3+",
        fish="+",
        cold=5.0,
        liver="5mg_on_therapy",
        diagnosis="GC, postoperative recurrence",
        sites=(("liver", 3), ("humerus_right", 1), ("iliac_pubic", 4), ("sacrum", 1), ("spine", 7)),
    ),
    dict(
        sex="M",
        age=62,
        her2=False,
        ihc="2+",
        fish="-",
        cold=10.0,
        liver="10mg",
        diagnosis="GEC",
        sites=(("lymph_node", 3),),
        late_scans=True,
    ),
    dict(
        sex="F",
        age=38,
        her2=True,
        ihc="3+",
        fish="+",
        cold=10.0,
        liver="10mg",
        diagnosis="GC",
        sites=(("primary_stomach", 1), ("lymph_node", 1)),
    ),
    dict(
        sex="M",
        age=70,
        her2=False,
        ihc="2+",
        fish="-",
        cold=10.0,
        liver="10mg",
        diagnosis="GEC, postoperative recurrence",
        sites=(("primary_gej", 1), ("lymph_node", 2)),
    ),
    dict(
        sex="M",
        age=61,
        her2=False,
        ihc="2+",
        fish="-",
        cold=10.0,
        liver="10mg",
        diagnosis="GC, signet-ring cell",
        sites=(("primary_stomach", 1),),
    ),
    dict(
        sex="M",
        age=69,
        her2=False,
        ihc="2+",
        fish="-",
        cold=5.0,
        liver="5mg_naive",
        diagnosis="GEC",
        sites=(("primary_gej", 1), ("liver", 3), ("lymph_node", 1)),
        thyroid_escape=64.5,
    ),
)

#: Liver SUV at 24 h of the four 10 mg patients (paper, Discussion), in template order 2–5.
_LIVER_24H_10MG = (2.6, 2.9, 4.2, 4.4)

_FLAVOURS = ("siemens", "ge", "philips", "generic")
_STUDY_START = datetime(2018, 6, 4, 9, 30)  # the trial ran June–December 2018 (Methods)


def _anthropometry(rng: np.random.Generator, sex: str) -> tuple[float, float]:
    # Adult gastric-cancer patients in China: weight/height around the national adult means
    # (Report on Chinese Residents' Chronic Diseases and Nutrition 2015), slightly cachectic.
    if sex == "F":
        return float(np.clip(rng.normal(54, 7), 40, 80)), float(
            np.clip(rng.normal(1.58, 0.05), 1.45, 1.72)
        )
    return float(np.clip(rng.normal(63, 9), 45, 95)), float(
        np.clip(rng.normal(1.69, 0.06), 1.55, 1.85)
    )


def build_cohort(seed: int = 0, n_subjects: int | None = None) -> Cohort:
    """The simulated trial population.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same cohort.
    n_subjects
        ``None`` → the six patients of Table 1. ``n ≤ 6`` → the first ``n`` of
        them. ``n > 6`` → the six plus ``n − 6`` subjects resampled from the
        templates (same sites and HER2 status, fresh anthropometry, uptake and
        lesion sizes).

    Returns
    -------
    Cohort
    """
    rng = np.random.default_rng(seed)
    n_total = 6 if n_subjects is None else int(n_subjects)
    if n_total < 1:
        raise ValueError("n_subjects must be ≥ 1")
    lesions = template_lesions(rng, PATIENT_TEMPLATES)
    # Injected activity 74 ± 17 MBq (Methods) as a six-patient sample.
    activity_mbq = standardised_sample(rng, 6, mean=74.0, sd=17.0, low=45.0, high=110.0)
    templates = list(range(6)) + [int(rng.integers(0, 6)) for _ in range(max(n_total - 6, 0))]
    subjects = []
    liver_10mg = iter(_LIVER_24H_10MG)
    for k, t in enumerate(templates[:n_total]):
        tpl = PATIENT_TEMPLATES[t]
        sex = str(tpl["sex"])
        weight_kg, height_m = _anthropometry(rng, sex)
        quantiles = {
            organ: float(rng.uniform(0.1, 0.9))
            for organ in (
                "blood",
                "liver",
                "kidneys",
                "urinary_bladder_contents",
                "spleen",
                "thyroid",
                "muscle",
                "remainder",
                "stomach_wall",
                "salivary_glands",
            )
        }
        if k < 6:
            les = lesions[t]
            a_mbq = float(activity_mbq[k])
            sid = f"P{k + 1:02d}"
            if tpl["liver"] == "10mg":  # pin the four published 24 h liver values
                quantiles["liver"] = (next(liver_10mg) - 2.6) / (4.4 - 2.6)
        else:
            les = resampled_lesions(rng, tpl)
            a_mbq = float(np.clip(rng.normal(74.0, 17.0), 45.0, 110.0))
            sid = f"S{k + 1:03d}"
        inj = _STUDY_START + timedelta(days=21 * k, minutes=int(rng.integers(-30, 60)))
        fdg_inj = inj - timedelta(days=3, minutes=int(rng.integers(30, 90)))
        times = (1.0, 24.0, 48.0, 72.0, 96.0) if tpl.get("late_scans") else (1.0, 24.0, 48.0)
        jitter = tuple(
            float(
                np.round(t_h + (rng.uniform(-5, 5) / 60 if t_h < 2 else rng.uniform(-0.5, 0.5)), 3)
            )
            for t_h in times
        )
        subjects.append(
            SubjectSpec(
                subject_id=sid,
                template=t + 1,
                sex=sex,
                age_y=int(tpl["age"]) if k < 6 else int(np.clip(rng.normal(60, 10), 30, 75)),
                her2_positive=bool(tpl["her2"]),
                ihc=str(tpl["ihc"]),
                fish=str(tpl["fish"]),
                cold_antibody_mg=float(tpl["cold"]),  # type: ignore[arg-type]
                liver_condition=str(tpl["liver"]),
                weight_kg=round(weight_kg, 1),
                height_m=round(height_m, 2),
                injected_activity_bq=round(a_mbq, 1) * 1e6,
                # FDG ≈ 3.7 MBq/kg (EANM FDG guideline v2, Boellaard et al. 2015)
                fdg_activity_bq=round(3.7 * weight_kg, 0) * 1e6,
                injection_datetime=inj,
                fdg_injection_datetime=fdg_inj,
                scan_times_h=jitter,
                fdg_scan_time_h=float(np.round(rng.uniform(55, 70) / 60, 3)),
                lesions=tuple(les),
                organ_quantiles=quantiles,
                thyroid_escape_suv=tpl.get("thyroid_escape"),  # type: ignore[arg-type]
                flavour=_FLAVOURS[k % len(_FLAVOURS)],
                diagnosis=str(tpl["diagnosis"]),
            )
        )
    return Cohort(seed=seed, subjects=tuple(subjects))


def with_lesions(subject: SubjectSpec, lesions: tuple[LesionSpec, ...]) -> SubjectSpec:
    """A copy of ``subject`` with other lesions."""
    return replace(subject, lesions=lesions)
