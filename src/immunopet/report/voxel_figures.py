"""Figures of the voxel-dosimetry section: a dose-map slice per nuclide and cumulative DVHs.

Doses are drawn per administered activity, mGy/MBq (= Gy/GBq), so that the imaging nuclide
and a predicted therapy nuclide (computed for the same administered activity) share one
colour scale and axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.volume import Volume  # noqa: E402
from .figures import _png  # noqa: E402

__all__ = ["dose_map_figure", "dvh_figure"]

_LESION_COLOURS = plt.get_cmap("tab20").colors


def _coronal(vol: Volume, j: int) -> np.ndarray:
    """The coronal slice ``j`` (array axis y), rows superior → inferior, for axis-aligned grids.

    DICOM patient axes (LPS): +x to the patient's left, +z superior. The image shows the
    patient's right on the left (radiological convention) and the head at the top.
    """
    arr = np.asarray(vol.array)[:, j, :]
    d = vol.direction_matrix
    if d[0, 0] < 0:
        arr = arr[:, ::-1]
    if d[2, 2] > 0:
        arr = arr[::-1, :]
    return arr


def dose_map_figure(
    maps_mgy_per_mbq: Mapping[str, Volume],
    lesion_mask: np.ndarray | None,
    slice_j: int,
    *,
    title: str = "",
    label: str = "absorbed dose (mGy/MBq = Gy/GBq)",
    vmax: float | None = None,
    cmap: str = "inferno",
) -> bytes:
    """Coronal dose slices side by side (one per nuclide), one colour bar in mGy/MBq.

    ``lesion_mask`` (the lesion drawn as a contour) and the slice index are on the maps' grid;
    the pixel aspect is the physical dz/dx.
    """
    names = list(maps_mgy_per_mbq)
    first = maps_mgy_per_mbq[names[0]]
    # One scale for the panels: the slices' maximum (a hot bladder elsewhere does not wash
    # the lesion out).
    top = vmax or max(float(np.nanmax(np.asarray(v.array)[:, slice_j, :]))
                      for v in maps_mgy_per_mbq.values())  # fmt: skip
    dx, _dy, dz = first.spacing_mm
    nz, _ny, nx = first.shape
    width = 3.2 * len(names) + 1.0
    height = min(9.0, max(3.0, 3.2 * (nz * dz) / max(nx * dx, 1.0)))
    fig, axes = plt.subplots(1, len(names), figsize=(width, height), squeeze=False)
    image = None
    for ax, name in zip(axes[0], names, strict=True):
        vol = maps_mgy_per_mbq[name]
        image = ax.imshow(_coronal(vol, slice_j), cmap=cmap, vmin=0.0, vmax=top or 1.0,
                          aspect=dz / dx, interpolation="nearest")  # fmt: skip
        if lesion_mask is not None and np.any(lesion_mask[:, slice_j, :]):
            mask_vol = vol.with_array(lesion_mask.astype(np.float32))
            ax.contour(_coronal(mask_vol, slice_j), levels=[0.5], colors="cyan", linewidths=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("R ← → L", fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes[0]), shrink=0.8, pad=0.02)
        bar.set_label(label)
    if title:
        # Just above the panels (their aspect shrinks them inside the figure box).
        for ax in axes[0]:
            ax.apply_aspect()
        top = max(ax.get_position().y1 for ax in axes[0])
        fig.suptitle(title, fontsize=10, y=min(top + 0.06, 0.99))
    return _png(fig)


def dvh_figure(
    curves: pd.DataFrame, nuclides: Sequence[str], *, organs: Sequence[str] = ()
) -> bytes:
    """Cumulative DVHs per nuclide (one panel each): lesions in colour, ``organs`` in grey.

    ``curves``: ``subject, region, region_kind, nuclide, dose_mgy_per_mbq, volume_fraction``.
    """
    fig, axes = plt.subplots(1, len(nuclides), figsize=(4.6 * len(nuclides), 3.6),
                             squeeze=False, sharey=True)  # fmt: skip
    styles = ("-", "--", ":", "-.")
    for ax, nuclide in zip(axes[0], nuclides, strict=True):
        part = curves[curves["nuclide"] == nuclide]
        lesions = part[part["region_kind"] == "lesion"]
        for i, ((subject, region), c) in enumerate(lesions.groupby(["subject", "region"])):
            c = c.sort_values("dose_mgy_per_mbq")
            ax.plot(c["dose_mgy_per_mbq"], 100 * c["volume_fraction"], lw=1.0,
                    color=_LESION_COLOURS[i % len(_LESION_COLOURS)],
                    label=f"{subject} {region}" if i < 12 else None)  # fmt: skip
        for k, organ in enumerate(organs):
            c = part[(part["region_kind"] == "organ") & (part["region"] == organ)]
            if c.empty:
                continue
            c = c.sort_values("dose_mgy_per_mbq")
            ax.plot(c["dose_mgy_per_mbq"], 100 * c["volume_fraction"], color="0.3",
                    ls=styles[k % len(styles)], lw=1.6, label=organ.replace("_", " "))  # fmt: skip
        ax.set_title(nuclide, fontsize=10)
        ax.set_xlabel("absorbed dose D (mGy/MBq)")
        reached = part[part["volume_fraction"] > 0]["dose_mgy_per_mbq"]
        ax.set_xlim(0, 1.05 * float(reached.max()) if len(reached) else None)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("volume receiving ≥ D (%)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.tight_layout()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(fig)
