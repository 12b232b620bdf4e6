"""The study file: subjects, their scans and the analysis options of one trial.

A study is written in YAML (see ``examples/reference-study.yaml``) and
validated by the pydantic v2 models of this module. Unknown fields are
errors (``extra="forbid"``), so a typo never silently drops an option.
:func:`load_study` (in :mod:`immunopet.study.loader`) reads the YAML with line
numbers, validates the schema, then the semantics (paths exist, one lesion
reference per subject, no two scans of one tracer at one time point, label
maps belong to their subject), all **before** any image is read.

Example
-------
>>> from immunopet.study import load_study  # doctest: +SKIP
>>> study = load_study("examples/reference-study.yaml")  # doctest: +SKIP
>>> [s.id for s in study.subjects]  # doctest: +SKIP
['P1', 'P2', 'P3', 'P4', 'P5', 'P6']
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

__all__ = [
    "AnalysisOptions",
    "Arm",
    "Comparison",
    "Cutoff",
    "DetectionRule",
    "DosimetryOptions",
    "KineticsOptions",
    "LesionOptions",
    "LesionTruth",
    "PreclinicalAnimal",
    "PreclinicalArm",
    "PreclinicalGroup",
    "PreclinicalUptake",
    "ScanEntry",
    "StatisticsOptions",
    "Study",
    "Subject",
    "load_study",
    "parse_time_label_h",
]

_TIME_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(min|m|h|d)\s*$", re.IGNORECASE)
_TIME_FACTOR_H = {"min": 1 / 60, "m": 1 / 60, "h": 1.0, "d": 24.0}


def parse_time_label_h(label: str) -> float:
    """Hours post-injection of a nominal time label (``"1h"``, ``"90 min"``, ``"2d"``).

    Raises
    ------
    ValueError
        If the label is not a number followed by ``min``, ``h`` or ``d``.
    """
    m = _TIME_RE.match(label)
    if m is None:
        raise ValueError(
            f"time label {label!r} is not a number followed by min, h or d (e.g. '24h')"
        )
    return float(m.group(1)) * _TIME_FACTOR_H[m.group(2).lower()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LesionTruth(_Model):
    """One lesion known from the clinical record (truth for detection statistics)."""

    id: str = Field(description="Lesion identifier, unique within the subject (e.g. 'liver-1').")
    site: str = Field(description="Anatomical site, e.g. 'liver', 'sacrum', 'lymph_node'.")
    her2: Literal["positive", "negative"] | None = Field(
        default=None, description="HER2 status of the lesion, if different from the subject's."
    )
    diameter_mm: float | None = Field(default=None, gt=0, description="Longest diameter (mm).")
    center_mm: tuple[float, float, float] | None = Field(
        default=None, description="Centre in patient LPS coordinates (mm) on the reference scan."
    )
    analysed: bool = Field(default=True, description="False for lesions the study left out.")


class ScanEntry(_Model):
    """One PET acquisition of a subject (the ``Scan`` of the study file)."""

    id: str = Field(description="Scan identifier, unique within the subject (e.g. 'I124-24h').")
    path: Path = Field(description="DICOM folder/file or NIfTI, relative to the study file.")
    tracer: str = Field(description="Radiopharmaceutical, e.g. '124I-trastuzumab' or 'FDG'.")
    nuclide: str = Field(description="Radionuclide, e.g. '124I' or '18F' (ICRP-107 name).")
    time: str = Field(description="Nominal time point post-injection, e.g. '1h', '24h', '4d'.")
    ct: Path | None = Field(default=None, description="CT of the same session, if separate.")
    series_uid: str | None = Field(default=None, description="Series to read from a folder.")
    injection_datetime: datetime | None = Field(
        default=None,
        description="Injection date-time; overrides the header (give it when headers lack it).",
    )
    injected_activity_mbq: float | None = Field(
        default=None,
        gt=0,
        description="Injected activity (MBq); overrides the header (give it when headers lack it).",
    )
    lesion_reference: bool = Field(
        default=False, description="Lesions are detected on this scan (FDG in the reference study)."
    )
    labels: Path | None = Field(
        default=None, description="Organ label map (NIfTI / DICOM SEG) on this scan's grid or CT."
    )
    labels_from: str | None = Field(
        default=None,
        description="Meaning of the label values: 'totalsegmentator' or a JSON file "
        "mapping label value -> organ name.",
    )

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        parse_time_label_h(value)
        return value

    @property
    def time_h(self) -> float:
        """Nominal hours post-injection of this scan."""
        return parse_time_label_h(self.time)


class Subject(_Model):
    """One patient (or animal) with group labels, lesion truth and scans."""

    id: str = Field(description="Subject identifier used in every table.")
    patient_id: str | None = Field(
        default=None, description="DICOM PatientID, when it differs from the subject id."
    )
    sex: Literal["M", "F", "O"] | None = None
    age_y: float | None = Field(default=None, ge=0)
    weight_kg: float | None = Field(
        default=None, gt=0, description="Overrides the header PatientWeight (kg) when given."
    )
    height_m: float | None = Field(
        default=None, gt=0, lt=3, description="Overrides the header PatientSize (m) when given."
    )
    groups: dict[str, str] = Field(
        default_factory=dict,
        description="Group labels, e.g. {her2: positive, ihc: '3+', fish: '+'}.",
    )
    cold_antibody_mg: float | None = Field(
        default=None, ge=0, description="Unlabelled antibody co-injected (mg)."
    )
    lesions: list[LesionTruth] = Field(default_factory=list)
    scans: list[ScanEntry] = Field(default_factory=list)

    @field_validator("groups", mode="before")
    @classmethod
    def _groups_as_text(cls, value: Any) -> Any:
        # YAML reads `fish: +` as a string but `dose: 5` as an int: group labels are text.
        if isinstance(value, dict):
            return {k: v if isinstance(v, str) else str(v) for k, v in value.items()}
        return value

    @property
    def dicom_patient_id(self) -> str:
        """The PatientID expected in this subject's DICOM files."""
        return self.patient_id or self.id


