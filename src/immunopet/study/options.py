"""The analysis options of a study file: the one source of every default.

The CLI's single-step commands and the report read their defaults from these
models (``LesionOptions()``, ``KineticsOptions()`` …) instead of restating them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..core.errors import InvalidValueError
from ..core.schema import RegionKind, parse_metric
from ..core.timepoints import parse_time_label_h
from .base import StudyModel


def _metric(value: str) -> str:
    """A metric name of the schema; a typo is a validation error naming the valid ones."""
    try:
        return parse_metric(value)
    except InvalidValueError as exc:
        raise ValueError(exc.args[0] if exc.args else str(exc)) from None


def _nuclide(value: str) -> str:
    """A nuclide name ICRP-107 knows, canonical (``131I`` → ``I-131``)."""
    from ..core.errors import UnknownNuclideError
    from ..core.nuclides import parse_nuclide_name

    try:
        return parse_nuclide_name(value)
    except UnknownNuclideError as exc:
        raise ValueError(exc.args[0] if exc.args else str(exc)) from None


__all__ = [
    "ExecutionOptions",
    "AnalysisOptions",
    "Arm",
    "Comparison",
    "Cutoff",
    "DetectionOptions",
    "DosimetryOptions",
    "KineticsOptions",
    "LesionOptions",
    "StatisticsOptions",
    "VoxelDoseOptions",
]


class LesionOptions(StudyModel):
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


class KineticsOptions(StudyModel):
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
    therapy_nuclide: str | None = Field(
        default=None,
        description="Also predict this therapy nuclide's TIAs from the imaging curves (same "
        "carrier: the imaging decay removed, the therapy decay applied; e.g. I-131 from I-124, "
        "Lu-177 or Y-90 from Zr-89, Cu-67 from Cu-64; see immunopet.kinetics.therapy). The "
        "doses are then computed for both nuclides.",
    )
    therapy_tail: Literal["fit", "physical"] = Field(
        default="fit",
        description="The therapy TIA after the last image: fit (the fitted biological clearance "
        "goes on) or physical (therapy decay only: the conservative upper bound). Its share of "
        "the TIA is the tail_fraction column.",
    )

    @field_validator("therapy_nuclide")
    @classmethod
    def _check_nuclide(cls, value: str | None) -> str | None:
        return None if value is None else _nuclide(value)


class VoxelDoseOptions(StudyModel):
    """Voxel dosimetry of each subject's TAC scans (:mod:`immunopet.dosimetry.voxel`)."""

    method: Literal["dvk", "local", "dvk-density", "mc"] = Field(
        default="dvk",
        description="dvk: dose voxel kernel convolution (soft tissue); local: local energy "
        "deposition; dvk-density: the kernel scaled by the CT density (needs the CT); mc: "
        "photon Monte Carlo on the CT, electrons local (needs the CT).",
    )
    histories: int = Field(
        default=1_000_000, ge=1, description="mc: photons transported per dose map."
    )
    tia_model: Literal["trapezoid", "mono"] = Field(
        default="trapezoid", description="Per-voxel time integral: trapezoid + tail, or mono fit."
    )
    tail: Literal["physical", "fit", "none"] = Field(
        default="physical", description="Trapezoid tail after the last scan (per voxel)."
    )
    therapy_nuclides: list[str] = Field(
        default_factory=list,
        description="Therapy nuclides predicted per voxel from the imaging (e.g. [I-131]).",
    )

    @field_validator("therapy_nuclides")
    @classmethod
    def _check_nuclides(cls, value: list[str]) -> list[str]:
        return [_nuclide(v) for v in value]


