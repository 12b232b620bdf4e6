"""DICOM SEG and TID 1500 SR export: codes, references, pixel-exact round trips, SR values.

A small I-124 PET series is written with :func:`write_pet_series`, read back with
:func:`load_scan`; a label volume with two organs (liver, spleen) and one lesion
(label 7, so segment numbers 1…3 differ from the label numbers) is exported as a
SEG, the measurement table of :func:`immunopet.measure.measure` as an SR, and both
are read back with pydicom / highdicom.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import immunopet
from immunopet.core.errors import GeometryError, ImmunopetWarning, InputError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import load_scan
from immunopet.io.dicom_codes import segment_coding
from immunopet.io.dicom_seg import read_seg, write_seg
from immunopet.io.dicom_sr import read_measurement_sr, write_measurement_sr
from immunopet.io.dicom_write import rename_shuffled, write_pet_series
from immunopet.measure import measure
from immunopet.regions import LabelMap, labels_on_pet_grid, load_label_map

INJ = datetime(2024, 3, 1, 9, 0, 0)
NAMES = {1: "liver", 2: "spleen", 7: "lesion_7"}
KINDS = {1: "organ", 2: "organ", 7: "lesion"}


def _acq() -> Acquisition:
    return Acquisition(
        nuclide=Nuclide.from_name("I-124"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=INJ + timedelta(hours=48),
        injection_datetime=INJ,
        injected_activity_bq=74e6,
        patient_weight_kg=70.0,
        patient_height_m=1.75,
        patient_sex="F",
    )


def _labels(shape: tuple[int, int, int]) -> np.ndarray:
    lab = np.zeros(shape, np.int32)
    lab[1:4, 2:6, 1:6] = 1  # liver
    lab[5:8, 1:4, 7:11] = 2  # spleen
    lab[6, 6:8, 3:5] = 7  # lesion
    return lab


@pytest.fixture(scope="module")
def pet(tmp_path_factory):
    """(PET folder, Scan, label Volume on the PET grid)."""
    root = tmp_path_factory.mktemp("pet")
    arr = np.random.default_rng(3).uniform(1000.0, 10_000.0, size=(9, 10, 12))
    arr[6, 6:8, 3:5] = 40_000.0  # hot lesion
    conc = Volume(arr, (3.0, 2.5, 4.0), (5.0, -7.0, 100.0), unit="BQML")
    write_pet_series(conc, _acq(), root / "pet", frame_of_reference_uid="1.2.826.0.1.99.1")
    scan = load_scan(root / "pet")
    return root / "pet", scan, scan.pet.with_array(_labels(scan.pet.shape), "label")


@pytest.fixture(scope="module")
def seg_file(pet, tmp_path_factory):
    folder, _scan, labels = pet
    out = tmp_path_factory.mktemp("out") / "seg.dcm"
    return write_seg(labels, NAMES, folder, out, kinds=KINDS)


def _code(seq) -> tuple[str, str]:
    return str(seq[0].CodeValue), str(seq[0].CodingSchemeDesignator)


# --- SEG ----------------------------------------------------------------------------------
def test_seg_header_codes_and_references(pet, seg_file):
    folder, scan, _labels = pet
    ds = pydicom.dcmread(seg_file)
    pet_ds = pydicom.dcmread(next(folder.iterdir()), stop_before_pixels=True)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"
    assert ds.SegmentationType == "BINARY"
    assert ds.SeriesDescription == "immunopet regions"
    assert ds.StudyInstanceUID == pet_ds.StudyInstanceUID
    assert ds.FrameOfReferenceUID == pet_ds.FrameOfReferenceUID == "1.2.826.0.1.99.1"
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == pet_ds.SeriesInstanceUID
    assert len(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence) == scan.pet.shape[0]
    segs = {int(s.SegmentNumber): s for s in ds.SegmentSequence}
    assert sorted(segs) == [1, 2, 3]
    assert [segs[n].SegmentLabel for n in (1, 2, 3)] == ["liver", "spleen", "lesion_7"]
    # Liver SCT 10200004 / spleen SCT 78961009 under "Anatomical Structure" SCT 91723000.
    assert _code(segs[1].SegmentedPropertyCategoryCodeSequence) == ("91723000", "SCT")
    assert _code(segs[1].SegmentedPropertyTypeCodeSequence) == ("10200004", "SCT")
    assert _code(segs[2].SegmentedPropertyTypeCodeSequence) == ("78961009", "SCT")
    # Lesion: "Morphologically Abnormal Structure" SCT 49755003 / "Neoplasm" SCT 108369006.
    assert _code(segs[3].SegmentedPropertyCategoryCodeSequence) == ("49755003", "SCT")
    assert _code(segs[3].SegmentedPropertyTypeCodeSequence) == ("108369006", "SCT")
    algo = segs[3].SegmentationAlgorithmIdentificationSequence[0]
    assert algo.AlgorithmName == "immunopet"
    assert algo.AlgorithmVersion == immunopet.__version__
    assert segs[3].SegmentAlgorithmType == "AUTOMATIC"
    assert ds.SoftwareVersions == immunopet.__version__


def test_seg_frames_pixel_exact(pet, seg_file):
    """Every frame, placed by its own ImagePositionPatient, equals the label mask."""
    _folder, scan, labels = pet
    ds = pydicom.dcmread(seg_file)
    pixels = ds.pixel_array
    lab = np.asarray(labels.array)
    label_of_segment = {1: 1, 2: 2, 3: 7}
    seen = np.zeros(lab.shape, np.int32)
    for frame, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
        ipp = [float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient]
        i, j, k = np.rint(scan.pet.lps_to_index(ipp)).astype(int)
        assert (i, j) == (0, 0)
        number = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        np.testing.assert_array_equal(pixels[frame] > 0, lab[k] == label_of_segment[number])
        seen[k][pixels[frame] > 0] = label_of_segment[number]
    np.testing.assert_array_equal(seen, lab)
    # Empty frames are omitted: one frame per (slice, segment) pair holding voxels.
    expected = sum(int(np.any(lab[k] == n)) for k in range(lab.shape[0]) for n in (1, 2, 7))
    assert int(ds.NumberOfFrames) == expected


def test_read_seg_round_trip_exact(pet, seg_file):
    _folder, scan, labels = pet
    back, names = read_seg(seg_file, scan.pet)
    assert names == NAMES
    assert back.same_grid(scan.pet)
    assert back.unit == "label"
    np.testing.assert_array_equal(back.array, labels.array)


def test_read_seg_onto_cropped_grid(pet, seg_file):
    """Another grid (shifted by whole voxels) goes through highdicom's volume + resampling."""
    _folder, scan, labels = pet
    pet_vol = scan.pet
    ref = Volume(
        np.zeros((6, 7, 9)),
        pet_vol.spacing_mm,
        tuple(pet_vol.index_to_lps([2, 1, 2])),
        pet_vol.direction,
        frame_of_reference_uid=pet_vol.frame_of_reference_uid,
    )
    back, _names = read_seg(seg_file, ref)
    np.testing.assert_array_equal(back.array, np.asarray(labels.array)[2:8, 1:8, 2:11])