class LesionOptions(_Model):
    """How lesions are found on the reference scan and matched to the others."""

    enabled: bool = True
    method: Literal["fixed", "relative", "adaptive"] = Field(
        default="relative",
        description="fixed: SUV >= threshold; relative: >= threshold x the component's SUVmax "
        "(0.41 for the EANM 41 % isocontour); adaptive: background-adapted "
        "(see immunopet.regions.lesions).",
    )
    threshold: float = Field(default=0.41, gt=0)
    seed_suv: float = Field(default=2.5, gt=0, description="Minimum SUVmax of a candidate.")
    min_diameter_mm: float = Field(default=10.0, ge=0)
    reference_tracer: str | None = Field(
        default="FDG", description="Tracer of the lesion-reference scan (checked if given)."
    )
    match_max_distance_mm: float = Field(
        default=15.0, gt=0, description="Largest centroid distance to pair a lesion with its truth."
    )
    exclude_regions: list[str] = Field(
        default_factory=lambda: [
            "brain",
            "heart_wall",
            "heart_contents",
            "kidneys",
            "urinary_bladder_contents",
            "urinary_bladder_wall",
        ],
        description="Organs with physiological uptake left out of the lesion search "
        "(when an organ label map is given).",
    )
    exclude_margin_voxels: int = Field(
        default=2,
        ge=0,
        description="The excluded organs are dilated by this many PET voxels, so that the "
        "spill-out of their uptake (scanner blur) is not taken for lesions (2 voxels: about "
        "1.5 FWHM of a clinical PET at 4 mm voxels).",
    )
    organ_background_ratio: float | None = Field(
        default=1.5,
        gt=0,
        description="Voxels belong to a lesion only where their SUV is at least this x the "
        "median SUV of the organ they lie in (when an organ label map is given), so that a "
        "lesion's isocontour does not flood a warm organ such as the liver; null: off.",
    )
    min_liver_ratio: float | None = Field(
        default=1.5,
        gt=0,
        description="Keep only lesions whose SUVmax is at least this x the liver's median SUV "
        "(when a liver label is given), after the PERCIST 1.0 liver-referenced floor of "
        "1.5 x liver mean (Wahl et al., J Nucl Med 2009;50:122S); null: no such floor.",
    )

    core_mm: float = Field(
        default=6.0,
        ge=0,
        description="Border layer (mm) left out of each lesion VOI for suv_max_core, so that "
        "a warm neighbour's spill-in does not set the SUVmax of a cold lesion "
        "(see immunopet.measure; 6 mm is about one FWHM of a clinical 124I PET).",
    )

    @property
    def method_spec(self) -> str:
        """The method as :func:`immunopet.regions.segment_lesions` spells it (``relative:0.41``)."""
        return f"{self.method}:{self.threshold:g}"


