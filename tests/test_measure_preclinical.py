"""Micro-PET %ID/g from images: arithmetic, VOIs, the study fields, the step and the t-tests."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from immunopet.core.errors import InvalidValueError, PhysicsError
from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition
from immunopet.core.volume import Volume
from immunopet.io import write_nifti
from immunopet.measure.preclinical import (
    AnimalVois,
    measure_animal_image,
    percent_id_per_g,
    sphere_voi,
    tumour_voi,
)
from immunopet.stats.preclinical import paper_pairs, preclinical_comparisons

#: ICRP-107 half-life of I-124: 4.1760 d (ICRP Publication 107, 2008).
I124_HALF_LIFE_H = 4.1760 * 24


def test_percent_id_per_g_by_hand() -> None:
    # 50 kBq/mL at injection, 14.8 MBq injected: 100 * 5e4 / 1.48e7 = 0.33784 %ID/g.
    assert percent_id_per_g(5.0e4, 14.8e6) == pytest.approx(0.337838, rel=1e-5)
    assert percent_id_per_g(5.0e4, 14.8e6, 1.05) == pytest.approx(0.337838 / 1.05, rel=1e-5)
    with pytest.raises(PhysicsError):
        percent_id_per_g(5.0e4, 0.0)


def _sphere_image(value: float, diameter_mm: float, *, voxel_mm: float = 0.5) -> Volume:
    n = 60
    g = (np.arange(n) - (n - 1) / 2) * voxel_mm
    z, y, x = np.meshgrid(g, g, g, indexing="ij")
    arr = np.where(np.sqrt(x**2 + y**2 + z**2) <= diameter_mm / 2, value, 0.0)
    origin = (float(g[0]),) * 3
    return Volume(arr.astype(np.float32), spacing_mm=(voxel_mm,) * 3, origin_mm=origin)


def test_tumour_voi_grows_from_the_hottest_voxel_near_the_seed() -> None:
    img = _sphere_image(10.0, 8.0)
    voi = tumour_voi(img, (2.5, -2.0, 1.0), search_mm=5.0)  # seed 3.4 mm off centre
    volume_ml = voi.sum() * img.voxel_volume_ml
    assert volume_ml == pytest.approx(math.pi / 6 * 0.8**3, rel=0.08)  # voxelisation of 8 mm
    # A second hot object outside max_radius_mm is never joined.
    arr = np.asarray(img.array).copy()
    arr[:, :, :3] = 10.0
    joined = tumour_voi(img.with_array(arr), (0.0, 0.0, 0.0), max_radius_mm=8.0)
    assert joined.sum() == voi.sum()
    with pytest.raises(InvalidValueError):
        tumour_voi(img, (100.0, 0.0, 0.0))
    with pytest.raises(InvalidValueError):
        tumour_voi(img.with_array(np.zeros(img.shape)), (0.0, 0.0, 0.0))


def test_sphere_and_label_vois_give_the_uniform_value() -> None:
    img = _sphere_image(4.0e4, 20.0)
    assert sphere_voi(img, (0.0, 0.0, 0.0), 4.0).sum() == pytest.approx(
        4 / 3 * math.pi * 2.0**3 / 0.125, rel=0.1
    )
    labels = img.with_array((np.asarray(img.array) > 0).astype(np.uint8) * 2, "label")
    rows = measure_animal_image(
        img, 10e6, AnimalVois(labels=labels, label_values={"muscle": 2, "tumour": 1})
    )
    got = {(r["region"], r["metric"]): r["value"] for r in rows}
    assert got[("muscle", "percent_id_per_g")] == pytest.approx(0.4, rel=1e-6)  # 100*4e4/1e7
    assert ("tumour", "percent_id_per_g") not in got  # label 1 absent: no tumour row
    with pytest.raises(InvalidValueError):
        other_grid = Volume(np.zeros((60, 60, 60), np.uint8), spacing_mm=(1.0, 1.0, 1.0))
        measure_animal_image(img, 10e6, AnimalVois(labels=other_grid))


def _write_animal(tmp: Path, *, value_bq_ml: float, time_h: float, activity_mbq: float) -> Path:
    """A 30 mm uniform cylinder (Bq/mL at scan start) with a flank 'tumour' sphere 4 × as hot."""
    n, v = 64, 0.5
    g = (np.arange(n) - (n - 1) / 2) * v
    z, y, x = np.meshgrid(g, g, g, indexing="ij")
    arr = np.where(x**2 + y**2 <= 15.0**2, value_bq_ml, 0.0)
    arr = np.where((x - 5.0) ** 2 + y**2 + z**2 <= 6.0**2, 4 * value_bq_ml, arr)
    vol = Volume(arr.astype(np.float32), spacing_mm=(v,) * 3, origin_mm=(float(g[0]),) * 3)
    inj = datetime(2026, 1, 5, 9, 0)
    acq = Acquisition(
        nuclide=Nuclide.from_name("I-124"), units="BQML", decay_correction="START",
        scan_start_datetime=inj + timedelta(hours=time_h), injection_datetime=inj,
        injected_activity_bq=activity_mbq * 1e6, patient_weight_kg=0.025, tracer="t",
    )  # fmt: skip
    return write_nifti(vol, tmp / f"m1_{int(time_h)}h.nii.gz", acquisition=acq)


def _study(tmp: Path, animal: dict, groups=None) -> Path:
    doc = {
        "name": "mice",
        "subjects": [{"id": "S", "scans": []}],
        "preclinical": {
            "groups": groups or [{"name": "g", "tracer": "124I-x", "her2": "positive"}],
            "animals": [animal],
        },
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_step_decays_to_injection_and_uses_each_animals_activity(tmp_path: Path) -> None:
    """Hand calculation: C_scan = 1e5 Bq/mL at 48 h ⇒ C0 = 1e5 · 2^(48 / 100.224 h);
    %ID/g = 100 · C0 / A0 with A0 from the study (15 MBq), not the header (14 MBq)."""
    from immunopet.pipeline.preclinical_steps import (
        preclinical_from_images,
        preclinical_image_options,
    )
    from immunopet.study import load_study

    _write_animal(tmp_path, value_bq_ml=1.0e5, time_h=48.0, activity_mbq=14.0)
    animal = {"id": "m1", "group": "g", "images": {"48h": "m1_48h.nii.gz"},
              "injected_activity_mbq": 15.0, "tumour_seed_mm": [5.0, 0.0, 0.0],
              "muscle_centre_mm": [-8.0, 0.0, 0.0]}  # fmt: skip
    study = load_study(_study(tmp_path, animal))
    options, inputs = preclinical_image_options(study)
    assert inputs == (str(tmp_path / "m1_48h.nii.gz"),)
    df = preclinical_from_images(options)
    got = df.set_index(["region", "metric"])["value"]
    c0 = 1.0e5 * 2 ** (48.0 / I124_HALF_LIFE_H)
    expected = 100 * c0 / 15.0e6
    assert got[("muscle", "percent_id_per_g")] == pytest.approx(expected, rel=1e-4)
    assert got[("tumour", "percent_id_per_g")] == pytest.approx(4 * expected, rel=1e-4)
    assert got[("tumour", "tumour_to_muscle")] == pytest.approx(4.0, rel=1e-4)
    assert set(df.columns) >= {"group", "animal", "time_h", "region", "metric", "value", "unit"}
    assert df["scan_time_h"].iloc[0] == pytest.approx(48.0)
    # An injection an hour earlier than the header: one more hour of decay to correct.
    animal["injection_datetime"] = "2026-01-05T08:00:00"
    df2 = preclinical_from_images(
        preclinical_image_options(load_study(_study(tmp_path, animal)))[0]
    )
    later = df2.set_index(["region", "metric"])["value"][("muscle", "percent_id_per_g")]
    assert later == pytest.approx(expected * 2 ** (1.0 / I124_HALF_LIFE_H), rel=1e-4)
    # Density 1.05 g/mL divides %ID/g.
    options["density_g_per_ml"] = 1.05
    dense = preclinical_from_images(options).set_index(["region", "metric"])["value"]
    assert dense[("muscle", "percent_id_per_g")] == pytest.approx(expected / 1.05, rel=1e-4)


def test_study_refuses_images_without_a_way_to_find_the_vois(tmp_path: Path) -> None:
    from immunopet.study import load_study
    from immunopet.study.loader import StudyFileError

    _write_animal(tmp_path, value_bq_ml=1.0e5, time_h=24.0, activity_mbq=14.0)
    animal = {"id": "m1", "group": "g", "images": {"24h": "m1_24h.nii.gz"},
              "labels": {"48h": "missing.nii.gz"}}  # fmt: skip
    with pytest.raises(StudyFileError) as info:
        load_study(_study(tmp_path, animal))
    text = str(info.value)
    assert "tumour_seed_mm" in text and "muscle_centre_mm" in text
    assert "no image at that time" in text and "missing.nii.gz" in text
    with pytest.raises(StudyFileError, match="tumour_threshold"):
        path = _study(tmp_path, {"id": "m1", "group": "g"})
        doc = yaml.safe_load(path.read_text())
        doc["preclinical"]["tumour_threshold"] = 1.5
        path.write_text(yaml.safe_dump(doc))
        load_study(path)


def test_the_papers_pairs_and_student_t_match_scipy() -> None:
    from scipy import stats as sps

    groups = [
        {"name": "tras+", "tracer": "124I-trastuzumab", "her2": "positive"},
        {"name": "igg+", "tracer": "124I-hIgG1", "her2": "positive"},
        {"name": "tras-", "tracer": "124I-trastuzumab", "her2": "negative"},
    ]
    pairs = paper_pairs(groups)
    assert [(a, b) for _, a, b in pairs] == [("tras+", "igg+"), ("tras+", "tras-")]
    rng = np.random.default_rng(0)
    values = {"tras+": rng.normal(11.9, 1.1, 5), "igg+": rng.normal(3.8, 0.1, 5),
              "tras-": rng.normal(5.0, 0.2, 5)}  # fmt: skip
    table = pd.DataFrame(
        [{"group": g, "animal": f"{g}{i}", "time_h": 24.0, "region": "tumour",
          "metric": "percent_id_per_g", "value": v} for g, vs in values.items()
         for i, v in enumerate(vs)]
    )  # fmt: skip
    res = preclinical_comparisons(table, pairs)
    assert len(res) == 2
    ref = sps.ttest_ind(values["tras+"], values["igg+"])
    assert res.p_value.iloc[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic.iloc[0] == pytest.approx(ref.statistic, rel=1e-9)
    assert res.df.iloc[0] == 8