class DosimetryOptions(StudyModel):
    """Organ-level MIRD dosimetry."""

    enabled: bool = True
    phantom: Literal["adult", "adult-male", "adult-female"] = Field(
        default="adult",
        description="ICRP 89 reference phantom(s); 'adult' averages male and female (ICRP 103).",
    )
    voxel: VoxelDoseOptions | None = Field(
        default=None,
        description="Voxel dosimetry (dose maps, DVHs of organs and lesions); null: off.",
    )
    nuclide: str | None = Field(default=None, description="Default: the TAC tracer's nuclide.")
    svalues: str | dict[Literal["male", "female"], str] | None = Field(
        default=None,
        description="Imported S-values (mGy/(MBq·s)) in place of ours: an OLINDA/EXM-style "
        "matrix CSV (rows targets, columns sources, OLINDA names) or a long table target, "
        "source, s_mgy_per_mbq_s [, sd_mgy_per_mbq_s]; one file (used for the phantom's sex, "
        "or for both with 'adult') or {male: file, female: file}. Paths relative to the study "
        "file. The doses' svalue_source column names it.",
    )
    source_organs: list[str] | None = Field(
        default=None,
        description="Also compute the doses with only these organs as sources, every other "
        "activity in the remainder of body (OLINDA-style), e.g. the reference study's [heart_"
        "contents, liver, spleen, kidneys, urinary_bladder_contents]; the doses' source_set "
        "column is all_segmented (every segmented organ a source) or reference_study / "
        "source_organs.",
    )
    uncertainty: Literal["analytic", "monte_carlo", "none"] = Field(
        default="analytic",
        description="Dose SD from the TIA SDs (tiac_h_sd), organ mass SDs (mass_g_sd or "
        "volume_ml_sd columns, where given) and the S-value SD: analytic propagation (EANM, "
        "Gear et al. EJNMMI Phys 2018;5:36), monte_carlo (log-normal sampling), or none "
        "(the S-value SD only).",
    )
    marrow: Literal["auto", "blood", "image"] = Field(
        default="auto",
        description="Red-marrow source: blood (RMBLR x blood TIA per g x marrow mass, EANM "
        "2010 / Sgouros 1993, for antibodies not binding marrow), image (the segmented marrow, "
        "else remainder only), or auto (blood for an antibody tracer, -mab, when the blood pool "
        "was measured). The other method's red-marrow dose is given beside it.",
    )
    rmblr: float = Field(
        default=0.36,
        gt=0,
        le=1,
        description="Red-marrow-to-blood activity concentration ratio of the blood method "
        "(0.36 for IgG, Sgouros 1993; EANM 2010).",
    )
    svalues_nuclide: str | None = Field(
        default=None,
        description="Nuclide of the imported S-values when the table has no nuclide column "
        "and its file name spells none.",
    )


class Arm(StudyModel):
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


class Comparison(StudyModel):
    """A comparison of one metric between two arms (groups, time points or tracers)."""

    name: str
    metric: str | None = Field(default=None, description="Default: statistics.metric.")
    region_kind: RegionKind = RegionKind.LESION
    a: Arm
    b: Arm
    test: Literal["student", "welch", "mann_whitney", "paired_t", "wilcoxon"] = Field(
        default="student",
        description="Unpaired: student (the reference study's), welch, mann_whitney; "
        "paired on the same lesions: paired_t, wilcoxon.",
    )

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, value: str | None) -> str | None:
        return None if value is None else _metric(value)


class Cutoff(StudyModel):
    """Sensitivity/specificity of ``metric >= value`` for a binary group."""

    metric: str = "suv_max"
    value: float = 4.0
    time: str = "24h"
    tracer: str | None = None
    group: str = "her2"
    positive: str = "positive"

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, value: str | None) -> str | None:
        return None if value is None else _metric(value)


class DetectionOptions(StudyModel):
    """When a lesion counts as detected on a scan."""

    metric: str = Field(default="tnr_background", description="e.g. lesion-to-background ratio.")
    threshold: float = Field(default=1.5, gt=0)
    kind: Literal["ratio", "absolute"] | None = Field(
        default=None, description="Default: 'ratio' for tnr_* metrics, else 'absolute'."
    )
    background_metric: str | None = None

    @field_validator("metric", "background_metric")
    @classmethod
    def _check_metric(cls, value: str | None) -> str | None:
        return None if value is None else _metric(value)


class StatisticsOptions(StudyModel):
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
    detection: DetectionOptions = Field(default_factory=DetectionOptions)
    primary_time: str | None = Field(
        default=None,
        description="Time point of the headline (the report's key findings): e.g. '24h'; "
        "default: the first cutoff's time point.",
    )

    @field_validator("primary_time")
    @classmethod
    def _check_primary_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time_label_h(value)
        return value

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, value: str | None) -> str | None:
        return None if value is None else _metric(value)


class AnalysisOptions(StudyModel):
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


class ExecutionOptions(StudyModel):
    """Where and how wide a run goes; changes no number (never part of a task key).

    Every field defaults to automatic; ``immunopet run``'s ``--workers``, ``--threads``,
    ``--memory-per-worker-gb`` and ``--scheduler`` override the study's values.
    """

    workers: int | None = Field(
        default=None, ge=0,
        description="Local worker processes (0: inline). Default: CPU cores, at most 4.",
    )  # fmt: skip
    threads: int | None = Field(
        default=None, ge=1,
        description="Threads per local worker (numba, BLAS, FFT). Default: cores // workers.",
    )  # fmt: skip
    memory_per_worker_gb: float | None = Field(
        default=None, gt=0,
        description="A scan whose images would need more is reported, not run. Default: 90 % "
        "of the available memory / workers.",
    )  # fmt: skip
    scheduler: str | None = Field(
        default=None,
        description="A dask.distributed scheduler (tcp://HOST:PORT or local-cluster) instead "
        "of the local pool.",
    )
