"""The methods paragraph of the report, generated from the options a run used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import scipy

from ..stats import DetectionRule

__all__ = ["ICRP107_NOTICE", "RESEARCH_USE_NOTICE", "methods_paragraphs"]

#: The ICRP-107 data notice that must travel with the nuclear data (PHYSICS-DATA.md).
ICRP107_NOTICE = (
    "Nuclear decay data: ICRP Publication 107, \u201cNuclear Decay Data for Dosimetric "
    "Calculations\u201d (Ann. ICRP 38(3), 2008), via the icrp107-database package. "
    "Data \u00a9 A. Endo and K. F. Eckerman; for educational, research and not-for-profit "
    "use only."
)

RESEARCH_USE_NOTICE = (
    "Research use only. Not for diagnostic or therapeutic decisions: dose-calculation "
    "software can be a regulated medical device."
)

_SUV = {
    "bw": "body-weight SUV (SUVbw)",
    "sul": "lean-body-mass SUV (SUL, Janmahasatian)",
    "bsa": "body-surface-area SUV (SUVbsa)",
}
_LESION = {
    "fixed": "voxels with SUV \u2265 {t:g}",
    "fixed_suv": "voxels with SUV \u2265 {t:g}",
    "relative": "voxels \u2265 {p:g} % of the lesion's SUVmax (isocontour)",
    "relative_max": "voxels \u2265 {p:g} % of the lesion's SUVmax (isocontour)",
    "adaptive": "a background-adapted threshold",
    "truth": "spheres at the recorded lesion centres",
}
_PHANTOM = {
    "adult": "ICRP 89 adult reference phantoms (male and female averaged, ICRP 103)",
    "adult-male": "ICRP 89 adult male reference phantom",
    "adult-female": "ICRP 89 adult female reference phantom",
}


def _merged(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _with_study_defaults(options: Any) -> dict[str, Any]:
    """The run's options completed by the study model's defaults (the one source of defaults)."""
    from ..study import AnalysisOptions

    given = options.model_dump(mode="json") if hasattr(options, "model_dump") else options
    return _merged(AnalysisOptions().model_dump(mode="json"), dict(given or {}))


def _get(options: Any, *path: str, default: Any = None) -> Any:
    cur = options
    for key in path:
        if cur is None:
            return default
        cur = cur.get(key) if isinstance(cur, Mapping) else getattr(cur, key, None)
    return default if cur is None else cur


_TEST_TEXT = {
    "student": "two-tailed unpaired Student's t-tests",
    "welch": "two-tailed Welch's t-tests",
    "mann_whitney": "two-tailed Mann\u2013Whitney U tests",
    "paired_t": "two-tailed paired t-tests on the same lesions",
    "wilcoxon": "two-tailed Wilcoxon signed-rank tests on the same lesions",
}


def _tests_sentence(options: Any) -> str:
    comparisons = _get(options, "statistics", "comparisons", default=[]) or []
    if not comparisons:
        return (
            "Groups were compared with two-tailed unpaired Student's t-tests (as in the "
            "reference study), with Welch's t-test and the Mann\u2013Whitney U test as "
            "sensitivity analyses; the same lesions on two scans were compared with paired "
            "t-tests and Wilcoxon signed-rank tests."
        )
    used = dict.fromkeys(str(_get(c, "test", default="student")) for c in comparisons)
    return "Comparisons used " + ", ".join(_TEST_TEXT.get(t, t) for t in used) + "."


def methods_paragraphs(options: Any, *, version: str) -> list[str]:
    """Methods text: software version, SUV, lesions, kinetics, phantom, statistics.

    Parameters
    ----------
    options
        The run's analysis options (a mapping as in ``run.json`` or an
        ``AnalysisOptions`` model); missing entries fall back to immunopet's defaults.
    version
        immunopet version string.
    """
    options = _with_study_defaults(options)
    suv = _SUV.get(str(_get(options, "suv", default="bw")), "SUV")
    method = str(_get(options, "lesions", "method", default="relative_max"))
    threshold = float(_get(options, "lesions", "threshold", default=0.41))
    seg = _LESION.get(method, method).format(t=threshold, p=100 * threshold)
    min_d = float(_get(options, "lesions", "min_diameter_mm", default=10.0))
    ref_tracer = _get(options, "lesions", "reference_tracer", default="FDG")
    refs = _get(options, "references", default=["muscle", "liver", "blood"])
    model = _get(options, "kinetics", "model", default="trapezoid")
    tail = _get(options, "kinetics", "tail", default="physical")
    urinary = _get(options, "kinetics", "urinary_fraction")
    voiding_h = float(_get(options, "kinetics", "voiding_interval_h", default=3.5))
    bladder_text = (
        f"; the urinary bladder contents followed the dynamic bladder model (MIRD Pamphlet 14 "
        f"rev.) with {100 * float(urinary):g} % of the whole-body clearance excreted in urine "
        f"and voiding every {voiding_h:g} h"
        if urinary is not None
        else ""
    )
    phantom_name = str(_get(options, "dosimetry", "phantom", default="adult"))
    phantom = _PHANTOM.get(phantom_name, f"{phantom_name} phantom")
    seed = _get(options, "lesions", "seed_suv")
    seed_text = f", SUVmax \u2265 {float(seed):g}" if seed is not None else ""
    metric = str(_get(options, "statistics", "metric", default="suv_max"))
    core_mm = float(_get(options, "lesions", "core_mm", default=6.0))
    metric_text = (
        f" Lesion uptake is the SUVmax of the VOI's core, the voxels more than {core_mm:g} mm "
        "inside its border, so that a warm neighbour's spill-in does not set it."
        if metric == "suv_max_core"
        else ""
    )
    dispersion = str(_get(options, "statistics", "dispersion", default="sd"))
    alpha = float(_get(options, "statistics", "alpha", default=0.05))
    rule = DetectionRule.from_options(_get(options, "statistics", "detection"))
    cutoffs = _get(options, "statistics", "cutoffs", default=[]) or []
    cut_text = "; ".join(
        f"{_get(c, 'metric', default='suv_max')} \u2265 {float(_get(c, 'value', default=4.0)):g} "
        f"at {_get(c, 'time', default='24h')}"
        for c in cutoffs
    )
    spread = (
        "sample standard deviation, n \u2212 1 denominator"
        if dispersion == "sd"
        else "standard error of the mean, SD/\u221an"
    )
    return [
        f"Images were analysed with immunopet {version}. PET voxel values were converted to "
        f"{suv} with decay correction to the injection time (QIBA SUV rules); activity "
        "present at scan time was used for dosimetry.",
        f"Lesions were delineated on the {ref_tracer} reference scan as {seg} (minimum "
        f"diameter {min_d:g} mm{seed_text}) and carried onto the other scans; tumour-to-normal ratios used "
        f"{', '.join(map(str, refs))} as reference regions.{metric_text}",
        f"Time-activity curves were integrated with the {model} model and a {tail} "
        f"tail{bladder_text}; "
        f"organ absorbed doses followed the MIRD formalism with the {phantom} and "
        "ICRP-103 tissue weighting factors for the effective dose.",
        f"Data are given as mean \u00b1 {'SD' if dispersion == 'sd' else 'SEM'} "
        f"({spread}) unless stated otherwise. {_tests_sentence(options)} p < {alpha:g} was "
        f"considered significant. Detection sensitivity was computed per time point "
        f"({rule.describe()}) with Wilson score 95 % confidence intervals (Wilson 1927; "
        "Newcombe 1998). ROC areas are Mann\u2013Whitney estimates with DeLong (1988) 95 % "
        "confidence intervals, and the Youden index chose the optimal cutoff"
        + (f"; sensitivity and specificity were also computed at {cut_text}" if cut_text else "")
        + f". Tests were computed with SciPy {scipy.__version__}.",
    ]
