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

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from ..core.timepoints import parse_time_label_h
from .base import StudyModel
from .options import AnalysisOptions, ExecutionOptions

__all__ = [
    "LesionTruth",
    "PreclinicalAnimal",
    "PreclinicalArm",
    "PreclinicalGroup",
    "PreclinicalUptake",
    "ScanEntry",
    "Study",
    "Subject",
    "load_study",
]


class LesionTruth(StudyModel):
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


class ScanEntry(StudyModel):
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
    lesion_mask: Path | None = Field(
        default=None,
        description="Lesion label map drawn on this scan (NIfTI / DICOM SEG; 0/1 masks are "
        "split into connected lesions): on the lesion-reference scan it replaces the "
        "automatic lesion search.",
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


class Subject(StudyModel):
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


class PreclinicalGroup(StudyModel):
    """One arm of the animal study."""

    name: str
    tracer: str
    model: str | None = Field(default=None, description="Tumour model, e.g. 'HER2+ PDX (IHC 3+)'.")
    her2: Literal["positive", "negative"] | None = None


class PreclinicalUptake(StudyModel):
    """A measured %ID/g of one region at one time (when no images are given)."""

    time: str
    region: str
    percent_id_per_g: float = Field(ge=0)


class PreclinicalAnimal(StudyModel):
    """One animal with either its images or its measured uptake values."""

    id: str
    group: str
    weight_g: float | None = Field(default=None, gt=0)
    injected_activity_mbq: float | None = Field(default=None, gt=0)
    images: dict[str, Path] = Field(
        default_factory=dict, description="Time label -> image path (relative to the study)."
    )
    uptake: list[PreclinicalUptake] = Field(default_factory=list)
    injection_datetime: datetime | None = Field(
        default=None, description="Injection date-time (overrides the image headers)."
    )
    labels: dict[str, Path] = Field(
        default_factory=dict,
        description="Time label -> label map on the image grid (values: arm.label_values); "
        "regions it holds replace the seed/sphere VOIs.",
    )
    tumour_seed_mm: tuple[float, float, float] | None = Field(
        default=None,
        description="LPS point (mm) near the tumour: the VOI grows from the "
        "hottest voxel within arm.tumour_search_mm of it.",
    )
    muscle_centre_mm: tuple[float, float, float] | None = Field(
        default=None, description="LPS centre (mm) of the muscle sphere (e.g. contralateral thigh)."
    )
    liver_centre_mm: tuple[float, float, float] | None = Field(
        default=None, description="LPS centre (mm) of the liver sphere."
    )


class PreclinicalArm(StudyModel):
    """The micro-PET arm: groups, time points, animals."""

    nuclide: str = "124I"
    injected_activity_mbq: float | None = Field(default=None, gt=0)
    time_points: list[str] = Field(default_factory=list)
    groups: list[PreclinicalGroup] = Field(default_factory=list)
    animals: list[PreclinicalAnimal] = Field(default_factory=list)
    uptake_table: Path | None = Field(
        default=None, description="CSV with animal, time, region, percent_id_per_g."
    )
    tissue_density_g_per_ml: float = Field(
        default=1.0, gt=0, description="Tissue density turning %ID/mL into %ID/g."
    )
    tumour_search_mm: float = Field(
        default=5.0,
        gt=0,
        description="Radius around the tumour seed searched for its hottest voxel.",
    )
    tumour_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Tumour VOI: connected voxels >= this x the maximum."
    )
    tumour_max_radius_mm: float = Field(
        default=8.0, gt=0, description="Tumour VOI kept within this radius of its hottest voxel."
    )
    reference_sphere_mm: float = Field(
        default=4.0, gt=0, description="Diameter of the muscle and liver spheres (mm)."
    )
    label_values: dict[str, int] = Field(
        default_factory=lambda: {"tumour": 1, "muscle": 2, "liver": 3},
        description="Region -> label value in the animals' label maps.",
    )


class Study(StudyModel):
    """A whole trial: subjects with scans, analysis options, preclinical arm."""

    name: str
    description: str | None = None
    subjects: list[Subject] = Field(min_length=1)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    execution: ExecutionOptions = Field(default_factory=ExecutionOptions)
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
