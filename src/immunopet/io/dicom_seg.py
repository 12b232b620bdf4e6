"""DICOM Segmentation (SEG) export and import of immunopet label volumes.

:func:`write_seg` turns an integer label :class:`~immunopet.volume.Volume` on the
PET grid into a *binary* DICOM SEG with one segment per label present, that
references the source PET series (same study, same frame of reference), carries
coded segment properties (DICOM PS3.16 CID 7150 category / CID 7151, 7159 type)
and identifies immunopet (name and version) as the algorithm;
:func:`read_seg` reads such a file (or any SEG on the same frame of reference)
back onto a reference PET grid.

Coding of the segments (DICOM PS3.3 C.8.20.2 Segment Description Macro):

* organs with a SNOMED CT anatomy code in :data:`ORGAN_CODES`: category
  "Anatomical Structure" (SCT 91723000), type the organ (e.g. liver SCT 10200004);
* lesions: category "Morphologically Abnormal Structure" (SCT 49755003), type
  "Neoplasm" (SCT 108369006, CID 7159);
* blood: category "Body Substance" (SCT 91720002), type "Blood" (SCT 87612001);
* whole body: "Anatomical Structure" / "Entire body" (SCT 38266002);
* anything else: category and type "Tissue" (SCT 85756007).

The immunopet label number, region name and kind are also kept in the free-text
Segment Description (0062,0006) as ``"immunopet label <n>: <name> (<kind>)"``,
so that :func:`read_seg` restores the original label numbers (segment numbers
must be 1…N in DICOM).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from ..errors import GeometryError, ImmunopetWarning, InputError, UnsupportedDataError
from ..volume import Volume
from .dicom import DicomSeries, _sort_slices, discover_series

__all__ = [
    "ORGAN_CODES",
    "SEGMENTATION_SOP_CLASS",
    "SegmentCoding",
    "SourceSeries",
    "load_source_series",
    "read_seg",
    "save_dataset_atomically",
    "segment_coding",
    "write_seg",
]

PathLike = str | os.PathLike[str]
#: Source PET images: a DICOM folder / file(s), or the pydicom datasets themselves.
SourceInput = PathLike | Sequence[PathLike] | Sequence[Dataset]

SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage

#: SNOMED CT anatomy codes of the shared immunopet organ names (DICOM PS3.16 CID 7151
#: "Segmentation Property Types" entries, as pydicom's code dictionary spells them).
#: Paired organs (kidneys, lungs) use the singular structure; wall / contents
#: compartments use the organ.
ORGAN_CODES: dict[str, Code] = {
    "adrenals": codes.SCT.AdrenalGland,
    "brain": codes.SCT.Brain,
    "oesophagus": codes.SCT.Esophagus,
    "gallbladder_wall": codes.SCT.Gallbladder,
    "gallbladder_contents": codes.SCT.Gallbladder,
    "gallbladder": codes.SCT.Gallbladder,
    "left_colon": codes.SCT.Colon,
    "right_colon": codes.SCT.Colon,
    "rectosigmoid_colon": codes.SCT.Colon,
    "colon": codes.SCT.Colon,
    "small_intestine": codes.SCT.SmallIntestine,
    "stomach_wall": codes.SCT.Stomach,
    "stomach_contents": codes.SCT.Stomach,
    "stomach": codes.SCT.Stomach,
    "heart_wall": codes.SCT.Heart,
    "heart_contents": codes.SCT.Heart,
    "heart": codes.SCT.Heart,
    "kidneys": codes.SCT.Kidney,
    "kidney": codes.SCT.Kidney,
    "liver": codes.SCT.Liver,
    "lungs": codes.SCT.Lung,
    "lung": codes.SCT.Lung,
    "muscle": codes.SCT.SkeletalMuscle,
    "pancreas": codes.SCT.Pancreas,
    "red_marrow": codes.SCT.BoneMarrow,
    "bone_surfaces": codes.SCT.Bone,
    "cortical_bone": codes.SCT.Bone,
    "trabecular_bone": codes.SCT.Bone,
    "bone": codes.SCT.Bone,
    "spleen": codes.SCT.Spleen,
    "thyroid": codes.SCT.Thyroid,
    "thymus": codes.SCT.Thymus,
    "testes": codes.SCT.Testis,
    "ovaries": codes.SCT.Ovary,
    "uterus": codes.SCT.Uterus,
    "breasts": codes.SCT.Breast,
    "skin": codes.SCT.Skin,
    "urinary_bladder_wall": codes.SCT.Bladder,
    "urinary_bladder_contents": codes.SCT.Bladder,
    "urinary_bladder": codes.SCT.Bladder,
    "salivary_glands": codes.SCT.SalivaryGland,
    "aorta": codes.SCT.Aorta,
    "total_body": codes.SCT.EntireBody,
    "whole_body": codes.SCT.EntireBody,
}

_LABEL_TEXT = re.compile(r"immunopet label (\d+): (.*) \((\w+)\)$")
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
class SegmentCoding:
    """The coded properties of one segment (DICOM Segment Description Macro).

    Attributes
    ----------
    kind
        immunopet region kind (``organ``, ``lesion``, ``blood``, ``background``, ``whole_body``).
    category
        Segmented Property Category (CID 7150).
    property_type
        Segmented Property Type (CID 7151 anatomy, CID 7159 abnormal structures).
    anatomy
        The organ's anatomy code when known (used as SR finding site), else None.
    """

    kind: str
    category: Code
    property_type: Code
    anatomy: Code | None


def _infer_kind(name: str) -> str:
    low = name.lower()
    if low in ("whole_body", "total_body"):
        return "whole_body"
    if low.startswith(("lesion", "tumor", "tumour", "metastasis", "node_")):
        return "lesion"
    if low == "blood" or low.startswith("blood"):
        return "blood"
    if low in ("background", "remainder"):
        return "background"
    return "organ"


def segment_coding(name: str, kind: str | None = None) -> SegmentCoding:
    """Coded category and type of a region (module docstring lists the rules).

    Parameters
    ----------
    name
        immunopet region name (shared snake_case organ names, ``lesion_3``…).
    kind
        Region kind; default guessed from the name (``lesion*`` → lesion, ``blood*`` →
        blood, ``whole_body`` → whole_body, else organ).
    """
    kind = kind or _infer_kind(name)
    if kind == "lesion":
        return SegmentCoding(
            kind, codes.cid7150.MorphologicallyAbnormalStructure, codes.SCT.Neoplasm, None
        )
    if kind == "blood":
        return SegmentCoding(kind, codes.cid7150.BodySubstance, codes.SCT.Blood, None)
    if kind == "whole_body":
        return SegmentCoding(
            kind, codes.cid7150.AnatomicalStructure, codes.SCT.EntireBody, codes.SCT.EntireBody
        )
    organ = ORGAN_CODES.get(name.lower())
    if organ is not None:
        return SegmentCoding(kind, codes.cid7150.AnatomicalStructure, organ, organ)
    return SegmentCoding(kind, codes.cid7150.Tissue, codes.SCT.Tissue, None)


# --- source PET series ------------------------------------------------------------------
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
    from .. import __version__

    return str(__version__)


# --- writing -----------------------------------------------------------------------------
def _integer_labels(volume: Volume) -> np.ndarray:
    arr = np.asarray(volume.array)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.mod(arr, 1) == 0):
            raise UnsupportedDataError("a label volume must hold integers", value=str(arr.dtype))
        arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise UnsupportedDataError("label numbers must be ≥ 0", value=int(arr.min()))
    return arr


def _segment_pixels(arrays: list[np.ndarray], lut: np.ndarray, n_segments: int) -> np.ndarray:
    """highdicom pixel input: a label map when layers are disjoint, else a 4-D binary stack."""
    labelled = [a > 0 for a in arrays]
    if len(arrays) == 1 or not np.any(np.sum(labelled, axis=0, dtype=np.uint8) > 1):
        merged = np.zeros(arrays[0].shape, dtype=np.uint16)
        for arr in arrays:
            merged = np.where(arr > 0, lut[arr], merged)
        return merged.astype(np.uint8) if n_segments < 256 else merged
    # Overlapping layers (a lesion inside an organ): one binary plane per segment,
    # n_segments bytes per voxel.
    stack = np.zeros((*arrays[0].shape, n_segments), dtype=bool)
    for arr in arrays:
        k, j, i = np.nonzero(arr)
        stack[k, j, i, lut[arr[k, j, i]].astype(np.intp) - 1] = True
    return stack


def write_seg(
    labels: Volume | Sequence[Volume],
    names: Mapping[int, str],
    source_dir_or_datasets: SourceInput,
    out_path: PathLike,
    *,
    kinds: Mapping[int, str] | None = None,
    series_description: str = "immunopet regions",
    series_uid: str | None = None,
    series_number: int = 300,
    algorithm_type: str = "AUTOMATIC",
) -> Path:
    """Write integer label volume(s) as a binary DICOM SEG referencing the source PET.

    Parameters
    ----------
    labels
        Integer labels (0 = background) on the grid of the source PET series; or several
        such *layers* (e.g. organs and lesions) whose regions may overlap — a lesion
        inside the liver then stays part of the liver segment, as it was measured.
        Label numbers must be unique across layers.
    names
        ``{label_number: region_name}``; labels present but unnamed are written as
        ``label_<n>`` (with a warning).
    source_dir_or_datasets
        The PET series: DICOM folder, files, or pydicom datasets (headers suffice).
    out_path
        The SEG file to write (atomically).
    kinds
        ``{label_number: region_kind}`` (``organ``, ``lesion``, ``blood``, ``background``,
        ``whole_body``); default guessed from the names (:func:`segment_coding`).
    series_description
        SeriesDescription of the SEG.
    series_uid
        PET SeriesInstanceUID when the source holds several PET series.
    series_number
        SeriesNumber of the SEG.
    algorithm_type
        ``"AUTOMATIC"``, ``"SEMIAUTOMATIC"`` or ``"MANUAL"`` (Segment Algorithm Type).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    GeometryError
        A label volume is not on the PET grid or frame of reference (names the series folder).
    InputError
        No labelled voxel, non-integer labels, a label number used in two layers,
        no / several PET series.

    Notes
    -----
    Overlapping layers are handed to highdicom as a (slices, rows, columns, segments)
    boolean stack: one byte per voxel and segment of memory.
    """
    import highdicom as hd

    layers = [labels] if isinstance(labels, Volume) else list(labels)
    if not layers:
        raise InputError("no label volume given", file=out_path)
    src = load_source_series(source_dir_or_datasets, series_uid=series_uid)
    arrays = []
    layer_of: dict[int, int] = {}
    for index, layer in enumerate(layers):
        _check_on_grid(layer, src)
        arr = _integer_labels(layer)
        arrays.append(arr)
        for n in np.unique(arr):
            if n != 0 and layer_of.setdefault(int(n), index) != index:
                raise InputError(
                    f"label {int(n)} is used in label volumes {layer_of[int(n)]} and {index}: "
                    "renumber one of them",
                    file=out_path,
                    value=int(n),
                )
    present = sorted(layer_of)
    if not present:
        raise InputError("the label volume has no labelled voxel: nothing to write", file=out_path)
    names = {int(k): str(v) for k, v in names.items()}
    unnamed = [n for n in present if n not in names]
    if unnamed:
        warnings.warn(
            f"labels {unnamed[:10]} have no name: written as label_<n>",
            ImmunopetWarning,
            stacklevel=2,
        )
    empty = sorted(n for n in names if n > 0 and n not in layer_of)
    if empty:
        warnings.warn(
            "named labels without any voxel are left out of the SEG: "
            + ", ".join(names[n] for n in empty[:10]),
            ImmunopetWarning,
            stacklevel=2,
        )
    version = _software_version()
    # Algorithm family (CID 7162): immunopet's lesion delineation thresholds the SUV
    # histogram (fixed / relative-to-SUVmax thresholds); organ maps are carried over.
    algorithm = hd.AlgorithmIdentificationSequence(
        name="immunopet",
        family=codes.cid7162.HistogramAnalysis,
        version=version,
    )
    descriptions = []
    lut = np.zeros(int(max(present)) + 1, dtype=np.uint16)
    for seg_number, label in enumerate(present, start=1):
        name = names.get(label, f"label_{label}")
        coding = segment_coding(name, None if kinds is None else kinds.get(label))
        desc = hd.seg.SegmentDescription(
            segment_number=seg_number,
            segment_label=name[:64],
            segmented_property_category=coding.category,
            segmented_property_type=coding.property_type,
            algorithm_type=algorithm_type,
            algorithm_identification=algorithm,
            tracking_uid=generate_uid(),
            tracking_id=name[:64],
        )
        desc.SegmentDescription = f"immunopet label {label}: {name} ({coding.kind})"
        descriptions.append(desc)
        lut[label] = seg_number
    pixels = _segment_pixels(arrays, lut, len(present))
    with warnings.catch_warnings():
        # highdicom checks the *source* PatientName format; not ours to fix here.
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person")
        seg = hd.seg.Segmentation(
            source_images=_filled_sources(src.datasets),
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=generate_uid(),
            series_number=series_number,
            sop_instance_uid=generate_uid(),
            instance_number=1,
            manufacturer="immunopet",
            manufacturer_model_name="immunopet",
            software_versions=version,
            device_serial_number="0",
            content_label="REGIONS",
            content_description=series_description[:64],
        )
    seg.SeriesDescription = series_description[:64]
    return save_dataset_atomically(seg, out_path)


# --- reading -----------------------------------------------------------------------------
def _segment_labels(seg: Dataset) -> tuple[dict[int, int], dict[int, str]]:
    """({segment_number: immunopet label}, {label: name}) from the Segment Sequence."""
    to_label: dict[int, int] = {}
    names: dict[int, str] = {}
    for item in seg.SegmentSequence:
        number = int(item.SegmentNumber)
        match = _LABEL_TEXT.match(str(item.get("SegmentDescription") or ""))
        label = int(match.group(1)) if match else number
        to_label[number] = label
        names[label] = str(item.get("SegmentLabel") or f"label_{label}")
    if len(set(to_label.values())) != len(to_label):  # inconsistent texts: use segment numbers
        to_label = {n: n for n in to_label}
        names = {
            int(i.SegmentNumber): str(i.get("SegmentLabel") or f"label_{i.SegmentNumber}")
            for i in seg.SegmentSequence
        }
    return to_label, names


def _frames_on_grid(seg: Dataset, reference: Volume) -> np.ndarray | None:
    """Slice index of every frame when the SEG frames are exactly reference slices, else None."""
    shared = seg.SharedFunctionalGroupsSequence[0]
    try:
        iop = [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
        spacing = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
        positions = np.array(
            [
                [float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient]
                for fg in seg.PerFrameFunctionalGroupsSequence
            ]
        )
    except (AttributeError, IndexError):
        return None
    dmat = reference.direction_matrix
    if (int(seg.Rows), int(seg.Columns)) != reference.shape[1:]:
        return None
    if not np.allclose(iop, [*dmat[:, 0], *dmat[:, 1]], atol=1e-4):
        return None
    if not np.allclose(spacing, [reference.spacing_mm[1], reference.spacing_mm[0]], atol=1e-3):
        return None
    ijk = reference.lps_to_index(positions)
    k = np.rint(ijk[:, 2])
    if (
        np.abs(ijk[:, :2]).max(initial=0) > 1e-2
        or np.abs(ijk[:, 2] - k).max(initial=0) > 1e-2
        or k.min(initial=0) < 0
        or k.max(initial=0) >= reference.shape[0]
    ):
        return None
    return k.astype(int)


def read_seg(path: PathLike, reference: Volume) -> tuple[Volume, dict[int, str]]:
    """Read a DICOM SEG as an integer label volume on the ``reference`` (PET) grid.

    Frames that lie exactly on reference slices are placed directly (pixel-exact);
    any other geometry is rebuilt as a 3-D volume by highdicom and resampled onto
    the reference grid with nearest-neighbour interpolation. Where segments overlap
    the highest segment number wins. Fractional segments count where ≥ 50 %.

    Parameters
    ----------
    path
        The SEG file.
    reference
        The grid to return the labels on (normally the PET volume).

    Returns
    -------
    (Volume, dict)
        Labels (int32, unit ``"label"``) and ``{label: segment label}``; label numbers
        are those :func:`write_seg` was given, else the segment numbers.

    Raises
    ------
    InputError
        Not a readable DICOM SEG.
    GeometryError
        The SEG's frame of reference differs from the reference's.
    """
    import highdicom as hd

    p = Path(path)
    if not p.exists():
        raise InputError("DICOM SEG file not found", file=p)
    try:
        seg = hd.seg.segread(str(p))
    except Exception as exc:  # pydicom/highdicom raise many types for bad files
        raise InputError(
            f"not a readable DICOM Segmentation ({type(exc).__name__}: {exc})", file=p
        ) from None
    for_uid = str(seg.get("FrameOfReferenceUID") or "") or None
    if reference.frame_of_reference_uid and for_uid and for_uid != reference.frame_of_reference_uid:
        raise GeometryError(
            "the SEG belongs to another frame of reference than the reference image",
            file=p,
            field="FrameOfReferenceUID",
            value=for_uid,
        )
    to_label, names = _segment_labels(seg)
    out = np.zeros(reference.shape, dtype=np.int32)
    slices = _frames_on_grid(seg, reference)
    if slices is not None:
        pixels = np.asarray(seg.pixel_array)
        if pixels.ndim == 2:
            pixels = pixels[None]
        fractional = str(seg.SegmentationType) == "FRACTIONAL"
        max_value = float(seg.get("MaximumFractionalValue") or 1.0)
        shared = seg.SharedFunctionalGroupsSequence[0]
        numbers = [
            # A single-segment SEG may keep the segment identification in the shared group.
            int(
                (fg if "SegmentIdentificationSequence" in fg else shared)
                .SegmentIdentificationSequence[0]
                .ReferencedSegmentNumber
            )
            for fg in seg.PerFrameFunctionalGroupsSequence
        ]
        for frame, (k, number) in sorted(
            enumerate(zip(slices, numbers, strict=True)), key=lambda t: t[1][1]
        ):
            inside = pixels[frame] * 2 >= max_value if fractional else pixels[frame] > 0
            out[k][inside] = to_label[number]
        return reference.with_array(out, "label"), names
    try:
        hvol = seg.get_volume(combine_segments=True, relabel=False, skip_overlap_checks=True)
    except Exception as exc:  # highdicom raises ValueError / RuntimeError for odd stacks
        raise InputError(
            f"cannot rebuild the SEG as a 3-D volume ({type(exc).__name__}: {exc})", file=p
        ) from None
    arr = np.asarray(hvol.array).astype(np.int32)
    lut = np.zeros(max(to_label, default=0) + 1, dtype=np.int32)
    for number, label in to_label.items():
        lut[number] = label
    arr = lut[np.clip(arr, 0, len(lut) - 1)]
    aff = np.asarray(hvol.affine, dtype=float)  # (axis0, axis1, axis2, 1) → LPS mm
    cols = aff[:3, [2, 1, 0]]  # Volume index (i, j, k) = (axis2, axis1, axis0)
    spacing = np.linalg.norm(cols, axis=0)
    vol = Volume(
        np.ascontiguousarray(arr),
        tuple(spacing),
        tuple(aff[:3, 3]),
        tuple((cols / spacing).ravel()),
        unit="label",
        frame_of_reference_uid=for_uid,
    )
    moved = vol.resample_like(reference, interpolator="nearest")
    return reference.with_array(np.asarray(moved.array, dtype=np.int32), "label"), names
