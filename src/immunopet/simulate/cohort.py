"""The digital twin's cohort: the six patients of the reference study, and resampled ones.

Every random choice comes from one ``numpy.random.default_rng(seed)``, so a
seed reproduces the cohort exactly.

Patient templates restate Table 1 of the reference study (reference-study.md,
"Clinical arm", unscrambled). Table 1 lists 12 lesions in the HER2-negative
patients; the paper analysed 11 and does not say which one it left out. **The
simulation leaves out patient 6's third liver metastasis**, recorded at 9 mm,
below the paper's ≥ 1 cm rule for analysed lesions. It is kept in the truth
with ``analysed = False`` and is not drawn in the images.

Patient 6 is the trastuzumab-naive patient with the 9.9 liver at 24 h: the
paper's organ ranges "in 5 patients" leave patient 6 out and end at 5.4, the
liver value of the patient on trastuzumab, so 9.9 can only be patient 6's. Its
two analysed HER2-negative liver metastases are photopenic in that liver; the
paper still measured them below 4.0 (specificity 100 %), as an ROI kept inside
the lesion does (``suv_max_core``, :data:`.study_file.REFERENCE_ANALYSIS`).

Lesion uptake targets (observed SUVmax the images should show) are drawn so
that the cohort reproduces the paper's statistics *as samples*: see
:func:`.biodistribution.standardised_sample`. Which HER2+ lesions are faint at
1 h and 48 h is a design choice that follows the paper's text: at 1 h the
antibody is still in the blood and the liver (liver metastases are iso-intense
with the 5.4-SUV liver of patient 1), at 48 h the faintest lesions fade into
the noisier background (paper: "low image quality because of insufficient
radioactivity counting").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from .biodistribution import standardised_sample

__all__ = [
    "LesionSpec",
    "SubjectSpec",
    "Cohort",
    "PATIENT_TEMPLATES",
    "build_cohort",
]

#: Detection-rule threshold the design is tuned for (immunopet.stats.detection default:
#: SUVmax over local-background SUVmean ≥ 1.5).
DETECTION_TNR = 1.5


@dataclass(frozen=True)
class LesionSpec:
    """One lesion of one subject, before it is placed in the anatomy.

    Attributes
    ----------
    lesion_id
        Unique within the subject (``"liver-1"``, ``"spine-L3"``).
    site
        Placement site: ``liver``, ``humerus_right``, ``iliac_pubic``,
        ``sacrum``, ``spine``, ``lymph_node``, ``primary_stomach``, ``primary_gej``.
    her2_positive
        HER2 status (the patient's).
    diameter_mm
        Sphere diameter (≥ 10 mm for analysed lesions).
    target_suvmax_i124
        Observed SUVmax the 124I images should show, by time (h): 1, 24, 48 (72, 96).
    target_suvmax_fdg
        Observed SUVmax on the FDG scan.
    analysed
        False for the lesion the paper left out (not drawn).
    role
        Design note: ``"occult_1h"``, ``"faint_48h"``, both joined by ``+``, or ``""``.
    """

    lesion_id: str
    site: str
    her2_positive: bool
    diameter_mm: float
    target_suvmax_i124: dict[float, float]
    target_suvmax_fdg: float
    analysed: bool = True
    role: str = ""


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

#: Nominal local background SUV (1, 24, 48 h) used only to place the faint lesions’
#: nominal targets; the final value follows the subject's own background.
_NOMINAL_BACKGROUND = {"liver": (6.5, 5.4, 3.9), "lymph_node": (1.0, 1.1, 0.9)}

_FLAVOURS = ("siemens", "ge", "philips", "generic")
_STUDY_START = datetime(2018, 6, 4, 9, 30)  # the trial ran June–December 2018 (Methods)


def _lesion_ids(sites: tuple[tuple[str, int], ...]) -> list[tuple[str, str]]:
    out = []
    for site, count in sites:
        for k in range(count):
            out.append((f"{site.replace('_', '-')}-{k + 1}", site))
    return out


def _diameter_mm(rng: np.random.Generator, site: str) -> float:
    lo, hi = {
        "liver": (15.0, 30.0),
        "large_liver": (26.0, 34.0),
        "primary_stomach": (20.0, 30.0),
        "primary_gej": (20.0, 30.0),
        "lymph_node": (12.0, 22.0),
    }.get(site, (12.0, 25.0))
    return float(np.round(rng.uniform(lo, hi), 1))


def _design_her2_positive(
    rng: np.random.Generator, ids: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """24 h / 1 h / 48 h targets and roles for the 18 HER2+ lesions (patients 1 and 3)."""
    n = len(ids)
    index = {lid: i for i, (lid, _) in enumerate(ids)}
    pinned: dict[int, float] = {}
    # Paper examples: left / right iliac 9.2 / 7.7 at 24 h, L3 6.42; liver metastases of
    # patient 1 must stand out of a 5.4-SUV liver at 24 h (detected 18/18).
    for lid, v in (("iliac-pubic-1", 9.2), ("iliac-pubic-2", 7.7), ("spine-3", 6.42)):
        if lid in index:
            pinned[index[lid]] = v
    for lid, v in (("liver-1", 10.5), ("liver-2", 10.1), ("liver-3", 9.6)):
        if lid in index:
            pinned[index[lid]] = v
    # The one HER2+ lesion below the 4.0 cutoff (sensitivity 94.4 % = 17/18): lowest of range.
    node = [i for i, (lid, site) in enumerate(ids) if site == "lymph_node"]
    for i in node[:1]:
        pinned[i] = 3.0
    sd24 = 0.55 * np.sqrt(18)  # SEM → SD (n = 18)
    # Free values stay ≥ 4.7, clear of the 4.0 cutoff by about the ±0.5 scatter of an
    # observed SUVmax: only the pinned node (3.0) falls below it, as in the paper (17/18).
    s24 = standardised_sample(rng, n, mean=7.83, sd=sd24, low=4.7, high=10.5, pinned=pinned)
    ratio_1h = rng.uniform(0.55, 0.85, n)  # 5.1/9.2 and 6.5/7.7 (iliac examples)
    ratio_48h = rng.uniform(0.62, 0.86, n)  # 7.4/9.2 = 0.80, 6.6/7.7 = 0.86
    for lid, r1, r48 in (
        ("iliac-pubic-1", 5.1 / 9.2, 7.4 / 9.2),
        ("iliac-pubic-2", 6.5 / 7.7, 6.6 / 7.7),
    ):
        if lid in index:
            ratio_1h[index[lid]], ratio_48h[index[lid]] = r1, r48
    roles = [""] * n
    for lid, _ in ids:
        if lid.startswith("liver"):
            roles[index[lid]] = "occult_1h"
    for i in node[:1]:
        roles[i] = "occult_1h+faint_48h"
    livers = sorted((s24[index[lid]], index[lid]) for lid, _ in ids if lid.startswith("liver"))
    if livers:
        i = livers[0][1]
        roles[i] = roles[i] + "+faint_48h" if roles[i] else "faint_48h"
    # Nominal values for the faint ones (1.1–1.25 × their background; the exact value is
    # set against the subject's own background by `biodistribution.design_target`).
    s1 = s24 * ratio_1h
    pinned48 = {}
    for i, role in enumerate(roles):
        if "occult_1h" in role:
            s1[i] = _NOMINAL_BACKGROUND[ids[i][1]][0] * 1.1
        if "faint_48h" in role:
            pinned48[i] = _NOMINAL_BACKGROUND[ids[i][1]][2] * 1.2
    # 48 h: 5.73 ± 0.47 (SEM, n = 18), ranks kept from the 24 h values.
    s48 = standardised_sample(
        rng,
        n,
        mean=5.73,
        sd=0.47 * np.sqrt(18),
        low=2.0,
        high=9.0,
        pinned=pinned48,
        initial=s24 * ratio_48h,
    )
    return s24, s1, s48, roles


def _design_her2_negative(rng: np.random.Generator, n: int, node_index: int | None) -> tuple:
    pinned = {node_index: 1.5} if node_index is not None else {}
    sd24 = 0.29 * np.sqrt(11)
    # Upper bound 3.0: the observed SUVmax scatters by about ±0.5 around its target on
    # a noisy 24 h image, and every HER2− lesion stayed below the 4.0 cutoff
    # (specificity 100 %).
    s24 = standardised_sample(rng, n, mean=1.75, sd=sd24, low=0.6, high=3.0, pinned=pinned)
    s1 = s24 * rng.uniform(1.0, 1.3, n)
    s48 = s24 * rng.uniform(0.8, 1.0, n)
    if node_index is not None:  # paper example node: 1.9 / 1.5 / 1.4
        s1[node_index], s48[node_index] = 1.9, 1.4
    return s24, s1, s48


def _fdg_targets(rng: np.random.Generator, n: int, positive: bool, pins: dict[int, float]):
    if positive:  # range 4.7–14.1 (n = 18); mean not published
        return standardised_sample(rng, n, mean=8.6, sd=2.6, low=4.7, high=14.1, pinned=pins)
    # 6.46 ± 0.44 (SEM, n = 11), range 4.4–8.9
    return standardised_sample(
        rng, n, mean=6.46, sd=0.44 * np.sqrt(11), low=4.4, high=8.9, pinned=pins
    )


def _template_lesions(rng: np.random.Generator) -> list[list[LesionSpec]]:
    """Lesions of the six template patients with cohort-level statistics matched."""
    pos_ids = [(0, lid, site) for lid, site in _lesion_ids(PATIENT_TEMPLATES[0]["sites"])]  # type: ignore[arg-type]
    pos_ids += [(2, lid, site) for lid, site in _lesion_ids(PATIENT_TEMPLATES[2]["sites"])]  # type: ignore[arg-type]
    neg_ids = []
    for p in (1, 3, 4, 5):
        for lid, site in _lesion_ids(PATIENT_TEMPLATES[p]["sites"]):  # type: ignore[arg-type]
            if not (p == 5 and lid == "liver-3"):
                neg_ids.append((p, lid, site))
    # Patient 3's node carries the lowest HER2+ value: put it first among nodes.
    pos_pairs = [(lid if p == 0 else f"p3-{lid}", site) for p, lid, site in pos_ids]
    s24p, s1p, s48p, roles = _design_her2_positive(rng, pos_pairs)
    node_neg = next(
        i for i, (p, lid, _) in enumerate(neg_ids) if p == 3 and lid.startswith("lymph")
    )
    s24n, s1n, s48n = _design_her2_negative(rng, len(neg_ids), node_neg)
    # Patient 6's photopenic liver metastases take the sample's lowest values: the paper
    # measured them below 4.0 inside a 9.9 liver (see the module docstring).
    photopenic = [i for i, (p, _, site) in enumerate(neg_ids) if p == 5 and site == "liver"]
    free = [i for i in np.argsort(s24n) if i != node_neg]
    for i, j in zip(photopenic, free, strict=False):
        for values in (s24n, s1n, s48n):
            values[[i, j]] = values[[j, i]]
    l3 = next(i for i, (p, lid, _) in enumerate(pos_ids) if lid == "spine-3")
    fdg_p = _fdg_targets(rng, len(pos_ids), True, {l3: 10.42, 0: 14.1, len(pos_ids) - 1: 4.7})
    fdg_n = _fdg_targets(rng, len(neg_ids), False, {node_neg: 6.7, 0: 8.9, 1: 4.4})
    out: list[list[LesionSpec]] = [[] for _ in PATIENT_TEMPLATES]
    for k, (p, lid, site) in enumerate(pos_ids):
        times = {1.0: float(s1p[k]), 24.0: float(s24p[k]), 48.0: float(s48p[k])}
        out[p].append(
            LesionSpec(
                lid, site, True, _diameter_mm(rng, site), times, float(fdg_p[k]), True, roles[k]
            )
        )
    for k, (p, lid, site) in enumerate(neg_ids):
        times = {1.0: float(s1n[k]), 24.0: float(s24n[k]), 48.0: float(s48n[k])}
        if p == 1:  # patient 2 also imaged at 72 and 96 h: slow washout
            times[72.0] = float(s48n[k] * 0.9)
            times[96.0] = float(s48n[k] * 0.8)
        # Patient 6's liver metastases were measured below 4.0 inside a 9.9 liver: only a
        # lesion much wider than the blur has a core free of the liver's spill-in.
        diameter = _diameter_mm(rng, "large_liver" if p == 5 and site == "liver" else site)
        out[p].append(LesionSpec(lid, site, False, diameter, times, float(fdg_n[k])))
    # The lesion the paper did not analyse (see module docstring): recorded, not drawn.
    out[5].insert(
        2, LesionSpec("liver-3", "liver", False, 9.0, {24.0: 1.0}, 4.0, False, "excluded")
    )
    return out


def _resampled_lesions(rng: np.random.Generator, template: dict[str, object]) -> list[LesionSpec]:
    """Fresh lesions at the template's sites, drawn from the paper's distributions."""
    out = []
    positive = bool(template["her2"])
    for lid, site in _lesion_ids(template["sites"]):  # type: ignore[arg-type]
        if positive:
            s24 = float(np.clip(rng.normal(7.83, 0.55 * np.sqrt(18)), 3.0, 10.5))
            times = {
                1.0: s24 * rng.uniform(0.55, 0.85),
                24.0: s24,
                48.0: s24 * rng.uniform(0.62, 0.86),
            }
            fdg = float(np.clip(rng.normal(8.6, 2.6), 4.7, 14.1))
        else:
            s24 = float(np.clip(rng.normal(1.75, 0.29 * np.sqrt(11)), 0.6, 3.4))
            times = {1.0: s24 * rng.uniform(1.0, 1.3), 24.0: s24, 48.0: s24 * rng.uniform(0.8, 1.0)}
            fdg = float(np.clip(rng.normal(6.46, 0.44 * np.sqrt(11)), 4.4, 8.9))
        out.append(LesionSpec(lid, site, positive, _diameter_mm(rng, site), times, fdg))
    return out


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
    lesions = _template_lesions(rng)
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
            les = _resampled_lesions(rng, tpl)
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
