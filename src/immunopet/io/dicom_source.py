"""The PET series a DICOM SEG or SR refers to, and atomic saving of derived objects.

:func:`load_source_series` finds the source image series (PET by default) among
files, folders or pydicom datasets, as :func:`~immunopet.io.dicom_seg.write_seg`
and :func:`~immunopet.io.dicom_sr.write_measurement_sr` need it;
:func:`save_dataset_atomically` writes a derived dataset so that no reader ever
sees half a file.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from ..core.errors import GeometryError, InputError
from ..core.volume import Volume
from .dicom import DicomSeries, _sort_slices, discover_series

__all__ = [
    "SourceInput",
    "SourceSeries",
    "load_source_series",
    "save_dataset_atomically",
]

PathLike = str | os.PathLike[str]
#: Source PET images: a DICOM folder / file(s), or the pydicom datasets themselves.
SourceInput = PathLike | Sequence[PathLike] | Sequence[Dataset]

# Type 2 patient / study attributes highdicom copies from the source images; synthetic
# or anonymised series may lack them, and DICOM allows them empty (PS3.3 C.7.1.1, C.7.2.1).
_TYPE2_EMPTY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
)


@dataclass(frozen=True)
class SourceSeries:
    """The PET series a SEG / SR refers to: sorted header datasets and their grid."""

    series: DicomSeries

    @property
    def datasets(self) -> list[Dataset]:
        """Header datasets sorted along the slice normal (increasing)."""
        return list(self.series.headers)

    @property
    def source(self) -> str:
        return self.series.source

    def grid(self) -> Volume:
        """An empty (uint8) Volume on the series grid, for geometry comparisons."""
        shape, spacing, origin, direction = self.series.geometry()
        return Volume(
            np.zeros(shape, np.uint8),
            spacing,
            origin,
            direction,
            unit="label",
            frame_of_reference_uid=self.series.frame_of_reference_uid,
        )


def load_source_series(
    source: SourceInput, *, series_uid: str | None = None, modality: str = "PT"
) -> SourceSeries:
    """Find the source image series (PET by default) among files or datasets.

    Parameters
    ----------
    source
        DICOM folder (searched recursively), file(s), or a sequence of pydicom datasets
        (header-only reads are enough).
    series_uid
        SeriesInstanceUID to pick when several series of ``modality`` are present.
    modality
        Modality of the series wanted (``"PT"``).

    Raises
    ------
    InputError
        No or several matching series.
    """
    items = list(source) if isinstance(source, Sequence) and not isinstance(source, str) else []
    if items and all(isinstance(d, Dataset) for d in items):
        groups: dict[str, list[tuple[Path, Dataset]]] = {}
        for i, ds in enumerate(items):
            if "SeriesInstanceUID" not in ds:
                raise InputError(
                    f"source dataset {i} has no SeriesInstanceUID", field="SeriesInstanceUID"
                )
            path = Path(str(getattr(ds, "filename", None) or f"<dataset {i}>"))
            groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
        found = []
        for uid, members in groups.items():
            files, headers = _sort_slices(members)
            found.append(DicomSeries(uid, str(headers[0].get("Modality") or ""), files, headers))
        where = "the datasets given"
    else:
        found = discover_series(source)  # type: ignore[arg-type]
        where = str(source if isinstance(source, (str, os.PathLike)) else items[0])
    if series_uid is not None:
        found = [s for s in found if s.uid == series_uid]
    matching = [s for s in found if s.modality == modality]
    if len(matching) != 1:
        what = f"no {modality} series" if not matching else f"{len(matching)} {modality} series"
        raise InputError(
            f"{what} found for the SEG/SR source; pass series_uid to choose one",
            file=where,
            field="SeriesInstanceUID",
            value=series_uid,
        )
    return SourceSeries(matching[0])


def _check_on_grid(labels: Volume, src: SourceSeries) -> None:
    """Refuse a label volume that is not on the source series grid and frame of reference."""
    grid = src.grid()
    problems = []
    if labels.shape != grid.shape:
        problems.append(f"shape {labels.shape} vs {grid.shape}")
    else:
        if not np.allclose(labels.spacing_mm, grid.spacing_mm, atol=1e-2):
            problems.append(f"spacing {labels.spacing_mm} vs {grid.spacing_mm} mm")
        if not np.allclose(labels.origin_mm, grid.origin_mm, atol=1e-2):
            problems.append(f"origin {labels.origin_mm} vs {grid.origin_mm} mm")
        if not np.allclose(labels.direction, grid.direction, atol=1e-4):
            problems.append("direction cosines differ")
    if problems:
        raise GeometryError(
            "the label volume is not on the grid of the source PET series ("
            + "; ".join(problems)
            + "): resample it with immunopet.regions.labels_on_pet_grid first",
            file=src.source,
            field="ImagePositionPatient",
        )
    for_uid = src.series.frame_of_reference_uid
    if labels.frame_of_reference_uid and for_uid and labels.frame_of_reference_uid != for_uid:
        raise GeometryError(
            "the label volume belongs to another frame of reference than the PET series",
            file=src.source,
            field="FrameOfReferenceUID",
            value=labels.frame_of_reference_uid,
        )


def _filled_sources(datasets: Sequence[Dataset]) -> list[Dataset]:
    """Copies of the source headers with absent Type 2 patient/study attributes set empty."""
    out = []
    for ds in datasets:
        ds = copy.deepcopy(ds)
        for keyword in _TYPE2_EMPTY:
            if keyword not in ds:
                setattr(ds, keyword, "")
        out.append(ds)
    return out


def save_dataset_atomically(ds: Dataset, out_path: PathLike) -> Path:
    """Write ``ds`` to ``out_path`` through a temporary file and :func:`os.replace`.

    A reader never sees a half-written file, and a failed write leaves no debris.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        ds.save_as(tmp_name, enforce_file_format=True)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out


def _software_version() -> str:
    from ..core.version import __version__

    return str(__version__)