class KineticsOptions(_Model):
    """Time-activity curves and their time integral."""

    model: Literal["trapezoid", "mono_exp", "bi_exp", "auto"] = Field(
        default="auto",
        description="auto: AICc-best exponential when there are enough time points, else "
        "trapezoid (see immunopet.kinetics.fit).",
    )
    tail: Literal["physical", "fit", "none"] = Field(
        default="fit",
        description="Trapezoid tail after the last scan: fit (mono-exponential on the last "
        "points, never slower than physical decay), physical (decay only: an upper bound), none.",
    )
    tracer: str | None = Field(default=None, description="Tracer of the TACs (default: non-FDG).")
    urinary_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="If given, the bladder contents' TIA comes from the dynamic bladder model "
        "(MIRD Pamphlet 14 rev.) fed by the measured whole-body clearance, this fraction of it "
        "leaving through urine, instead of integrating the bladder images (snapshots between "
        "voids, whose tail would assume the bladder never empties).",
    )
    voiding_interval_h: float = Field(
        default=3.5, gt=0, description="Voiding interval of the dynamic bladder model (ICRP 128)."
    )


class DosimetryOptions(_Model):
    """Organ-level MIRD dosimetry."""

    enabled: bool = True
    phantom: Literal["adult", "adult-male", "adult-female"] = Field(
        default="adult",
        description="ICRP 89 reference phantom(s); 'adult' averages male and female (ICRP 103).",
    )
    nuclide: str | None = Field(default=None, description="Default: the TAC tracer's nuclide.")


class Arm(_Model):
    """One side of a comparison: lesions of one tracer, time point and subject group."""

    tracer: str | None = Field(default=None, description="Tracer (substring match, e.g. '124I').")
    time: str | None = Field(default=None, description="Nominal time point, e.g. '24h'.")
    where: dict[str, str] = Field(
        default_factory=dict, description="Subject group filter, e.g. {her2: positive}."
    )

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time_label_h(value)
        return value


class Comparison(_Model):
    """A comparison of one metric between two arms (groups, time points or tracers)."""

    name: str
    metric: str | None = Field(default=None, description="Default: statistics.metric.")
    region_kind: str = "lesion"
    a: Arm
    b: Arm
    test: Literal["student", "welch", "mann_whitney", "paired_t", "wilcoxon"] = Field(
        default="student",
        description="Unpaired: student (the reference study's), welch, mann_whitney; "
        "paired on the same lesions: paired_t, wilcoxon.",
    )


class Cutoff(_Model):
    """Sensitivity/specificity of ``metric >= value`` for a binary group."""

    metric: str = "suv_max"
    value: float = 4.0
    time: str = "24h"
    tracer: str | None = None
    group: str = "her2"
    positive: str = "positive"


class DetectionRule(_Model):
    """When a lesion counts as detected on a scan."""

    metric: str = Field(default="tnr_background", description="e.g. lesion-to-background ratio.")
    threshold: float = Field(default=1.5, gt=0)
    kind: Literal["ratio", "absolute"] | None = Field(
        default=None, description="Default: 'ratio' for tnr_* metrics, else 'absolute'."
    )
    background_metric: str | None = None