def test_read_seg_highdicom_volume_agrees(pet, seg_file):
    """highdicom's own reader sees three segments and the same voxel counts."""
    _folder, _scan, labels = pet
    seg = hd.seg.segread(str(seg_file))
    assert list(seg.get_segment_numbers()) == [1, 2, 3]
    vol = seg.get_volume(combine_segments=True, relabel=False)
    counts = np.bincount(np.asarray(vol.array).ravel().astype(int), minlength=4)[1:]
    lab = np.asarray(labels.array)
    assert counts.tolist() == [int((lab == n).sum()) for n in (1, 2, 7)]


def test_write_seg_from_datasets_matches_folder(pet, tmp_path):
    """Header-only datasets in shuffled order give the same segmentation as the folder."""
    folder, scan, labels = pet
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    for f in folder.iterdir():
        (copy_dir / f.name).write_bytes(f.read_bytes())
    files = rename_shuffled(sorted(copy_dir.iterdir()), seed=4)
    datasets = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    out = write_seg(labels, NAMES, datasets, tmp_path / "seg.dcm", kinds=KINDS)
    back, _ = read_seg(out, scan.pet)
    np.testing.assert_array_equal(back.array, labels.array)
    assert not list(tmp_path.glob("*.part")), "temporary file left behind"


def test_wrong_grid_raises_geometry_error(pet, tmp_path):
    folder, scan, labels = pet
    shifted = Volume(
        labels.array,
        labels.spacing_mm,
        (labels.origin_mm[0] + 3.0, *labels.origin_mm[1:]),
        labels.direction,
        unit="label",
    )
    with pytest.raises(GeometryError) as err:
        write_seg(shifted, NAMES, folder, tmp_path / "seg.dcm")
    assert str(folder) in str(err.value) and "origin" in str(err.value)
    cropped = Volume(
        np.asarray(labels.array)[1:], labels.spacing_mm, labels.origin_mm, labels.direction
    )
    with pytest.raises(GeometryError, match="shape"):
        write_seg(cropped, NAMES, folder, tmp_path / "seg.dcm")
    other_frame = Volume(
        labels.array,
        labels.spacing_mm,
        labels.origin_mm,
        labels.direction,
        frame_of_reference_uid="1.2.3.4",
    )
    with pytest.raises(GeometryError, match="frame of reference"):
        write_seg(other_frame, NAMES, folder, tmp_path / "seg.dcm")
    assert not (tmp_path / "seg.dcm").exists()


