"""The headline of a run: the "Key findings" table and human labels for group filters.

:func:`key_findings` reads a finished run's tables (never a simulation's truth)
and gives the few lines a reader looks for first: lesions found against those
the study file lists, detection sensitivity per time point of the study's
binary group, the group comparison and the cutoff's sensitivity/specificity at
the cutoff's time point, and the effective dose. ``immunopet demo`` prints the
same lines; the report opens with them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["group_label", "humanise_groups", "key_findings", "metric_label"]

#: Display names of the lesion uptake metrics a study may choose (statistics.metric).
METRIC_LABELS = {
    "suv_max": "SUVmax",
    "suv_max_core": "SUVmax (VOI core)",
    "suv_peak": "SUVpeak",
    "suv_mean": "SUVmean",
}

_SIGNS = {"positive": "+", "negative": "−", "pos": "+", "neg": "−"}
_FILTER = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)=([A-Za-z0-9_+\-]+)")


def metric_label(metric: str) -> str:
    """How the report names a lesion metric (``suv_max_core`` → "SUVmax (VOI core)")."""
    return METRIC_LABELS.get(metric, metric)


def group_label(key: str, value: str) -> str:
    """A group filter as a reader writes it: ``her2``/``positive`` → ``HER2+``.

    Short keys (≤ 5 characters, e.g. receptor names) are upper-cased; positive and
    negative become ``+`` and ``−``; any other value follows the key after a space.
    """
    name = key.upper() if len(key) <= 5 else key.replace("_", " ")
    sign = _SIGNS.get(str(value).lower())
    return f"{name}{sign}" if sign else f"{name} {value}"


def humanise_groups(text: object) -> str:
    """Every ``key=value`` group filter in ``text`` as :func:`group_label` writes it."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return _FILTER.sub(lambda m: group_label(m.group(1), m.group(2)), str(text))


def _pct(k: float, n: float, lo: float, hi: float) -> str:
    return f"{int(k)}/{int(n)} = {100 * k / n:.0f} % (95 % CI {100 * lo:.0f}–{100 * hi:.0f} %)"


def _cutoff(statistics: Mapping[str, Any]) -> dict[str, Any]:
    cutoffs = statistics.get("cutoffs") or []
    first = dict(cutoffs[0]) if cutoffs else {}
    primary = statistics.get("primary_time") or first.get("time", "24h")
    at_primary = [c for c in cutoffs if str(c.get("time", "24h")) == str(primary)]
    first = dict(at_primary[0]) if at_primary else first
    return {
        "group": str(first.get("group", "her2")),
        "positive": str(first.get("positive", "positive")),
        "time": str(primary),
        "values": {
            str(c.get("metric")): float(c.get("value", math.nan))
            for c in cutoffs
            if str(c.get("time", "24h")) == str(primary)
        },
        "times": sorted({str(c.get("time", "24h")) for c in cutoffs}),
    }


def key_findings(
    tables: Mapping[str, pd.DataFrame],
    options: Mapping[str, Any] | None = None,
    listed_lesions: Mapping[str, int] | None = None,
    *,
    reference_tracer: str = "FDG",
    paper_effective_dose: str | None = None,
) -> list[tuple[str, str]]:
    """The run's headline lines ``(what, value)``.

    Parameters
    ----------
    tables
        The run's tables by name (``lesions``, ``statistics``, ``doses``).
    options
        The study's analysis options as a mapping (``statistics.cutoffs`` gives the
        binary group, its positive value and the cutoff's time point).
    listed_lesions
        Lesions the study file lists per subject (the clinical record), if any.
    paper_effective_dose
        Text appended to the effective-dose line (a published value to compare with).
    """
    from ..core.timepoints import parse_time_label_h

    stats_options = (options or {}).get("statistics") or {}
    cut = _cutoff(stats_options)
    positive = f"{cut['group']}={cut['positive']}"
    cut_h = parse_time_label_h(cut["time"])
    lines: list[tuple[str, str]] = []
    lesions = tables.get("lesions")
    if lesions is not None and listed_lesions:
        found = lesions.groupby("subject").size() if len(lesions) else pd.Series(dtype=int)
        per = [f"{sid} {int(found.get(sid, 0))}/{n}" for sid, n in listed_lesions.items()]
        lines.append(
            (f"{reference_tracer} lesions found / expected",
             f"{int(found.sum())}/{sum(listed_lesions.values())}  ({', '.join(per)})")
        )  # fmt: skip
    stats = tables.get("statistics")
    if stats is not None and len(stats):
        tracer = stats["tracer_a"].astype(str)
        main = stats[(tracer != reference_tracer) & stats["tracer_a"].notna()]
        det = main[(main["kind"] == "detection") & (main["group_a"] == positive)]
        if cut["times"]:  # the time points the study's cutoffs are read at
            det = det[det["time_a_h"].isin([parse_time_label_h(t) for t in cut["times"]])]
        for _, r in det.sort_values("time_a_h").iterrows():
            lines.append(
                (f"{group_label(cut['group'], cut['positive'])} detection {r['time_a_h']:g} h",
                 _pct(r["statistic"], r["n_a"], r["ci_low"], r["ci_high"]))
            )  # fmt: skip
        at_cut = (main["time_a_h"] == cut_h) & (main["time_b_h"] == cut_h)
        other = main["group_b"].astype(str)
        versus = other.str.startswith(f"{cut['group']}=") & (other != positive)
        cmp = main[(main["kind"] == "comparison") & at_cut & (main["group_a"] == positive) & versus]
        for _, r in cmp[cmp["test"].isin(["student", "welch"])].iterrows():
            lines.append(
                (f"{metric_label(str(r['metric']))} {cut_h:g} h "
                 f"{humanise_groups(r['group_a'])} vs {humanise_groups(r['group_b'])} ({r['test']})",
                 f"{r['mean_a']:.2f} ± {r['sd_a']:.2f} (n={int(r['n_a'])}) vs "
                 f"{r['mean_b']:.2f} ± {r['sd_b']:.2f} (n={int(r['n_b'])}) mean ± SD, "
                 f"p = {r['p_value']:.2g}")
            )  # fmt: skip
        for _, r in main[(main["kind"] == "cutoff") & (main["time_a_h"] == cut_h)].iterrows():
            what = str(r["analysis"]).split(" of ")[0]
            metric = str(r["metric"])
            value = cut["values"].get(metric, math.nan)
            lines.append(
                (f"{what} of {metric_label(metric)} ≥ {value:g} at {cut_h:g} h",
                 _pct(r["statistic"], r["n_a"], r["ci_low"], r["ci_high"]))
            )  # fmt: skip
    doses = tables.get("doses")
    if doses is not None and len(doses):
        every = doses[doses["quantity"] == "effective_dose"]
        if "nuclide" in every and every["nuclide"].notna().any():
            every = every[every["nuclide"] == every["nuclide"].dropna().iloc[0]]  # imaging nuclide
        sets = every["source_set"] if "source_set" in every else pd.Series(
            "all_segmented", index=every.index)  # fmt: skip
        for name, label in (("all_segmented", "effective dose (ICRP 103)"),
                            ("reference_study", "effective dose, reference study's source organs")):  # fmt: skip
            eff = every.loc[sets == name, "value"].astype(float)
            if not len(eff):
                continue
            sd = eff.std(ddof=1) if len(eff) > 1 else math.nan
            text = f"{eff.mean():.3f} ± {sd:.3f} mSv/MBq (mean ± SD, n={len(eff)})"
            if paper_effective_dose:
                text += f"; {paper_effective_dose}"
            lines.append((label, text))
    return lines