class StatisticsOptions(_Model):
    """Cohort statistics to compute."""

    dispersion: Literal["sd", "sem"] = "sd"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    metric: str = Field(
        default="suv_max",
        description="Lesion uptake metric of the descriptive statistics, the default "
        "comparisons and ROC (suv_max; suv_max_core leaves out the VOI's border layer, "
        "suv_peak, ...).",
    )
    comparisons: list[Comparison] = Field(default_factory=list)
    cutoffs: list[Cutoff] = Field(default_factory=list)
    detection: DetectionRule = Field(default_factory=DetectionRule)


class AnalysisOptions(_Model):
    """Every option that changes the numbers (hashed into the task keys)."""

    suv: Literal["bw", "sul", "bsa"] = "bw"
    lesions: LesionOptions = Field(default_factory=LesionOptions)
    references: list[str] = Field(
        default_factory=lambda: ["muscle", "liver", "blood"],
        description="Reference regions for tumour-to-normal ratios (tnr_<region>).",
    )
    kinetics: KineticsOptions = Field(default_factory=KineticsOptions)
    dosimetry: DosimetryOptions = Field(default_factory=DosimetryOptions)
    statistics: StatisticsOptions = Field(default_factory=StatisticsOptions)


class PreclinicalGroup(_Model):
    """One arm of the animal study."""

    name: str
    tracer: str
    model: str | None = Field(default=None, description="Tumour model, e.g. 'HER2+ PDX (IHC 3+)'.")
    her2: Literal["positive", "negative"] | None = None


class PreclinicalUptake(_Model):
    """A measured %ID/g of one region at one time (when no images are given)."""

    time: str
    region: str
    percent_id_per_g: float = Field(ge=0)


class PreclinicalAnimal(_Model):
    """One animal with either its images or its measured uptake values."""

    id: str
    group: str
    weight_g: float | None = Field(default=None, gt=0)
    injected_activity_mbq: float | None = Field(default=None, gt=0)
    images: dict[str, Path] = Field(
        default_factory=dict, description="Time label -> image path (relative to the study)."
    )
    uptake: list[PreclinicalUptake] = Field(default_factory=list)


class PreclinicalArm(_Model):
    """The micro-PET arm: groups, time points, animals."""

    nuclide: str = "124I"
    injected_activity_mbq: float | None = Field(default=None, gt=0)
    time_points: list[str] = Field(default_factory=list)
    groups: list[PreclinicalGroup] = Field(default_factory=list)
    animals: list[PreclinicalAnimal] = Field(default_factory=list)
    uptake_table: Path | None = Field(
        default=None, description="CSV with animal, time, region, percent_id_per_g."
    )


class Study(_Model):
    """A whole trial: subjects with scans, analysis options, preclinical arm."""

    name: str
    description: str | None = None
    subjects: list[Subject] = Field(min_length=1)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    preclinical: PreclinicalArm | None = None

    _source: Path | None = PrivateAttr(default=None)
    _display: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the study file (``immunopet schema`` prints it)."""
        schema = cls.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "immunopet study"
        return schema

    @property
    def source(self) -> Path | None:
        """The YAML file this study was read from, if any."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths of the study file are resolved against."""
        return self._source.parent if self._source is not None else Path.cwd()

    def resolve(self, path: Path | str) -> Path:
        """A study-file path made absolute (relative to the YAML file's folder)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        """The YAML line (1-based) of a field, or of its nearest parent."""
        for n in range(len(loc), -1, -1):
            line = self._lines.get(tuple(loc[:n]))
            if line is not None:
                return line
        return None

    def subject(self, subject_id: str) -> Subject:
        """The subject with this id (``KeyError`` if none)."""
        for s in self.subjects:
            if s.id == subject_id:
                return s
        raise KeyError(subject_id)


def load_study(path: str | Path, *, check_files: bool = True) -> Study:
    """Read, validate and semantically check a study file (see :mod:`immunopet.study.loader`)."""
    from .loader import load_study as _load

    return _load(path, check_files=check_files)