def test_read_seg_refuses_other_frame_of_reference(pet, seg_file):
    _folder, scan, _labels = pet
    other = Volume(
        np.zeros(scan.pet.shape),
        scan.pet.spacing_mm,
        scan.pet.origin_mm,
        scan.pet.direction,
        frame_of_reference_uid="1.2.3.4",
    )
    with pytest.raises(GeometryError, match="frame of reference"):
        read_seg(seg_file, other)


def test_empty_labels_and_failed_write_leave_nothing(pet, tmp_path):
    folder, _scan, labels = pet
    with pytest.raises(InputError, match="no labelled voxel"):
        write_seg(
            labels.with_array(np.zeros(labels.shape, np.int32)), NAMES, folder, tmp_path / "a.dcm"
        )
    target = tmp_path / "is_a_dir.dcm"
    target.mkdir()
    with pytest.raises(OSError):
        write_seg(labels, NAMES, folder, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is_a_dir.dcm"]


def test_unnamed_and_empty_labels_warn(pet, tmp_path):
    folder, scan, labels = pet
    with pytest.warns(ImmunopetWarning) as record:
        out = write_seg(labels, {1: "liver", 2: "spleen", 9: "kidneys"}, folder, tmp_path / "s.dcm")
    text = " ".join(str(w.message) for w in record)
    assert "[7]" in text and "kidneys" in text
    _back, names = read_seg(out, scan.pet)
    assert names == {1: "liver", 2: "spleen", 7: "label_7"}


def test_overlapping_layers_keep_lesion_inside_organ(pet, tmp_path):
    """A lesion inside the liver stays in the liver segment (as measure() counts it)."""
    folder, scan, labels = pet
    organs = np.where(np.asarray(labels.array) == 7, 0, np.asarray(labels.array))
    lesion = np.zeros(organs.shape, np.int32)
    lesion[2, 3:5, 2:4] = 7  # inside the liver block [1:4, 2:6, 1:6]
    layers = [labels.with_array(organs), labels.with_array(lesion)]
    out = write_seg(layers, NAMES, folder, tmp_path / "seg.dcm", kinds=KINDS)
    seg = hd.seg.segread(str(out))
    liver = seg.get_volume(segment_numbers=[1], combine_segments=True, relabel=False)
    les = seg.get_volume(segment_numbers=[3], combine_segments=True, relabel=False)
    assert int(np.count_nonzero(liver.array)) == int((organs == 1).sum()) == 60
    assert int(np.count_nonzero(les.array)) == 4
    back, _ = read_seg(out, scan.pet)  # one label per voxel: the highest label wins
    np.testing.assert_array_equal(back.array, np.where(lesion > 0, lesion, organs))
    with pytest.raises(InputError, match="label 7 is used in label volumes 0 and 1"):
        write_seg([labels, labels.with_array(lesion)], NAMES, folder, tmp_path / "x.dcm")


def test_load_label_map_restores_label_numbers_and_names(pet, seg_file):
    """regions.load_label_map reads a write_seg SEG with labels 1, 2, 7 (segments 1…3)."""
    _folder, scan, labels = pet
    lm = load_label_map(seg_file)
    assert lm.names == NAMES
    assert sorted(lm.present_labels().tolist()) == [1, 2, 7]
    # Own grid: the slab of slices 1…7 holding segment frames, on the PET lattice.
    assert lm.volume.shape == (7, *scan.pet.shape[1:])
    np.testing.assert_allclose(lm.volume.origin_mm, scan.pet.index_to_lps([0, 0, 1]), atol=1e-6)
    assert lm.volume.frame_of_reference_uid == scan.pet.frame_of_reference_uid
    on_pet = labels_on_pet_grid(lm, scan.pet)
    np.testing.assert_array_equal(on_pet.array, labels.array)
    assert on_pet.mask("lesion_7").sum() == int((np.asarray(labels.array) == 7).sum()) == 4


def test_load_label_map_reads_overlapping_segments(pet, tmp_path):
    """Overlapping layers (lesion inside the liver) load with the highest label winning."""
    folder, scan, labels = pet
    organs = np.where(np.asarray(labels.array) == 7, 0, np.asarray(labels.array))
    lesion = np.zeros(organs.shape, np.int32)
    lesion[2, 3:5, 2:4] = 7  # inside the liver block [1:4, 2:6, 1:6]
    out = write_seg(
        [labels.with_array(organs), labels.with_array(lesion)],
        NAMES,
        folder,
        tmp_path / "seg.dcm",
        kinds=KINDS,
    )
    lm = labels_on_pet_grid(load_label_map(out), scan.pet)
    assert lm.names == NAMES
    np.testing.assert_array_equal(lm.array, np.where(lesion > 0, lesion, organs))


@pytest.mark.parametrize(
    ("name", "kind", "category", "prop"),
    [
        ("kidneys", None, "91723000", "64033007"),
        ("urinary_bladder_contents", None, "91723000", "89837001"),
        ("lesion_3", None, "49755003", "108369006"),
        ("node_left", "lesion", "49755003", "108369006"),
        ("blood", "blood", "91720002", "87612001"),
        ("remainder", None, "85756007", "85756007"),
        ("whole_body", None, "91723000", "38266002"),
    ],
)
def test_segment_coding(name, kind, category, prop):
    coding = segment_coding(name, kind)
    assert (str(coding.category.value), str(coding.property_type.value)) == (category, prop)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**31 - 1), n_labels=st.integers(1, 5))
