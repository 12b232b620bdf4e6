"""Pixel data of a DICOM series → a rescaled :class:`~immunopet.core.volume.Volume`.

Pixel values are rescaled per slice (RescaleSlope/RescaleIntercept differ between
PET slices, each checked finite and in range by :mod:`.header_values`).
Compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE, deflate) are decoded
by pydicom's pixel-data handlers (pylibjpeg and its plugins); native 16-bit pixels
are read straight from the buffer (:func:`_native_int16`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ..core.errors import InputError, InvalidValueError
from ..core.volume import Volume
from .dicom_geometry import text_or_empty
from .header_values import read_number

if TYPE_CHECKING:
    from .dicom import DicomSeries

__all__ = ["read_series_volume"]


def _rescale(ds: Dataset, path: Path, modality: str) -> tuple[float, float]:
    """RescaleSlope / RescaleIntercept of one slice (1 / 0 when absent), finite and in range."""
    slope = read_number(ds, "RescaleSlope", source=str(path))
    intercept = read_number(ds, "RescaleIntercept", source=str(path))
    if modality == "PT" and slope is not None and slope <= 0:
        raise InvalidValueError(
            f"RescaleSlope {slope:g} must be positive for PET",
            file=path,
            field="RescaleSlope",
            value=slope,
        )
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


#: Native (uncompressed) little-endian transfer syntaxes (DICOM PS3.5 §10.1, Annex A.1, A.2).
_NATIVE_LE = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")


def _native_int16(ds: Dataset) -> np.ndarray | None:
    """The pixels of the common PET/CT case, read straight from the buffer, else None.

    Native little-endian, one sample, 16 bits allocated = stored (HighBit 15), one
    frame: the pixel cells are plain (u)int16 in row order (PS3.5 §8.1.1), so
    ``np.frombuffer`` gives exactly what pydicom's ``pixel_array`` would, without its
    per-slice overhead. Anything else (compressed, packed bits, colour) goes to pydicom.
    """
    try:
        if str(ds.file_meta.TransferSyntaxUID) not in _NATIVE_LE:
            return None
        rows, cols = int(ds.Rows), int(ds.Columns)
        if (
            int(ds.get("SamplesPerPixel", 1)) != 1
            or int(ds.BitsAllocated) != 16
            or int(ds.BitsStored) != 16
            or int(ds.get("HighBit", 15)) != 15
            or int(ds.get("NumberOfFrames") or 1) != 1
            or str(ds.get("PhotometricInterpretation", "")) not in ("MONOCHROME1", "MONOCHROME2")
        ):
            return None
        buf = ds.PixelData
        if not isinstance(buf, bytes) or len(buf) != 2 * rows * cols:
            return None  # short or padded: pydicom decides and explains
        dtype = "<i2" if int(ds.PixelRepresentation) == 1 else "<u2"
        return np.frombuffer(buf, dtype=dtype, count=rows * cols).reshape(rows, cols)
    except Exception:  # noqa: BLE001 - any doubt: let pydicom decode (and report)
        return None


def _pixels(series: DicomSeries, k: int) -> tuple[np.ndarray, Dataset]:
    path, header = series.files[k], series.headers[k]
    try:
        ds = header if "PixelData" in header else pydicom.dcmread(path)
        fast = _native_int16(ds)
        pixels = fast if fast is not None else ds.pixel_array
    except Exception as exc:  # pydicom raises many types for broken or unsupported pixel data
        raise InputError(
            f"cannot decode pixel data ({type(exc).__name__}: {exc})"[:300],
            file=path,
            field="PixelData",
        ) from exc
    return pixels, ds


def read_series_volume(series: DicomSeries) -> Volume:
    """Pixel data of ``series`` as a :class:`Volume`, rescaled slice by slice.

    Compressed transfer syntaxes (JPEG 2000, JPEG-LS, RLE, deflate) are decoded by
    pydicom's pixel data handlers (pylibjpeg and its plugins). Unit: ``"HU"`` for CT,
    the PET ``Units`` (e.g. ``"BQML"``) for PT, else the modality.

    Raises
    ------
    InputError
        Undecodable pixel data, a shape that differs from Rows×Columns, or rescaled
        values that are not finite (naming the slice file).
    """
    shape, spacing, origin, direction = series.geometry()
    # One preallocated float32 array, filled slice by slice: each slice is rescaled in
    # float64 and rounded once (relative error ≤ 6e-8, far below the ~3e-5 of the slice
    # maximum that 16-bit storage quantises to), so no float64 copy of the volume exists.
    arr = np.empty(shape, dtype=np.float32)
    for k, path in enumerate(series.files):
        pixels, ds = _pixels(series, k)
        if pixels.shape != shape[1:]:
            raise InputError(
                f"pixel array shape {pixels.shape} differs from Rows×Columns",
                file=path,
                field="PixelData",
            )
        slope, intercept = _rescale(ds, path, series.modality)
        with np.errstate(over="ignore", invalid="ignore"):
            arr[k] = pixels * slope + intercept if intercept else pixels * slope
        # Float pixel data can bring NaN or inf, and a huge slope can overflow float32.
        if not np.isfinite(arr[k]).all():
            raise InvalidValueError(
                f"rescaled pixel values are not finite (RescaleSlope {slope:g}, "
                f"RescaleIntercept {intercept:g})",
                file=path,
                field="RescaleSlope",
                value=slope,
            )
    if series.modality == "CT":
        unit = "HU"
    elif series.modality == "PT":
        unit = (text_or_empty(series.first, "Units") or "").upper()
    else:
        unit = series.modality
    return Volume(
        arr,
        spacing,
        origin,
        direction,
        unit=unit,
        frame_of_reference_uid=series.frame_of_reference_uid,
    )
