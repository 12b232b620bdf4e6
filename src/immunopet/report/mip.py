"""Maximum-intensity projection figures: the MIP arrays a measure task stores → PNG.

Light on purpose: matplotlib's object API (:class:`matplotlib.figure.Figure`, drawn
by the Agg canvas, no pyplot state) and numpy only, so that the per-scan figure
tasks of a run import 0.3 s of matplotlib instead of the whole report (1.1 s).
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from ..core.volume import Volume

__all__ = ["DPI", "mip_figure", "mip_png"]

#: Resolution of the report's figures (dots per inch).
DPI = 110


def mip_figure(
    volume: Volume,
    lesion_labels: Volume | None = None,
    *,
    title: str = "",
    vmax: float | None = None,
) -> bytes:
    """Anterior maximum-intensity projection of a PET volume, lesion contours in red.

    Parameters
    ----------
    volume
        PET volume (any unit; SUV reads best), array indexed [z, y, x].
    lesion_labels
        Optional label map on the same grid (> 0 inside lesions); its projection is
        outlined.
    title
        Figure title (e.g. ``"P1 124I-trastuzumab 24 h"``).
    vmax
        Upper end of the grey scale (default: 99.5th percentile of the MIP).

    Returns
    -------
    bytes
        PNG image (see :func:`mip_png`).
    """
    from ..measure import mip_arrays

    mip = mip_arrays(volume, lesion_labels)
    return mip_png(mip.arrays, mip.meta, title=title, vmax=vmax)


def mip_png(
    arrays: dict[str, np.ndarray], meta: dict[str, object], *, title: str = "",
    vmax: float | None = None,
) -> bytes:  # fmt: skip
    """Draw MIP arrays (:func:`immunopet.measure.mip_arrays`) with a scale bar in their unit.

    Displayed head up with the physical aspect ratio of the voxels (dz / dx); the
    grey scale runs from 0 to ``vmax`` (default: the 99.5th percentile), labelled
    with the image unit (e.g. SUVbw) on a colour bar.
    """
    mip = np.asarray(arrays["mip"], dtype=float)
    aspect = float(meta.get("aspect", 1.0))  # type: ignore[arg-type]
    origin = "lower" if meta.get("head_up", True) else "upper"
    hi = vmax if vmax is not None else float(np.nanpercentile(mip, 99.5)) or 1.0
    fig = Figure(figsize=(3.4, 3.0 * max(0.6, mip.shape[0] * aspect / mip.shape[1])))
    ax = fig.subplots()
    image = ax.imshow(
        mip, cmap="gray_r", vmin=0, vmax=hi, aspect=aspect, origin=origin,
        interpolation="nearest",
    )  # fmt: skip
    lesions = arrays.get("mip_lesions")
    if lesions is not None and np.asarray(lesions).any():
        ax.contour(np.asarray(lesions, float), levels=[0.5], colors="red", linewidths=0.8,
                   origin=origin)  # fmt: skip
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label(str(meta.get("unit", "")), fontsize=7)
    bar.ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()