def test_random_label_maps_round_trip(pet, tmp_path, seed, n_labels):
    folder, scan, _labels = pet
    rng = np.random.default_rng(seed)
    numbers = rng.choice(np.arange(1, 300), size=n_labels, replace=False)
    lab = np.where(
        rng.random(scan.pet.shape) < 0.5, rng.choice(numbers, size=scan.pet.shape), 0
    ).astype(np.int32)
    lab.flat[0] = numbers[0]
    names = {int(n): f"region_{int(n)}" for n in numbers if np.any(lab == n)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)
        out = write_seg(scan.pet.with_array(lab, "label"), names, folder, tmp_path / f"{seed}.dcm")
    back, back_names = read_seg(out, scan.pet)
    np.testing.assert_array_equal(back.array, lab)
    assert back_names == names


# --- SR -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table(pet):
    _folder, scan, labels = pet
    lab = np.asarray(labels.array)
    organs = LabelMap(labels.with_array(np.where(lab == 7, 0, lab)), {1: "liver", 2: "spleen"})
    lesions = LabelMap(labels.with_array(np.where(lab == 7, 7, 0)), {7: "lesion_7"}, "lesion")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImmunopetWarning)  # no muscle/blood reference here
        return measure(scan, [organs, lesions])


def _value(table, region, metric) -> float:
    row = table[(table.region == region) & (table.metric == metric)]
    assert len(row) == 1
    return float(row.value.iloc[0])


def _long_code(code) -> str:
    """CodeValue, or LongCodeValue for codes over 16 characters (PS3.3 8.8)."""
    return str(code.get("CodeValue") or code.get("LongCodeValue"))


def _num_items(item):
    """Yield (tracking identifier, NUM content item) pairs of every measurement group."""
    for group in item.ContentSequence:
        if (
            group.ValueType == "CONTAINER"
            and group.ConceptNameCodeSequence[0].CodeValue == "126010"
        ):
            for mg in group.ContentSequence:
                ident = next(
                    str(c.TextValue)
                    for c in mg.ContentSequence
                    if c.ConceptNameCodeSequence[0].CodeValue == "112039"
                )
                for c in mg.ContentSequence:
                    if c.ValueType == "NUM":
                        yield ident, mg, c


