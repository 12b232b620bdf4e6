"""DICOM ingest: vendor conventions, geometry, rescale, and every refusal.

Each vendor series is generated with pydicom (through :mod:`immunopet.io.dicom_write`,
then edited with pydicom where a test needs a specific header). Expected SUVbw
factors are derived by hand from the QIBA vendor-neutral pseudo-code with the
ICRP-107 half-life written out — not by calling :mod:`immunopet.quant`.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st

from immunopet import quant
from immunopet.core.errors import (
    AmbiguousTimeError,
    ConflictingFieldsError,
    GeometryError,
    ImmunopetWarning,
    InputError,
    InvalidValueError,
    UnknownNuclideError,
    UnsupportedDataError,
)
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import apply_overrides, find_series, load_scan, load_volume
from immunopet.io.dicom_write import (
    PHILIPS_ACTIVITY_SCALE,
    rename_shuffled,
    write_ct_series,
    write_pet_series,
)
from immunopet.io.nifti import nifti_acquisition
from immunopet.io.pet_header import parse_dt, parse_utc_offset

I124_HALF_LIFE_S = 4.176 * 86400.0  # ICRP-107
INJ = datetime(2024, 3, 1, 9, 0, 0)
WEIGHT_KG, DOSE_BQ = 70.0, 74e6


def hand_factor(hours: float, *, decay: bool = True, scale: float = 1.0) -> float:
    """QIBA: SUVbw factor = scale · weight_g / (dose · 2^(−Δt/T½)) (Δt = 0 for ADMIN)."""
    dt_s = hours * 3600.0 if decay else 0.0
    return scale * WEIGHT_KG * 1000.0 / (DOSE_BQ * 2.0 ** (-dt_s / I124_HALF_LIFE_S))


def conc_volume(seed: int = 0, direction=None) -> Volume:
    rng = np.random.default_rng(seed)
    arr = rng.uniform(500.0, 20_000.0, size=(9, 6, 7))
    kw = {} if direction is None else {"direction": direction}
    return Volume(arr, (2.5, 3.0, 4.0), (-12.0, 30.0, -55.0), unit="BQML", **kw)


def pet_acq(hours: float = 48.0, **kw) -> Acquisition:
    base = dict(
        nuclide=Nuclide.from_name("I-124"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=INJ + timedelta(hours=hours),
        injection_datetime=INJ,
        injected_activity_bq=DOSE_BQ,
        patient_weight_kg=WEIGHT_KG,
        patient_height_m=1.75,
        patient_sex="M",
        frame_duration_s=600.0,
    )
    base.update(kw)
    return Acquisition(**base)


def edit_all(folder: Path, fn) -> None:
    for f in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(f)
        fn(ds)
        ds.save_as(f)


def quantisation_tol(vol: Volume) -> float:
    return float(np.max(vol.array)) / 32000.0


@pytest.mark.parametrize(
    ("flavour", "decay", "scale"),
    [
        ("siemens", "START", 1.0),  # QIBA: BQML, DecayCorrection START, SeriesTime = scan start
        ("ge", "START", 1.0),  # QIBA: SeriesTime after earliest AcquisitionTime → acquisition time
        ("philips", "START", PHILIPS_ACTIVITY_SCALE),  # QIBA: CNTS × (7053,1009) → Bq/mL
        ("generic", "ADMIN", 1.0),  # QIBA: DecayCorrection ADMIN → dose not decayed
    ],
)
def test_vendor_convention_suv_factor(tmp_path, flavour, decay, scale):
    vol = conc_volume()
    write_pet_series(
        vol, pet_acq(decay_correction=decay), tmp_path, flavour=flavour, slices_per_bed=3
    )
    scan = load_scan(tmp_path)
    acq = scan.acquisition
    assert acq.scan_start_datetime == INJ + timedelta(hours=48)
    assert acq.decay_correction == decay
    expected = hand_factor(48.0, decay=decay != "ADMIN", scale=scale)
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-6)
    # The concentration physically present at scan start comes back within int16 quantisation.
    back = quant.activity_concentration_at_scan_bq_per_ml(scan).array
    np.testing.assert_allclose(back, vol.array, rtol=0, atol=2 * quantisation_tol(vol))
    # SUVbw voxel values equal the hand-derived decay-corrected concentration · w / D.
    suv = quant.suv_volume(scan).array
    truth = vol.array / 2.0 ** (-(48 * 3600.0) / I124_HALF_LIFE_S) * WEIGHT_KG * 1000.0 / DOSE_BQ
    np.testing.assert_allclose(suv, truth, rtol=1e-3)


def test_ge_series_time_is_late(tmp_path):
    write_pet_series(
        conc_volume(), pet_acq(), tmp_path, flavour="ge", slices_per_bed=3, ge_series_delay_s=2400
    )
    ds = pydicom.dcmread(next(tmp_path.glob("*.dcm")))
    assert ds.SeriesTime.startswith("094000")  # 09:40, 40 min after the real start
    assert load_scan(tmp_path).acquisition.scan_start_datetime == INJ + timedelta(hours=48)


def test_ge_private_scan_datetime_used(tmp_path):
    # QIBA: SeriesTime after acquisition and GE private (0009,100D) present → use the private value.
    write_pet_series(conc_volume(), pet_acq(), tmp_path, flavour="ge", slices_per_bed=3)
    private = (INJ + timedelta(hours=48, minutes=-2)).strftime("%Y%m%d%H%M%S.%f")
    edit_all(
        tmp_path, lambda ds: ds.private_block(0x0009, "GEMS_PETD_01").add_new(0x0D, "DT", private)
    )
    acq = load_scan(tmp_path).acquisition
    assert acq.scan_start_datetime == INJ + timedelta(hours=47, minutes=58)
    assert quant.suv_bw_factor(acq) == pytest.approx(hand_factor(48 - 2 / 60), rel=1e-6)


def test_philips_private_factors_read(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path, flavour="philips")
    acq = load_scan(tmp_path).acquisition
    assert acq.units == "CNTS"
    assert acq.vendor_activity_scale_factor == pytest.approx(PHILIPS_ACTIVITY_SCALE)
    assert acq.vendor_suv_bw_factor == pytest.approx(
        hand_factor(48.0, scale=PHILIPS_ACTIVITY_SCALE), rel=1e-9
    )


def test_philips_suv_factor_only(tmp_path):
    # QIBA: CNTS with only (7053,1000) and no dose → SUVbw = (7053,1000) · rescaled value.
    write_pet_series(conc_volume(), pet_acq(), tmp_path, flavour="philips")

    def strip(ds):
        del ds[0x70531009]
        del ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose

    edit_all(tmp_path, strip)
    acq = load_scan(tmp_path).acquisition
    assert acq.vendor_activity_scale_factor is None and acq.injected_activity_bq is None
    assert quant.suv_bw_factor(acq) == pytest.approx(
        hand_factor(48.0, scale=PHILIPS_ACTIVITY_SCALE), rel=1e-6
    )


def test_start_datetime_preferred_over_start_time(tmp_path):
    # QIBA: RadiopharmaceuticalStartDateTime preferred over RadiopharmaceuticalStartTime.
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    edit_all(
        tmp_path,
        lambda ds: setattr(
            ds.RadiopharmaceuticalInformationSequence[0], "RadiopharmaceuticalStartTime", "113000"
        ),
    )
    acq = load_scan(tmp_path).acquisition
    assert acq.injection_datetime == INJ and not acq.injection_date_inferred
    assert quant.suv_bw_factor(acq) == pytest.approx(hand_factor(48.0), rel=1e-6)


def test_time_only_48h_refused_then_override(tmp_path):
    write_pet_series(conc_volume(), pet_acq(49.0), tmp_path, injection_time_only=True)
    acq = load_scan(tmp_path).acquisition
    assert acq.injection_date_inferred
    assert acq.injection_datetime == datetime(
        2024, 3, 3, 9, 0
    )  # SeriesDate + StartTime: wrong by 2 d
    with pytest.raises(AmbiguousTimeError) as info:
        quant.suv_bw_factor(acq)
    assert info.value.file == str(tmp_path)
    fixed = load_scan(tmp_path, injection_datetime="2024-03-01T09:00:00").acquisition
    assert quant.suv_bw_factor(fixed) == pytest.approx(hand_factor(49.0), rel=1e-6)


def test_overrides_win(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    acq = load_scan(tmp_path, patient_weight_kg=80.0, injected_activity_bq=2 * DOSE_BQ).acquisition
    expected = hand_factor(48.0) * (80.0 / WEIGHT_KG) / 2.0
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-6)


def test_header_values(tmp_path):
    write_pet_series(conc_volume(), pet_acq(tracer="124I-cetuximab"), tmp_path, flavour="siemens")
    acq = load_scan(tmp_path).acquisition
    assert acq.nuclide.name == "I-124"
    assert acq.header_half_life_s == pytest.approx(I124_HALF_LIFE_S)
    assert (acq.patient_weight_kg, acq.patient_height_m, acq.patient_sex) == (70.0, 1.75, "M")
    assert acq.frame_duration_s == 600.0 and acq.manufacturer == "SIEMENS"
    assert acq.tracer == "124I-cetuximab"


def test_nuclide_from_radiopharmaceutical_name(tmp_path):
    write_pet_series(
        conc_volume(),
        pet_acq(tracer="89Zr-girentuximab", nuclide=Nuclide.from_name("Zr-89")),
        tmp_path,
    )
    edit_all(
        tmp_path,
        lambda ds: delattr(
            ds.RadiopharmaceuticalInformationSequence[0], "RadionuclideCodeSequence"
        ),
    )
    assert load_scan(tmp_path).acquisition.nuclide.name == "Zr-89"


def test_header_half_life_mismatch_refused_then_override_warns(tmp_path):
    # Rule (issue 11): a code of one nuclide with the half-life of another is an error
    # naming both; the user's explicit nuclide wins, with a warning.
    write_pet_series(conc_volume(), pet_acq(header_half_life_s=I124_HALF_LIFE_S * 1.05), tmp_path)
    with pytest.raises(ConflictingFieldsError, match="I-124") as info:
        load_scan(tmp_path)
    assert info.value.field == "RadionuclideHalfLife"
    with pytest.warns(ImmunopetWarning, match="RadionuclideHalfLife"):
        scan = load_scan(tmp_path, nuclide="I-124")
    assert scan.acquisition.nuclide.name == "I-124"


# --- geometry -----------------------------------------------------------------------------


def test_slice_order_from_geometry_not_file_names(tmp_path):
    vol = conc_volume(seed=3)
    files = write_pet_series(vol, pet_acq(), tmp_path)
    rename_shuffled(files, seed=5)
    names = sorted(p.name for p in tmp_path.glob("*.dcm"))
    assert names != [f.name for f in files]
    pet = load_scan(tmp_path).pet
    assert pet.spacing_mm == pytest.approx((2.5, 3.0, 4.0))
    assert pet.origin_mm == pytest.approx((-12.0, 30.0, -55.0))
    np.testing.assert_allclose(pet.array, vol.array, atol=2 * quantisation_tol(vol))


def test_reversed_stack_keeps_world_positions(tmp_path):
    # k axis pointing to −z (feet first): the reader re-sorts along the normal, flipping k;
    # every voxel value must stay at the same LPS position.
    direction = (1, 0, 0, 0, 1, 0, 0, 0, -1)
    vol = conc_volume(seed=4, direction=direction)
    write_pet_series(vol, pet_acq(), tmp_path)
    pet = load_scan(tmp_path).pet
    np.testing.assert_allclose(pet.direction_matrix, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(pet.array, vol.array[::-1], atol=2 * quantisation_tol(vol))
    np.testing.assert_allclose(
        pet.index_to_lps([0, 0, 0]), vol.index_to_lps([0, 0, vol.shape[0] - 1]), atol=1e-4
    )


def test_oblique_orientation(tmp_path):
    c, s = np.cos(0.3), np.sin(0.3)
    direction = (c, -s, 0, s, c, 0, 0, 0, 1)
    vol = conc_volume(direction=direction)
    write_pet_series(vol, pet_acq(), tmp_path)
    pet = load_scan(tmp_path).pet
    np.testing.assert_allclose(pet.direction, direction, atol=1e-6)
    np.testing.assert_allclose(pet.affine_lps, vol.affine_lps, atol=1e-4)


def test_per_slice_rescale(tmp_path):
    vol = conc_volume()
    arr = np.array(vol.array)
    arr[4] *= 50.0  # one hot slice: its RescaleSlope must differ
    files = write_pet_series(vol.with_array(arr), pet_acq(), tmp_path)
    slopes = {float(pydicom.dcmread(f, stop_before_pixels=True).RescaleSlope) for f in files}
    assert len(slopes) == len(files)
    pet = load_scan(tmp_path).pet
    np.testing.assert_allclose(pet.array, arr, rtol=1e-3)


def test_missing_slice_refused(tmp_path):
    files = write_pet_series(conc_volume(), pet_acq(), tmp_path)
    files[4].unlink()
    with pytest.raises(GeometryError, match="not uniform"):
        load_scan(tmp_path)


def test_ct_matched_by_frame_of_reference(tmp_path):
    vol = conc_volume()
    write_pet_series(vol, pet_acq(), tmp_path / "pet", frame_of_reference_uid="1.2.3.4")
    write_ct_series(
        vol.with_array(np.full(vol.shape, 40.0), "HU"),
        tmp_path / "ct",
        frame_of_reference_uid="1.2.3.4",
    )
    write_ct_series(
        vol.with_array(np.full(vol.shape, -500.0), "HU"),
        tmp_path / "ct_other",
        frame_of_reference_uid="9.9",
    )
    scan = load_scan(tmp_path)
    assert scan.ct is not None and scan.ct.unit == "HU"
    np.testing.assert_allclose(scan.ct.array, 40.0)
    assert load_volume(tmp_path / "ct").frame_of_reference_uid == "1.2.3.4"


def test_non_dicom_files_skipped(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / "notes").write_bytes(b"\x00" * 300)
    assert [s.modality for s in find_series(tmp_path)] == ["PT"]


# --- refusals -------------------------------------------------------------------------------


def test_corrupt_file_skipped_in_folder_named_when_explicit(tmp_path):
    # Rule (issue 11): a corrupt file met while walking a folder never stops the series;
    # one warning names it. Named explicitly, it is an error naming it.
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7fgarbage")
    with pytest.warns(ImmunopetWarning, match="broken.dcm"):
        assert load_scan(tmp_path).pet.shape == (9, 6, 7)
    with pytest.raises(InputError) as info:
        load_scan(bad)
    assert info.value.file == str(bad)


def test_truncated_pixel_data_named(tmp_path):
    files = write_pet_series(conc_volume(), pet_acq(), tmp_path)
    ds = pydicom.dcmread(files[2])
    ds.PixelData = ds.PixelData[:10]
    ds.save_as(files[2])
    with pytest.raises(InputError) as info:
        load_scan(tmp_path)
    assert info.value.file == str(files[2]) and info.value.field == "PixelData"


def test_non_pet_series_refused(tmp_path):
    vol = conc_volume()
    write_ct_series(
        vol.with_array(np.zeros(vol.shape), "HU"), tmp_path / "ct", series_uid="1.2.840.99"
    )
    with pytest.raises(UnsupportedDataError, match="no PET"):
        load_scan(tmp_path)
    write_pet_series(vol, pet_acq(), tmp_path / "pet")
    with pytest.raises(UnsupportedDataError) as info:
        load_scan(tmp_path, series_uid="1.2.840.99")
    assert info.value.field == "Modality"


def test_several_pet_series_need_a_choice(tmp_path):
    vol = conc_volume()
    write_pet_series(vol, pet_acq(), tmp_path / "a", series_uid="1.2.3.1")
    write_pet_series(vol, pet_acq(24.0), tmp_path / "b", series_uid="1.2.3.2")
    with pytest.raises(InputError, match="--series"):
        load_scan(tmp_path)
    assert load_scan(
        tmp_path, series_uid="1.2.3.2"
    ).acquisition.time_post_injection_h == pytest.approx(24.0)


def test_unknown_nuclide_refused(tmp_path):
    write_pet_series(conc_volume(), pet_acq(tracer="mystery"), tmp_path)

    def unknown(ds):
        code = ds.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0]
        code.CodeValue, code.CodeMeaning = "999999", "^999^Unobtainium"
        ds.SeriesDescription = "PET"

    edit_all(tmp_path, unknown)
    with pytest.raises(UnknownNuclideError) as info:
        load_scan(tmp_path)
    assert info.value.field == "RadionuclideCodeSequence" and info.value.file == str(tmp_path)
    [summary] = find_series(tmp_path)
    assert summary.acquisition is None and "radionuclide" in summary.error


def test_missing_units_refused(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    edit_all(tmp_path, lambda ds: delattr(ds, "Units"))
    with pytest.raises(InputError) as info:
        load_scan(tmp_path)
    assert info.value.field == "Units"


def test_no_warning_on_clean_series(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)
        quant.suv_bw_factor(load_scan(tmp_path).acquisition)


def test_time_only_same_day_fdg_accepted(tmp_path):
    # Delayed-imaging rule: time-only injection accepted only when 0 < Δt < 12 h and
    # T½ ≤ 2.4 h (F-18: T½ = 109.77 min, ICRP-107). Δt = 1 h here.
    fdg = pet_acq(1.0, nuclide=Nuclide.from_name("F-18"), injected_activity_bq=370e6)
    write_pet_series(conc_volume(), fdg, tmp_path, injection_time_only=True)
    acq = load_scan(tmp_path).acquisition
    assert acq.injection_date_inferred
    expected = WEIGHT_KG * 1000.0 / (370e6 * 2.0 ** (-3600.0 / (109.77 * 60.0)))
    assert quant.suv_bw_factor(acq) == pytest.approx(expected, rel=1e-6)


def test_missing_series_date_uses_acquisition(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)

    def drop(ds):
        del ds.SeriesTime

    edit_all(tmp_path, drop)
    assert load_scan(tmp_path).acquisition.scan_start_datetime == INJ + timedelta(hours=48)


def test_other_modalities_listed(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path / "pet")
    sr = pydicom.dcmread(next((tmp_path / "pet").glob("*.dcm")), stop_before_pixels=True)
    for key in ("Rows", "Columns", "ImagePositionPatient", "ImageOrientationPatient"):
        delattr(sr, key)
    sr.Modality, sr.SeriesInstanceUID = "SR", "1.2.3.999"
    sr.save_as(tmp_path / "report.dcm")
    summaries = {s.modality: s for s in find_series(tmp_path)}
    assert set(summaries) == {"PT", "SR"}
    assert summaries["SR"].shape is None and "not an image series" in summaries["SR"].error
    assert load_scan(tmp_path).acquisition.nuclide.name == "I-124"


def test_missing_decay_correction_warns_and_assumes_start(tmp_path):
    write_pet_series(conc_volume(), pet_acq(), tmp_path)
    edit_all(tmp_path, lambda ds: delattr(ds, "DecayCorrection"))
    with pytest.warns(ImmunopetWarning, match="DecayCorrection"):
        acq = load_scan(tmp_path).acquisition
    assert acq.decay_correction == "START"
    assert quant.suv_bw_factor(acq) == pytest.approx(hand_factor(48.0), rel=1e-6)


# --- time zones (DICOM PS3.5 §6.2 DT "&ZZXX"; PS3.3 C.12.1 TimezoneOffsetFromUTC) ----------

LOCAL_SCAN = datetime(2024, 3, 1, 10, 30)  # SeriesTime 103000, local time of the scanner
LOCAL_INJ = datetime(2024, 3, 1, 9, 30)  # 1 h earlier, local


def _zoned_series(folder: Path, *, local_offset: str | None, injection_dt: str | None) -> None:
    """A 1 h post-injection series; then TimezoneOffsetFromUTC / the injection DT rewritten."""
    acq = pet_acq(scan_start_datetime=LOCAL_SCAN, injection_datetime=LOCAL_INJ)
    write_pet_series(conc_volume(), acq, folder)

    def zone(ds):
        if local_offset is not None:
            ds.TimezoneOffsetFromUTC = local_offset
        if injection_dt is not None:
            info = ds.RadiopharmaceuticalInformationSequence[0]
            info.RadiopharmaceuticalStartDateTime = injection_dt

    edit_all(folder, zone)


def test_utc_injection_converted_to_series_local_time(tmp_path):
    # Injector writes 01:30 UTC; the scanner's local zone is UTC+8 and SeriesTime 10:30 is local:
    # 01:30 UTC = 09:30 local → 1.0 h post-injection (dropping the offset would give 9.0 h).
    _zoned_series(tmp_path, local_offset="+0800", injection_dt="20240301013000+0000")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)
        acq = load_scan(tmp_path).acquisition
    assert acq.utc_offset_h == 8.0
    assert acq.scan_start_datetime == LOCAL_SCAN
    assert acq.injection_datetime == LOCAL_INJ
    assert acq.time_post_injection_h == pytest.approx(1.0, abs=1e-12)
    # QIBA decay branch over exactly 1 h of I-124 decay (2^(-1 h / 100.224 h) = 0.99311).
    assert quant.suv_bw_factor(acq) == pytest.approx(hand_factor(1.0), rel=1e-9)
    assert quant.suv_bw_factor(acq) != pytest.approx(hand_factor(9.0), rel=1e-4)


def test_explicit_offset_equal_to_local_unchanged(tmp_path):
    _zoned_series(tmp_path, local_offset="+0800", injection_dt="20240301093000+0800")
    acq = load_scan(tmp_path).acquisition
    assert acq.injection_datetime == LOCAL_INJ and acq.time_post_injection_h == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("local_offset", "injection_dt", "acquisition_dt", "scan_start"),
    [
        # UTC+8: AcquisitionDateTime 02:30 Z = 10:30 local = SeriesTime. Unconverted, 02:30
        # would look earlier than SeriesTime and the QIBA GE rule would wrongly move the start.
        ("+0800", "20240301013000+0000", "20240301023000+0000", LOCAL_SCAN),
        # UTC−5: 15:28 Z = 10:28 local precedes SeriesTime 10:30 → QIBA takes the acquisition.
        (
            "-0500",
            "20240301143000.000000+0000",
            "20240301152800+0000",
            datetime(2024, 3, 1, 10, 28),
        ),
    ],
)
def test_acquisition_datetime_converted_before_qiba_rule(
    tmp_path, local_offset, injection_dt, acquisition_dt, scan_start
):
    _zoned_series(tmp_path, local_offset=local_offset, injection_dt=injection_dt)
    edit_all(tmp_path, lambda ds: setattr(ds, "AcquisitionDateTime", acquisition_dt))
    acq = load_scan(tmp_path).acquisition
    assert acq.utc_offset_h == float(int(local_offset) // 100)
    assert acq.injection_datetime == LOCAL_INJ and acq.scan_start_datetime == scan_start


def test_no_declared_offset_keeps_explicit_offset_as_local(tmp_path):
    # Without TimezoneOffsetFromUTC the zone of SeriesTime is unknown: the DT offset is
    # taken as local (today's single-zone behaviour), utc_offset_h stays None.
    _zoned_series(tmp_path, local_offset=None, injection_dt="20240301093000+0800")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)
        acq = load_scan(tmp_path).acquisition
    assert acq.utc_offset_h is None
    assert acq.injection_datetime == LOCAL_INJ and acq.time_post_injection_h == pytest.approx(1.0)


def test_different_offsets_without_declared_zone_warn(tmp_path):
    _zoned_series(tmp_path, local_offset=None, injection_dt="20240301013000+0000")
    edit_all(tmp_path, lambda ds: setattr(ds, "AcquisitionDateTime", "20240301103000+0800"))
    with pytest.warns(ImmunopetWarning, match="different UTC offsets"):
        acq = load_scan(tmp_path).acquisition
    assert acq.injection_datetime == datetime(2024, 3, 1, 1, 30)  # taken as local, as warned


@pytest.mark.parametrize(
    "override",
    [
        "2024-03-01T01:30:00Z",
        "2024-03-01T03:30:00+02:00",
        datetime.fromisoformat("2024-02-29T21:30:00-04:00"),
    ],
)
def test_aware_override_converted_to_series_local_time(tmp_path, override):
    _zoned_series(tmp_path, local_offset="+0800", injection_dt=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmunopetWarning)
        acq = load_scan(tmp_path, injection_datetime=override).acquisition
    assert acq.injection_datetime == LOCAL_INJ and acq.injection_datetime.tzinfo is None
    assert acq.time_post_injection_h == pytest.approx(1.0, abs=1e-12)
    assert quant.suv_bw_factor(acq) == pytest.approx(hand_factor(1.0), rel=1e-9)


def test_naive_override_is_local_time(tmp_path):
    _zoned_series(tmp_path, local_offset="+0800", injection_dt=None)
    acq = load_scan(tmp_path, injection_datetime="2024-03-01T08:30:00").acquisition
    assert acq.time_post_injection_h == pytest.approx(2.0)


def test_aware_override_without_declared_offset_warns_and_is_local(tmp_path):
    _zoned_series(tmp_path, local_offset=None, injection_dt=None)
    with pytest.warns(ImmunopetWarning, match="UTC offset.*local time"):
        acq = load_scan(tmp_path, injection_datetime="2024-03-01T09:30:00Z").acquisition
    assert acq.injection_datetime == LOCAL_INJ  # wall-clock value kept, offset dropped
    assert acq.time_post_injection_h == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore:Invalid value for VR DT:UserWarning")  # pydicom, on write
@pytest.mark.parametrize(
    ("local_offset", "injection_dt", "field"),
    [
        ("+8", None, "TimezoneOffsetFromUTC"),
        ("+0860", None, "TimezoneOffsetFromUTC"),
        ("UTC", None, "TimezoneOffsetFromUTC"),
        (None, "20240301013000+25:00", "RadiopharmaceuticalStartDateTime"),
        ("+0800", "20240301013000+1500", "RadiopharmaceuticalStartDateTime"),
        (None, "20240301013000&0800", "RadiopharmaceuticalStartDateTime"),
    ],
)
def test_malformed_offset_refused(tmp_path, local_offset, injection_dt, field):
    _zoned_series(tmp_path, local_offset=local_offset, injection_dt=injection_dt)
    with pytest.raises(InvalidValueError) as info:
        load_scan(tmp_path)
    assert info.value.field == field and info.value.file.startswith(str(tmp_path))


@given(
    wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    written_min=st.integers(-12 * 60, 14 * 60),
    local_min=st.integers(-12 * 60, 14 * 60),
)
def test_parse_dt_conversion_is_the_same_instant(wall, written_min, local_min):
    # Property: converting a DT to the local offset preserves the UTC instant.
    wall = wall.replace(microsecond=0)
    written, local = timedelta(minutes=written_min), timedelta(minutes=local_min)
    sign = "-" if written_min < 0 else "+"
    text = (
        wall.strftime("%Y%m%d%H%M%S")
        + f"{sign}{abs(written_min) // 60:02d}{abs(written_min) % 60:02d}"
    )
    got = parse_dt(text, local_offset=local)
    assert got - local == wall - written
    assert parse_dt(text) == wall  # no declared local offset: taken as written
    assert parse_utc_offset(text[14:]) == written


def test_bids_time_zero_offset_recorded():
    # BIDS common principles: date-times may end in "Z" (UTC); no other zone field exists.
    side = {"TracerRadionuclide": "I124", "TimeZero": "2024-03-01T01:30:00Z", "ScanStart": 3600}
    acq = nifti_acquisition(side, "x.nii.gz")
    assert acq.utc_offset_h == 0.0 and acq.scan_start_datetime == datetime(2024, 3, 1, 2, 30)
    plain = nifti_acquisition({**side, "TimeZero": "01:30:00", "ScanDate": "2024-03-01"}, "x")
    assert plain.utc_offset_h is None
    aware = apply_overrides(acq, injection_datetime="2024-03-01T09:30:00+08:00")
    assert aware.time_post_injection_h == pytest.approx(1.0)


# --- pixel data read straight from the file (issue 16) -------------------------------------


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
def test_pixels_from_file_tail_equal_pydicom(tmp_path, syntax):
    """Explicit and implicit VR little endian: the tail read gives pydicom's pixel_array."""
    from immunopet.io.dicom_pixels import _native_from_file

    files = write_pet_series(conc_volume(), pet_acq(), tmp_path)
    ds = pydicom.dcmread(files[3])
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(files[3], implicit_vr=syntax == "1.2.840.10008.1.2", little_endian=True)
    header = pydicom.dcmread(files[3], stop_before_pixels=True)
    fast = _native_from_file(files[3], header)
    assert fast is not None
    np.testing.assert_array_equal(fast, pydicom.dcmread(files[3]).pixel_array)


def test_element_after_pixel_data_falls_back_to_pydicom(tmp_path):
    """A trailing element (DataSetTrailingPadding) after the pixels: pydicom reads the file."""
    from immunopet.io.dicom_pixels import _native_from_file

    vol = conc_volume()
    files = write_pet_series(vol, pet_acq(), tmp_path)
    ds = pydicom.dcmread(files[0])
    ds.add_new(0xFFFCFFFC, "OB", b"\x00" * 16)
    ds.save_as(files[0])
    assert _native_from_file(files[0], pydicom.dcmread(files[0], stop_before_pixels=True)) is None
    np.testing.assert_allclose(load_scan(tmp_path).pet.array, vol.array, rtol=1e-3)
