"""DICOM Segmentation (SEG) export and import of immunopet label volumes.

:func:`write_seg` turns an integer label :class:`~immunopet.core.volume.Volume` on the
PET grid into a *binary* DICOM SEG with one segment per label present, that
references the source PET series (same study, same frame of reference), carries
coded segment properties (:mod:`~immunopet.io.dicom_codes`: DICOM PS3.16 CID 7150
category / CID 7151, 7159 type) and identifies immunopet (name and version) as the
algorithm; :func:`read_seg` reads such a file (or any SEG) back as an integer label
volume, on a reference PET grid or on the SEG's own grid.

DICOM numbers segments 1…N; the immunopet label number, region name and kind are
kept in the free-text Segment Description (0062,0006)
(:func:`~immunopet.io.dicom_codes.label_description`), so that :func:`read_seg`
restores the original label numbers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from ..core.errors import GeometryError, ImmunopetWarning, InputError, UnsupportedDataError
from ..core.volume import Volume
from .dicom_codes import label_description, parse_label_description, segment_coding
from .dicom_source import (
    SourceInput,
    _check_on_grid,
    _filled_sources,
    _software_version,
    load_source_series,
    save_dataset_atomically,
)

__all__ = [
    "SEGMENTATION_SOP_CLASS",
    "read_seg",
    "write_seg",
]

PathLike = str | os.PathLike[str]

SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage


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
    tracking_uids: Mapping[int, str] | None = None,
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
    tracking_uids
        ``{label_number: Tracking UID}`` (0062,0021); give the same UID to the same lesion
        in the SEGs of every time point (:func:`~immunopet.io.dicom_codes.tracking_uid`)
        so that its measurements are one tracked finding. Default: a new UID per segment.

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
            tracking_uid=(tracking_uids or {}).get(label) or generate_uid(),
            tracking_id=name[:64],
        )
        desc.SegmentDescription = label_description(label, name, coding.kind)
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
def _open_seg(path: Path) -> Dataset:
    """The SEG as a :class:`highdicom.seg.Segmentation` (InputError when not one)."""
    import highdicom as hd

    if not path.exists():
        raise InputError("DICOM SEG file not found", file=path)
    try:
        return hd.seg.segread(str(path))
    except Exception as exc:  # pydicom/highdicom raise many types for bad files
        raise InputError(
            f"not a readable DICOM Segmentation ({type(exc).__name__}: {exc})", file=path
        ) from None


def _segment_labels(seg: Dataset) -> tuple[dict[int, int], dict[int, str]]:
    """({segment_number: immunopet label}, {label: name}) from the Segment Sequence."""
    to_label: dict[int, int] = {}
    names: dict[int, str] = {}
    for item in seg.SegmentSequence:
        number = int(item.SegmentNumber)
        parsed = parse_label_description(str(item.get("SegmentDescription") or ""))
        label = parsed[0] if parsed else number
        to_label[number] = label
        names[label] = str(item.get("SegmentLabel") or f"label_{label}")
    if len(set(to_label.values())) != len(to_label):  # inconsistent texts: use segment numbers
        to_label = {n: n for n in to_label}
        names = {
            int(i.SegmentNumber): str(i.get("SegmentLabel") or f"label_{i.SegmentNumber}")
            for i in seg.SegmentSequence
        }
    return to_label, names


def _own_grid(seg: Dataset, path: Path) -> Volume:
    """An empty label volume on the SEG's own grid (right-handed: slices along the normal).

    The grid spans the frames present (highdicom's volume geometry of the frame
    positions); empty slices between them are allowed.
    """
    try:
        geometry = seg.get_volume_geometry(allow_missing_positions=True)
    except Exception:  # highdicom raises several types for odd frame stacks
        geometry = None
    if geometry is None:
        raise InputError("the SEG frames do not form a regularly spaced 3-D volume", file=path)
    aff = np.asarray(geometry.affine, dtype=float)  # (axis0, axis1, axis2, 1) → LPS mm
    shape = tuple(int(n) for n in geometry.spatial_shape)
    cols = aff[:3, [2, 1, 0]]  # Volume index (i, j, k) = (axis2, axis1, axis0)
    origin = aff[:3, 3]
    if np.linalg.det(cols) < 0:
        # Frames stored head-to-feet: count the slices the other way round.
        origin = origin + cols[:, 2] * (shape[0] - 1)
        cols[:, 2] = -cols[:, 2]
    spacing = np.linalg.norm(cols, axis=0)
    if not np.all(spacing > 0):
        raise InputError("the SEG has no usable slice spacing", file=path, value=tuple(spacing))
    return Volume(
        np.zeros(shape, np.int32),
        tuple(spacing),
        tuple(origin),
        tuple((cols / spacing).ravel()),
        unit="label",
        frame_of_reference_uid=str(seg.get("FrameOfReferenceUID") or "") or None,
    )


def _frames_on_grid(seg: Dataset, grid: Volume, tol_voxel: float = 1e-2) -> np.ndarray | None:
    """Slice index of every frame when the SEG frames are slices of ``grid``, else None.

    A frame counts as a slice when its position lies within ``tol_voxel`` voxels of one.
    """
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
    dmat = grid.direction_matrix
    if (int(seg.Rows), int(seg.Columns)) != grid.shape[1:]:
        return None
    if not np.allclose(iop, [*dmat[:, 0], *dmat[:, 1]], atol=1e-4):
        return None
    if not np.allclose(spacing, [grid.spacing_mm[1], grid.spacing_mm[0]], atol=1e-3):
        return None
    ijk = grid.lps_to_index(positions)
    k = np.rint(ijk[:, 2])
    if (
        np.abs(ijk[:, :2]).max(initial=0) > tol_voxel
        or np.abs(ijk[:, 2] - k).max(initial=0) > tol_voxel
        or k.min(initial=0) < 0
        or k.max(initial=0) >= grid.shape[0]
    ):
        return None
    return k.astype(int)


def _place_frames(
    seg: Dataset, grid: Volume, slices: np.ndarray, to_label: dict[int, int]
) -> Volume:
    """Labels on ``grid`` from the SEG frames (frame i is slice ``slices[i]``).

    Frames are painted in segment-number order, so the highest segment number wins
    where segments overlap; fractional segments count where ≥ 50 %.
    """
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
    out = np.zeros(grid.shape, dtype=np.int32)
    for frame, (k, number) in sorted(
        enumerate(zip(slices, numbers, strict=True)), key=lambda t: t[1][1]
    ):
        inside = pixels[frame] * 2 >= max_value if fractional else pixels[frame] > 0
        out[k][inside] = to_label[number]
    return grid.with_array(out, "label")


def read_seg(path: PathLike, reference: Volume | None = None) -> tuple[Volume, dict[int, str]]:
    """Read a DICOM SEG as an integer label volume, on ``reference``'s grid or its own.

    Frames that lie exactly on reference slices are placed directly (pixel-exact);
    any other geometry is first rebuilt on the SEG's own grid (the regularly spaced
    stack of its frames), then resampled onto the reference grid with
    nearest-neighbour interpolation. Where segments overlap the highest segment
    number wins. Fractional segments count where ≥ 50 %.

    Parameters
    ----------
    path
        The SEG file.
    reference
        The grid to return the labels on (normally the PET volume); None: the SEG's
        own grid (right-handed, spanning the frames present), with the SEG's
        frame of reference.

    Returns
    -------
    (Volume, dict)
        Labels (int32, unit ``"label"``) and ``{label: segment label}``; label numbers
        are those :func:`write_seg` was given, else the segment numbers.

    Raises
    ------
    InputError
        Not a readable DICOM SEG, or frames that do not form a 3-D volume.
    GeometryError
        The SEG's frame of reference differs from the reference's.
    """
    p = Path(path)
    seg = _open_seg(p)
    for_uid = str(seg.get("FrameOfReferenceUID") or "") or None
    ref_uid = None if reference is None else reference.frame_of_reference_uid
    if ref_uid and for_uid and for_uid != ref_uid:
        raise GeometryError(
            "the SEG belongs to another frame of reference than the reference image",
            file=p,
            field="FrameOfReferenceUID",
            value=for_uid,
        )
    to_label, names = _segment_labels(seg)
    if reference is not None:
        slices = _frames_on_grid(seg, reference)
        if slices is not None:
            return _place_frames(seg, reference, slices, to_label), names
    own = _own_grid(seg, p)
    # highdicom accepts frame spacings regular to 1 %: place frames on the nearest slice.
    slices = _frames_on_grid(seg, own, tol_voxel=0.25)
    if slices is None:
        raise InputError("cannot place the SEG frames on a 3-D grid", file=p)
    labels = _place_frames(seg, own, slices, to_label)
    if reference is None:
        return labels, names
    moved = labels.resample_like(reference, interpolator="nearest")
    return reference.with_array(np.asarray(moved.array, dtype=np.int32), "label"), names
