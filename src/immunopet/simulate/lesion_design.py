"""The lesions of the digital twin: sites, sizes and the uptake the images should show.

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

:func:`template_lesions` gives the six patients of Table 1 lesions whose targets
reproduce the paper's statistics as samples; :func:`resampled_lesions` draws
fresh ones from the same distributions for larger cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .biodistribution import standardised_sample

__all__ = ["LesionSpec", "resampled_lesions", "template_lesions"]


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


#: Nominal local background SUV (1, 24, 48 h) used only to place the faint lesions’
#: nominal targets; the final value follows the subject's own background.
_NOMINAL_BACKGROUND = {"liver": (6.5, 5.4, 3.9), "lymph_node": (1.0, 1.1, 0.9)}


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


def template_lesions(
    rng: np.random.Generator, templates: tuple[dict[str, object], ...]
) -> list[list[LesionSpec]]:
    """Lesions of the six template patients with cohort-level statistics matched."""
    pos_ids = [(0, lid, site) for lid, site in _lesion_ids(templates[0]["sites"])]  # type: ignore[arg-type]
    pos_ids += [(2, lid, site) for lid, site in _lesion_ids(templates[2]["sites"])]  # type: ignore[arg-type]
    neg_ids = []
    for p in (1, 3, 4, 5):
        for lid, site in _lesion_ids(templates[p]["sites"]):  # type: ignore[arg-type]
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
    lowest = [i for i in np.argsort(s24n) if i != node_neg][: len(photopenic)]
    lacking = [i for i in photopenic if i not in lowest]
    holding = [j for j in lowest if j not in photopenic]
    for i, j in zip(lacking, holding, strict=True):  # disjoint pairs: no swap undoes another
        for values in (s24n, s1n, s48n):
            values[[i, j]] = values[[j, i]]
    l3 = next(i for i, (p, lid, _) in enumerate(pos_ids) if lid == "spine-3")
    fdg_p = _fdg_targets(rng, len(pos_ids), True, {l3: 10.42, 0: 14.1, len(pos_ids) - 1: 4.7})
    fdg_n = _fdg_targets(rng, len(neg_ids), False, {node_neg: 6.7, 0: 8.9, 1: 4.4})
    out: list[list[LesionSpec]] = [[] for _ in templates]
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


def resampled_lesions(rng: np.random.Generator, template: dict[str, object]) -> list[LesionSpec]:
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
            s24 = float(np.clip(rng.normal(1.75, 0.29 * np.sqrt(11)), 0.6, 3.0))
            times = {1.0: s24 * rng.uniform(1.0, 1.3), 24.0: s24, 48.0: s24 * rng.uniform(0.8, 1.0)}
            fdg = float(np.clip(rng.normal(6.46, 0.44 * np.sqrt(11)), 4.4, 8.9))
        out.append(LesionSpec(lid, site, positive, _diameter_mm(rng, site), times, fdg))
    return out
