"""Tests of immunopet.regions labels, TotalSegmentator names, merging, blood pool."""

from __future__ import annotations

import json
import warnings

import nibabel as nib
import numpy as np
import pytest

from immunopet.core.errors import GeometryError, ImmunopetWarning, InputError
from immunopet.core.volume import Volume
from immunopet.regions import (
    TOTALSEGMENTATOR_V2_TOTAL,
    LabelMap,
    blood_pool,
    erode_mm,
    fractional_occupancy,
    label_names_from,
    labels_on_pet_grid,
    load_label_map,
    merge_labels,
    to_immunopet_organs,
)


def test_totalsegmentator_v2_total_table():
    # TotalSegmentator v2 map_to_binary.py class_map["total"]: 117 classes.
    t = TOTALSEGMENTATOR_V2_TOTAL
    assert len(t) == 117 and sorted(t) == list(range(1, 118))
    assert (t[1], t[2], t[3], t[5], t[17], t[21]) == (
        "spleen",
        "kidney_right",
        "kidney_left",
        "liver",
        "thyroid_gland",
        "urinary_bladder",
    )
    assert (t[51], t[52], t[90], t[92], t[115], t[116], t[117]) == (
        "heart",
        "aorta",
        "brain",
        "rib_left_1",
        "rib_right_12",
        "sternum",
        "costal_cartilages",
    )
    assert len(set(t.values())) == 117


def _ct_labels(frame="1.2.3"):
    arr = np.zeros((30, 40, 40), np.int16)
    arr[5:15, 5:15, 5:12] = 2  # kidney_right
    arr[5:15, 5:15, 25:32] = 3  # kidney_left
    arr[18:28, 10:30, 10:30] = 5  # liver
    arr[2:4, 30:35, 30:35] = 88  # iliopsoas_left
    vol = Volume(arr, (2.0, 2.0, 2.0), origin_mm=(-40.0, -40.0, 0.0), frame_of_reference_uid=frame)
    return LabelMap(vol, label_names_from("totalsegmentator"), source="ct_seg.nii.gz")


def test_merge_to_immunopet_organs():
    lm = to_immunopet_organs(_ct_labels())
    names = set(lm.names.values())
    assert {"kidneys", "liver", "muscle", "lungs", "adrenals", "oesophagus"} <= names
    assert "kidney_left" not in names
    kid = lm.mask("kidneys")
    assert kid.sum() == 2 * 10 * 10 * 7
    assert lm.mask("muscle").sum() == 2 * 5 * 5


def test_merge_labels_generic():
    arr = np.array([[[0, 1, 2, 3, 7]]])
    lm = LabelMap(Volume(arr, (1, 1, 1)), {1: "a", 2: "b", 3: "c"})
    out = merge_labels(lm, {"a": "ab", "b": "ab"})
    assert out.names == {1: "ab", 2: "c"}
    np.testing.assert_array_equal(out.array.ravel(), [0, 1, 1, 2, 0])


def test_user_json_names(tmp_path):
    p = tmp_path / "names.json"
    p.write_text(json.dumps({"1": "liver", "7": "spleen"}))
    assert label_names_from(p) == {1: "liver", 7: "spleen"}
    p.write_text(json.dumps({"x": "liver"}))
    with pytest.raises(InputError, match="names.json"):
        label_names_from(p)
    p.write_text("{not json")
    with pytest.raises(InputError, match="names.json"):
        label_names_from(p)


def _pet(frame="1.2.3", origin=(-39.0, -39.0, 1.0)):
    return Volume(
        np.zeros((15, 20, 20)), (4.0, 4.0, 4.0), origin_mm=origin, frame_of_reference_uid=frame
    )


def test_resample_ct_labels_to_pet_grid():
    ct = _ct_labels()
    lm = LabelMap(ct.volume, {2: "kidney_right", 3: "kidney_left", 5: "liver"}, source="seg")
    # Rule (issue 11): a label map on another grid is resampled with a warning saying so.
    with pytest.warns(ImmunopetWarning, match="resampled onto the PET grid"):
        on_pet = labels_on_pet_grid(lm, _pet())
    assert on_pet.volume.same_grid(_pet())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)  # already on the grid: silent
        labels_on_pet_grid(on_pet, _pet())
    # liver: 10 × 20 × 20 CT voxels of 8 mm³ = 32 mL; nearest-neighbour keeps it exactly here
    liver_ml = (on_pet.array == 5).sum() * 64 / 1000
    assert liver_ml == pytest.approx(32.0)


