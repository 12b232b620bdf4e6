"""Figures of the report, rendered with matplotlib's Agg backend to PNG bytes.

Every function takes tidy tables (or a :class:`~immunopet.core.volume.Volume`) and
returns the PNG as ``bytes``, ready to embed as base64 in the HTML report.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..stats import format_p, student_t_test  # noqa: E402
from ..stats.roc import RocResult  # noqa: E402
from .findings import group_label, metric_label  # noqa: E402
from .mip import DPI as _DPI  # noqa: E402

__all__ = [
    "dot_plot_figure",
    "lesion_suvmax_figure",
    "preclinical_figure",
    "roc_figure",
    "tac_figure",
    "tnr_figure",
]

_COLOURS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449", "#b9770e", "#566573")


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _dots(ax: plt.Axes, position: float, values: np.ndarray, colour: str, seed: int) -> None:
    """Scatter of one group with mean ± SD bars (GraphPad 'scatter dot plot')."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    jitter = np.random.default_rng(seed).uniform(-0.12, 0.12, values.size)
    ax.scatter(position + jitter, values, s=18, color=colour, alpha=0.8, zorder=3)
    mean = values.mean()
    sd = values.std(ddof=1) if values.size > 1 else 0.0
    ax.hlines(mean, position - 0.25, position + 0.25, color="black", lw=1.6, zorder=4)
    ax.errorbar(position, mean, yerr=sd, color="black", capsize=5, lw=1, zorder=4)


def _bracket(ax: plt.Axes, x1: float, x2: float, y: float, text: str) -> None:
    h = 0.03 * y if y > 0 else 0.1
    ax.plot([x1, x1, x2, x2], [y, y + h, y + h, y], color="black", lw=0.9)
    ax.text((x1 + x2) / 2, y + 1.5 * h, text, ha="center", va="bottom", fontsize=8)


def dot_plot_figure(
    panels: Sequence[tuple[str, str, np.ndarray, str, np.ndarray]],
    *,
    ylabel: str = "SUVmax",
) -> tuple[bytes, list[str]]:
    """Fig-5-style dot plots: one panel per comparison, with the Student's t p-value.

    Parameters
    ----------
    panels
        ``(title, label_a, values_a, label_b, values_b)`` per panel.
    ylabel
        Axis label.

    Returns
    -------
    tuple
        The PNG and, per panel, the p-value text (two-tailed unpaired Student's t;
        ``"n/a"`` when a group has fewer than two values).
    """
    n = max(1, len(panels))
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n, 3.4), squeeze=False)
    texts = []
    for i, (ax, (title, la, va, lb, vb)) in enumerate(zip(axes[0], panels, strict=False)):
        va, vb = np.asarray(va, float), np.asarray(vb, float)
        _dots(ax, 0, va, _COLOURS[0], seed=2 * i)
        _dots(ax, 1, vb, _COLOURS[1], seed=2 * i + 1)
        try:
            p = format_p(student_t_test(va, vb).p_value)
        except Exception:  # fewer than two values in a group
            p = "n/a"
        texts.append(p)
        top = np.nanmax(np.r_[va, vb, 0.0])
        _bracket(ax, 0, 1, top * 1.05 + 0.1, p)
        ax.set_xticks([0, 1], [la, lb], fontsize=8)
        ax.set_xlim(-0.6, 1.6)
        ax.set_ylim(0, top * 1.25 + 0.5)
        ax.set_title(f"{chr(97 + i)}  {title}", fontsize=9, loc="left")
        ax.set_ylabel(ylabel if i == 0 else "")
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig), texts