def test_sr_lesion_suvmax_equals_table(pet, seg_file, table, tmp_path):
    folder, scan, _labels = pet
    out = write_measurement_sr(
        table, seg_file, folder, tmp_path / "sr.dcm", subject=scan.subject_id, scan_id=scan.scan_id
    )
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert ds.ConceptNameCodeSequence[0].CodeValue == "126000"  # Imaging Measurement Report
    suvmax = [
        (mg, float(c.MeasuredValueSequence[0].NumericValue), c)
        for ident, mg, c in _num_items(ds)
        if ident == "lesion_7"
        and c.ConceptNameCodeSequence[0].CodeValue == "126401"  # SUVbw
        and any(
            m.ConceptNameCodeSequence[0].CodeValue == "121401"  # Derivation
            and m.ConceptCodeSequence[0].CodeValue == "56851009"  # Maximum
            for m in c.get("ContentSequence", [])
        )
    ]
    assert len(suvmax) == 1
    group, value, item = suvmax[0]
    expected = _value(table, "lesion_7", "suv_max")
    print(f"lesion SUVmax: table {expected:.10g}, SR {value:.10g}")
    assert value == pytest.approx(expected, rel=1e-9)
    unit = item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0]
    assert (unit.CodeValue, unit.CodingSchemeDesignator) == ("g/ml{SUVbw}", "UCUM")
    # The group references segment 3 (label 7) of the SEG.
    seg_uid = pydicom.dcmread(seg_file, stop_before_pixels=True).SOPInstanceUID
    refs = [c for c in group.ContentSequence if c.ValueType == "IMAGE"]
    sop = refs[0].ReferencedSOPSequence[0]
    assert sop.ReferencedSOPInstanceUID == seg_uid
    assert int(sop.ReferencedSegmentNumber) == 3


def test_sr_read_back_all_metrics(pet, seg_file, table, tmp_path):
    folder, scan, _labels = pet
    out = write_measurement_sr(
        table, seg_file, folder, tmp_path / "sr.dcm", subject=scan.subject_id, scan_id=scan.scan_id
    )
    back = read_measurement_sr(out)
    assert set(back.region) == {"liver", "spleen", "lesion_7", "whole_body"}
    assert dict(zip(back.region, back.segment_number, strict=True)) == {
        "liver": 1,
        "spleen": 2,
        "lesion_7": 3,
        "whole_body": 0,
    }
    for row in back.itertuples():
        assert row.value == pytest.approx(_value(table, row.region, row.metric), rel=1e-9)
    assert set(back.metric) == {"suv_max", "suv_mean", "suv_peak", "suv_sd", "volume_ml"}
    vol = back[(back.region == "liver") & (back.metric == "volume_ml")]
    assert vol.unit.iloc[0] == "ml"
    assert vol.value.iloc[0] == pytest.approx(3 * 4 * 5 * 3.0 * 2.5 * 4.0 / 1000.0)
    assert not list(tmp_path.glob("*.part"))


def test_sr_errors(pet, seg_file, table, tmp_path):
    folder, scan, labels = pet
    with pytest.raises(InputError, match="no measurement rows"):
        write_measurement_sr(
            table, seg_file, folder, tmp_path / "sr.dcm", subject="nobody", scan_id=scan.scan_id
        )
    extra = table.copy()
    extra.loc[extra.region == "spleen", "region"] = "pancreas"
    with pytest.warns(ImmunopetWarning, match="pancreas"):
        write_measurement_sr(
            extra,
            seg_file,
            folder,
            tmp_path / "sr.dcm",
            subject=scan.subject_id,
            scan_id=scan.scan_id,
        )
    # A SEG made on another PET series is refused.
    other = tmp_path / "other"
    write_pet_series(scan.pet, _acq(), other, frame_of_reference_uid="1.2.826.0.1.99.1")
    with pytest.raises(InputError, match="not made on the PET series"):
        write_measurement_sr(
            table,
            seg_file,
            other,
            tmp_path / "sr2.dcm",
            subject=scan.subject_id,
            scan_id=scan.scan_id,
        )
    with pytest.raises(InputError):
        write_measurement_sr(
            table,
            next(Path(folder).iterdir()),
            folder,
            tmp_path / "sr3.dcm",
            subject=scan.subject_id,
            scan_id=scan.scan_id,
        )


def test_sr_codes_follow_suv_flavour(pet, seg_file, table, tmp_path):
    """SUL rows → SUVlbm(Janma) DCM 126405 in g/ml{SUVlbm(Janma)} (PS3.16 CID 218 / CID 85)."""
    folder, scan, _labels = pet
    sul = table.copy()
    sul.loc[sul.unit == "SUVbw", "unit"] = "SUL"
    out = write_measurement_sr(
        sul, seg_file, folder, tmp_path / "sr.dcm", subject=scan.subject_id, scan_id=scan.scan_id
    )
    concepts = {
        (
            c.ConceptNameCodeSequence[0].CodeValue,
            _long_code(c.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0]),
        )
        for _ident, _mg, c in _num_items(pydicom.dcmread(out))
    }
    assert concepts == {("126405", "g/ml{SUVlbm(Janma)}"), ("118565006", "ml")}