def test_other_frame_of_reference_is_refused():
    lm = _ct_labels(frame="9.9.9")
    with pytest.raises(GeometryError, match="ct_seg.nii.gz.*FrameOfReferenceUID"):
        labels_on_pet_grid(lm, _pet())


def test_no_overlap_is_refused():
    lm = _ct_labels()
    with pytest.raises(GeometryError, match="ct_seg.nii.gz.*does not overlap"):
        labels_on_pet_grid(lm, _pet(origin=(500.0, 0.0, 0.0)))


def test_label_lost_on_pet_grid_warns():
    arr = np.zeros((30, 40, 40), np.int16)
    arr[18:28, 10:30, 10:30] = 1
    arr[0, 0, 0] = 2  # a one-voxel label at the corner, outside the PET field of view
    lm = LabelMap(
        Volume(arr, (2.0, 2.0, 2.0), origin_mm=(-40.0, -40.0, 0.0)), {1: "liver", 2: "speck"}
    )
    with pytest.warns(ImmunopetWarning, match="speck"):
        labels_on_pet_grid(lm, _pet(origin=(-30.0, -30.0, 10.0)))


def test_nifti_roundtrip_keeps_lps_geometry(tmp_path):
    arr = np.zeros((6, 7, 8), np.int16)
    arr[2, 3, 4] = 1
    aff_ras = np.array(
        [[-2.0, 0, 0, 50.0], [0, -3.0, 0, 60.0], [0, 0, 4.0, -10.0], [0, 0, 0, 1]]
    )  # LPS origin (−50, −60, −10)
    p = tmp_path / "labels.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(arr, (2, 1, 0)), aff_ras), str(p))
    lm = load_label_map(p, {1: "liver"})
    assert lm.volume.spacing_mm == (2.0, 3.0, 4.0)
    np.testing.assert_allclose(lm.volume.origin_mm, (-50.0, -60.0, -10.0))
    np.testing.assert_allclose(lm.volume.index_to_lps([4, 3, 2]), (-42.0, -51.0, -2.0))
    assert lm.mask("liver").sum() == 1
    with pytest.warns(ImmunopetWarning, match="spleen"):
        load_label_map(p, {1: "liver", 2: "spleen"})


def test_non_integer_label_file_refused(tmp_path):
    p = tmp_path / "float.nii.gz"
    nib.save(nib.Nifti1Image(np.full((3, 3, 3), 0.5, np.float32), np.eye(4)), str(p))
    with pytest.raises(InputError, match="float.nii.gz"):
        load_label_map(p)
    with pytest.raises(InputError, match="not found"):
        load_label_map(tmp_path / "missing.nii.gz")


def test_fractional_occupancy_box_fraction():
    ct = Volume(np.zeros((16, 16, 16), np.int16), (1.0, 1.0, 1.0))
    arr = np.zeros(ct.shape, np.int16)
    arr[:, :, :6] = 1  # x centres 0..5 → covers x ∈ [−0.5, 5.5] mm
    lm = LabelMap(ct.with_array(arr, "label"), {1: "a"})
    pet = Volume(np.zeros((4, 4, 4)), (4.0, 4.0, 4.0), origin_mm=(1.5, 1.5, 1.5))
    pv = fractional_occupancy(lm, pet, supersample=4)
    frac = np.zeros(pet.shape)
    frac.ravel()[pv.voxel_index] = pv.fraction
    # PET voxel i=0 spans x ∈ [−0.5, 3.5] (full), i=1 spans [3.5, 7.5] (half covered)
    np.testing.assert_allclose(frac[:, :, 0], 1.0)
    np.testing.assert_allclose(frac[:, :, 1], 0.5)
    np.testing.assert_allclose(frac[:, :, 2:], 0.0)
    assert pv.majority_label_map().array[:, :, 0].all()


def test_erode_mm_anisotropic_sphere():
    spacing = (1.0, 1.0, 2.0)
    kk, jj, ii = np.indices((40, 60, 60), dtype=float)
    r = np.sqrt((ii - 30) ** 2 + (jj - 30) ** 2 + ((kk - 20) * 2) ** 2)
    ball = r <= 20
    eroded = erode_mm(ball, spacing, 5.0)
    rr = r[eroded]
    assert rr.max() <= 15.0 + 1.0 and rr.max() >= 15.0 - 1.0
    assert not erode_mm(ball, spacing, 25.0).any()