def lesion_suvmax_figure(
    lesions: pd.DataFrame, *, group_key: str | None, metric: str = "suv_max"
) -> bytes:
    """``metric`` (SUVmax) of every lesion against nominal time, one line per lesion, by group."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    groups = (
        list(dict.fromkeys(lesions[group_key].astype(str)))
        if group_key and group_key in lesions
        else [""]
    )
    for _lesion, sub in lesions.groupby(["subject", "region"], sort=True):
        g = str(sub[group_key].iloc[0]) if group_key and group_key in sub else ""
        sub = sub.sort_values("time_point_h")
        ax.plot(
            sub["time_point_h"], sub[metric], "o-", ms=3, lw=0.8, alpha=0.7,
            color=_COLOURS[groups.index(g) % len(_COLOURS)],
        )  # fmt: skip
    for i, g in enumerate(groups):
        name = group_label(group_key, g) if group_key and g else str(g)
        ax.plot([], [], color=_COLOURS[i % len(_COLOURS)], label=name)
    ax.set_xlabel("time post-injection (h)")
    ax.set_ylabel(f"lesion {metric_label(metric)}")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def tac_figure(curves: pd.DataFrame, *, ylabel: str = "SUVmax") -> bytes:
    """Time–activity curves per organ: median and range (min–max) across subjects.

    ``curves`` has columns ``region, time_point_h, subject, value``.
    """
    regions = list(dict.fromkeys(curves["region"]))
    ncol = min(3, max(1, len(regions)))
    nrow = int(np.ceil(len(regions) / ncol)) or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.5 * nrow), squeeze=False)
    for ax, region in zip(axes.ravel(), regions, strict=False):
        sub = curves[curves["region"] == region]
        agg = sub.groupby("time_point_h")["value"].agg(["median", "min", "max"]).sort_index()
        ax.fill_between(agg.index, agg["min"], agg["max"], color=_COLOURS[1], alpha=0.2, lw=0)
        ax.plot(agg.index, agg["median"], "o-", color=_COLOURS[1], ms=3)
        ax.set_title(region.replace("_", " "), fontsize=9)
        ax.set_xlabel("h p.i.", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(regions) :]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def tnr_figure(tnr: pd.DataFrame) -> bytes:
    """Tumour-to-normal ratios vs time: median and range per reference region (and group).

    ``tnr`` has columns ``metric`` (``tnr_<reference>``), ``time_point_h``, ``value`` and
    optionally ``group`` (one line style per group, e.g. HER2+ solid, HER2− dashed).
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    groups = list(dict.fromkeys(tnr["group"])) if "group" in tnr else [""]
    styles = ("-", "--", ":", "-.")
    for i, (metric, by_metric) in enumerate(tnr.groupby("metric", sort=True)):
        c = _COLOURS[i % len(_COLOURS)]
        for j, group in enumerate(groups):
            sub = by_metric[by_metric["group"] == group] if "group" in tnr else by_metric
            if sub.empty:
                continue
            agg = sub.groupby("time_point_h")["value"].agg(["median", "min", "max"]).sort_index()
            ax.fill_between(agg.index, agg["min"], agg["max"], color=c, alpha=0.12, lw=0)
            label = metric.removeprefix("tnr_") + (f", {group}" if group else "")
            ax.plot(agg.index, agg["median"], marker="o", ls=styles[j % len(styles)], color=c,
                    ms=3, label=label)  # fmt: skip
    ax.axhline(1.0, color="grey", lw=0.7, ls=":")
    ax.set_xlabel("time post-injection (h)")
    ax.set_ylabel("lesion-to-normal ratio (SUVmax)")
    ax.legend(title="reference", fontsize=7, title_fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def roc_figure(roc: RocResult, *, title: str = "") -> bytes:
    """Empirical ROC curve with its AUC and the Youden point."""
    fig, ax = plt.subplots(figsize=(3.4, 3.4))
    ax.plot(roc.fpr, roc.tpr, drawstyle="default", color=_COLOURS[0])
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
    y = roc.youden
    ax.plot(1 - y.specificity.estimate, y.sensitivity.estimate, "ko", ms=4)
    ax.text(
        0.4, 0.1,
        f"AUC {roc.auc:.3f} ({100 * roc.confidence:.0f} % CI {roc.ci_low:.3f}–{roc.ci_high:.3f})",
        fontsize=8,
    )  # fmt: skip
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    return _png(fig)


def preclinical_figure(table: pd.DataFrame, *, ylabels: dict[str, str] | None = None) -> bytes:
    """Preclinical arm: mean ± SD per group against time, one panel per metric.

    ``table`` has columns ``metric, group, time_h, mean, sd`` (summaries).
    """
    metrics = list(dict.fromkeys(table["metric"]))
    ylabels = ylabels or {}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.3), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=False):
        sub = table[table["metric"] == metric]
        for i, (group, g) in enumerate(sub.groupby("group", sort=False)):
            g = g.sort_values("time_h")
            ax.errorbar(
                g["time_h"], g["mean"], yerr=g["sd"], fmt="o-", ms=4, capsize=3,
                color=_COLOURS[i % len(_COLOURS)], label=str(group),
            )  # fmt: skip
        ax.set_xlabel("time post-injection (h)")
        ax.set_ylabel(ylabels.get(metric, metric))
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return _png(fig)
