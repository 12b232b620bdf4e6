"""IBSI radiomic features of lesion VOIs, through the optional ``mirp`` package.

`mirp` (Zwanenburg & Löck, J. Open Source Softw. 2024;9:6413) computes the
features of the Image Biomarker Standardisation Initiative (IBSI; Zwanenburg et
al., Radiology 2020;295:328–338) — morphology, intensity statistics and
histogram, and texture matrices — from an image and a mask. It is an optional
extra (``pip install immunopet[radiomics]``); without it
:func:`ibsi_features` raises :class:`MissingDependencyError` saying so.

Each lesion of a whole-voxel lesion map is cropped with a margin, written as
NIfTI (SUV image and binary mask, with the PET voxel spacing, so physical
morphology is right) to a temporary folder, and passed to
:func:`mirp.extract_features`. Intensities are discretised with a fixed bin
width in SUV units, the IBSI recommendation for calibrated PET
(``base_discretisation_method="fixed_bin_size"``); any other mirp setting can be
passed through.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import ImmunopetError, InvalidValueError
from ..core.volume import Volume
from ..regions.labels import LabelMap

__all__ = ["IBSI_BIN_WIDTH_SUV", "MissingDependencyError", "ibsi_features", "mirp_available"]

#: Default fixed bin width (SUV) of the intensity discretisation: 0.25 SUV gives 20–40 bins
#: over a lesion's usual range (Leijenaar et al., Sci. Rep. 2015;5:11075, on FBS for PET).
IBSI_BIN_WIDTH_SUV = 0.25


class MissingDependencyError(ImmunopetError):
    """An optional dependency of the requested feature is not installed."""


def mirp_available() -> bool:
    """Whether the optional ``mirp`` package is importable."""
    return importlib.util.find_spec("mirp") is not None


def _require_mirp() -> Any:
    if not mirp_available():
        raise MissingDependencyError(
            "IBSI radiomic features need the optional package 'mirp': "
            "install immunopet[radiomics] (pip install 'immunopet[radiomics]')",
            field="radiomics",
            value="mirp",
        )
    import mirp

    return mirp


def _write_nifti(array: np.ndarray, spacing_mm: Sequence[float], path: Path) -> None:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)  # (z, y, x) array → (x, y, z) image
    image.SetSpacing(tuple(float(s) for s in spacing_mm))
    sitk.WriteImage(image, str(path))


def ibsi_features(
    suv: Volume,
    lesions: LabelMap,
    *,
    feature_families: Sequence[str] | None = None,
    bin_width_suv: float = IBSI_BIN_WIDTH_SUV,
    margin_voxels: int = 2,
    **mirp_settings: Any,
) -> pd.DataFrame:
    """IBSI features of every lesion VOI, as a tidy table.

    Parameters
    ----------
    suv
        The SUV volume.
    lesions
        Whole-voxel lesion labels on the SUV grid.
    feature_families
        mirp feature families (e.g. ``("morphology", "statistics", "glcm")``);
        default mirp's (all).
    bin_width_suv
        Fixed bin width of the discretisation, in SUV.
    margin_voxels
        Voxels kept around each lesion's bounding box.
    **mirp_settings
        Passed to :func:`mirp.extract_features` (interpolation, resegmentation, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``region, feature, value``: one row per lesion and IBSI feature
        (mirp's feature names, e.g. ``morph_volume`` in mm³, ``stat_mean``).

    Raises
    ------
    MissingDependencyError
        ``mirp`` is not installed.
    InvalidValueError
        Labels on another grid, or a non-positive bin width.
    """
    mirp = _require_mirp()
    if lesions.array.shape != suv.shape:
        raise InvalidValueError("lesion labels are on another grid than the SUV", field="lesions")
    if not bin_width_suv > 0:
        raise InvalidValueError("the IBSI bin width must be > 0", field="bin_width_suv",
                                value=bin_width_suv)  # fmt: skip
    from scipy import ndimage

    labels = np.asarray(lesions.array)
    values = np.asarray(suv.array, dtype=np.float32)
    settings: dict[str, Any] = {
        "image_modality": "pet",
        "base_discretisation_method": "fixed_bin_size",
        "base_discretisation_bin_width": float(bin_width_suv),
    }
    if feature_families is not None:
        settings["base_feature_families"] = list(feature_families)
    settings.update(mirp_settings)
    rows: list[tuple[str, str, float]] = []
    boxes = ndimage.find_objects(labels.astype(np.int64))
    with tempfile.TemporaryDirectory(prefix="immunopet-ibsi-") as tmp:
        for number, name in sorted(lesions.names.items()):
            box = boxes[number - 1] if 0 < number <= len(boxes) else None
            if box is None:
                continue
            crop = tuple(
                slice(max(b.start - margin_voxels, 0), min(b.stop + margin_voxels, size))
                for b, size in zip(box, labels.shape, strict=True)
            )
            image_path, mask_path = (
                Path(tmp) / f"{number}_image.nii.gz",
                Path(tmp) / f"{number}_mask.nii.gz",
            )
            _write_nifti(values[crop], suv.spacing_mm, image_path)
            _write_nifti((labels[crop] == number).astype(np.uint8), suv.spacing_mm, mask_path)
            tables = mirp.extract_features(image=str(image_path), mask=str(mask_path),
                                           export_features=True, write_features=False,
                                           **settings)  # fmt: skip
            for table in tables or []:
                for column in table.columns:
                    if column.startswith("image_") or column == "sample_name":
                        continue
                    value = pd.to_numeric(table[column].iloc[0], errors="coerce")
                    rows.append((name, str(column), float(value)))
    return pd.DataFrame(rows, columns=["region", "feature", "value"])