def test_blood_pool_from_heart():
    arr = np.zeros((30, 30, 30), np.int16)
    kk, jj, ii = np.indices(arr.shape)
    arr[((ii - 15) ** 2 + (jj - 15) ** 2 + (kk - 15) ** 2) * 4 <= 24**2] = 51  # heart, r = 24 mm
    arr[0:3, 0:3, 0:3] = 5
    lm = LabelMap(Volume(arr, (2.0, 2.0, 2.0)), {51: "heart", 5: "liver"})
    blood = blood_pool(lm, margin_mm=6.0)
    assert blood.region_kind == "blood" and blood.names == {1: "blood"}
    d = np.sqrt((ii - 15) ** 2 + (jj - 15) ** 2 + (kk - 15) ** 2) * 2
    assert blood.array.any() and d[blood.array == 1].max() <= 24 - 6 + 2
    with pytest.raises(InputError, match="heart"):
        blood_pool(LabelMap(lm.volume, {5: "liver"}))
    with pytest.warns(ImmunopetWarning, match="empty"):
        blood_pool(lm, margin_mm=30.0)


def _write_seg(tmp_path, ct: Volume, lab: np.ndarray):
    """A DICOM SEG (highdicom) of ``lab`` on a CT series written for ``ct``."""
    import warnings

    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    from immunopet.io.dicom_write import write_ct_series

    dss = [pydicom.dcmread(f) for f in write_ct_series(ct, tmp_path / "ct")]
    for ds in dss:  # type-2 attributes highdicom copies from the source images
        for kw in ("PatientBirthDate", "PatientSex", "AccessionNumber", "ReferringPhysicianName"):
            setattr(ds, kw, getattr(ds, kw, ""))
        ds.StudyID = getattr(ds, "StudyID", "1")
    dss.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    descs = [
        hd.seg.SegmentDescription(
            segment_number=i,
            segment_label=name,
            segmented_property_category=codes.SCT.Organ,
            segmented_property_type=codes.SCT.Liver,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for i, name in ((1, "liver"), (2, "spleen"))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        seg = hd.seg.Segmentation(
            source_images=dss,
            pixel_array=lab,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descs,
            series_instance_uid=hd.UID(),
            series_number=5,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="immunopet",
            manufacturer_model_name="test",
            software_versions="0",
            device_serial_number="1",
        )
    path = tmp_path / "organs_seg.dcm"
    seg.save_as(path)
    return path


def test_dicom_seg_labels_and_frame_check(tmp_path):
    frame = "1.2.826.0.1.3680043.8.498.1"
    ct = Volume(
        np.zeros((6, 10, 12)),
        (2.0, 2.5, 3.0),
        origin_mm=(-10, -20, 30),
        frame_of_reference_uid=frame,
    )
    lab = np.zeros(ct.shape, np.uint8)
    lab[1:3, 2:5, 3:7] = 1
    lab[4, 6:8, 8:11] = 2
    path = _write_seg(tmp_path, ct, lab)
    lm = load_label_map(path)
    assert lm.names == {1: "liver", 2: "spleen"}
    assert lm.volume.frame_of_reference_uid == frame
    on_ct = labels_on_pet_grid(lm, ct)
    np.testing.assert_array_equal(on_ct.array, lab)
    other = Volume(np.zeros(ct.shape), ct.spacing_mm, ct.origin_mm, frame_of_reference_uid="1.2.3")
    with pytest.raises(GeometryError, match="organs_seg.dcm"):
        labels_on_pet_grid(lm, other)


def test_totalsegmentator_file_drops_absent_classes_silently(tmp_path):
    arr = np.zeros((4, 5, 6), np.int16)
    arr[1, 2, 3] = 5
    arr[2, 2, 3] = 2
    p = tmp_path / "ts.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(arr, (2, 1, 0)), np.eye(4)), str(p))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)
        lm = load_label_map(p, TOTALSEGMENTATOR_V2_TOTAL)
    assert lm.names == {2: "kidney_right", 5: "liver"}
    assert to_immunopet_organs(lm).names == {1: "kidneys", 2: "liver"}
