"""The report's "Voxel dosimetry" section (:mod:`immunopet.report.voxel`) on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunopet.pipeline.store import Bundle
from immunopet.pipeline.voxel_outputs import write_subject_voxel_maps
from immunopet.report import render_report
from immunopet.report.voxel import voxel_section
from immunopet.report.voxel_discussion import mass_ratio

MBQ = 50.0  # administered activity of the made-up subject


def _stats(subject: str, region: str, kind: str, nuclide: str, mean_gy: float) -> pd.DataFrame:
    metrics = {"dose_mean_gy": mean_gy, "dose_max_gy": 2 * mean_gy, "dose_min_gy": 0.5 * mean_gy,
               "d2_gy": 1.8 * mean_gy, "d50_gy": mean_gy, "d98_gy": 0.6 * mean_gy,
               "volume_ml": 1538.4615, "voxels": 100.0}  # fmt: skip
    return pd.DataFrame({"subject": subject, "region": region, "region_kind": kind,
                         "metric": list(metrics), "value": list(metrics.values()), "unit": "Gy",
                         "nuclide": nuclide, "method": "dvk", "administered_mbq": MBQ,
                         "tia_model": "trapezoid", "tail": "fit", "kernel_half_extent_mm": 100.0,
                         "kernel_escaped_fraction": 0.5, "tia_tail_fraction": 0.25})  # fmt: skip


@pytest.fixture()
def run_dir(tmp_path):
    """A run folder: tables of one subject (a liver and a lesion, 124I + 131I) and its maps."""
    stats = pd.concat([
        _stats("S1", "liver", "organ", "I-124", 0.05),
        _stats("S1", "lesion_001", "lesion", "I-124", 0.1),
        _stats("S1", "liver", "organ", "I-131", 0.04),
        _stats("S1", "lesion_001", "lesion", "I-131", 0.2),
    ], ignore_index=True)  # fmt: skip
    doses = pd.DataFrame({
        "subject": ["S1", "S1"], "quantity": ["lesion_absorbed_dose", "absorbed_dose"],
        "target": ["lesion_001", "liver"], "value": [1.0, 2.0], "unit": "mGy/MBq",
        "nuclide": "I-124", "source_set": ["lesion_self", "all_segmented"], "phantom": "adult",
        "sd": 0.0, "mass_g": [1.0, np.nan],
    })  # fmt: skip
    levels = np.linspace(0, 0.3, 11)
    dvh = pd.concat([
        pd.DataFrame({"subject": "S1", "region": r, "region_kind": k, "nuclide": n,
                      "dose_gy": levels, "volume_fraction": np.clip(1 - levels / top, 0, 1),
                      "administered_mbq": MBQ})
        for r, k, top in (("liver", "organ", 0.1), ("lesion_001", "lesion", 0.2))
        for n in ("I-124", "I-131")
    ], ignore_index=True)  # fmt: skip
    subjects = pd.DataFrame({"subject": ["S1"], "her2": ["positive"]})
    shape = (12, 10, 8)
    dose = np.zeros(shape, np.float32)
    dose[4:8, 3:7, 2:6] = 0.1
    lesion = np.zeros(shape, np.int32)
    lesion[5:7, 4:6, 3:5] = 1
    bundle = Bundle(
        arrays={"dose_gy_I-124": dose, "dose_gy_I-131": 2 * dose, "labels_lesion": lesion},
        meta={"subject": "S1", "spacing_mm": [4.0, 4.0, 4.0], "origin_mm": [0.0, 0.0, 0.0],
              "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1], "frame_of_reference_uid": "1.2.3.4",
              "nuclides": ["I-124", "I-131"], "label_names": {"lesion": {"1": "lesion_001"}},
              "reference": {}, "administered_mbq": MBQ},
    )  # fmt: skip
    write_subject_voxel_maps(bundle, tmp_path / "voxel" / "S1")
    frames = {"voxel_doses": stats, "voxel_dvh": dvh, "doses": doses, "subjects": subjects}
    return tmp_path, frames


def test_no_voxel_table_no_section(tmp_path):
    assert voxel_section(tmp_path, {}) is None
    html = render_report(tmp_path, {}, {}, {})
    assert "Voxel dosimetry" not in html


def test_section_compares_voxel_with_sphere_and_mird_per_mbq(run_dir):
    out, frames = run_dir
    sec = voxel_section(out, frames, "her2")
    assert sec is not None and sec.title == "Voxel dosimetry"
    # a dose map and the DVHs, as PNG
    assert len(sec.figures) == 2 and all(f.png.startswith(b"\x89PNG") for f in sec.figures)
    lesion, organ = sec.tables[0], sec.tables[1]
    row = dict(zip(lesion.columns, lesion.rows[0], strict=True))
    # 0.1 Gy for 50 MBq = 2 mGy/MBq, sphere 1 mGy/MBq → ratio 2; 131I has no sphere dose.
    assert row["I-124 voxel mean"] == "2.000" and row["I-124 voxel / sphere"] == "2.00"
    assert row["group"] == "HER2+" and "I-131 sphere" not in lesion.columns
    assert row["I-131 voxel mean"] == "4.000"
    orow = dict(zip(organ.columns, organ.rows[0], strict=True))
    # liver: 0.05 Gy / 50 MBq = 1 mGy/MBq vs MIRD 2 → 0.5; 1538.46 mL × 1.04 g/mL = 1.6 kg,
    # the mean of ICRP 89's male (1.8 kg) and female (1.4 kg) liver → mass ratio 1.00.
    assert orow["voxel / MIRD, median (range)"].startswith("0.50")
    assert orow["phantom / patient mass, median"] == "1.00"
    text = " ".join(sec.paragraphs)
    assert "voxel mean / sphere-model dose = 2.00" in text
    assert "voxel mean / MIRD = 0.50" in text
    assert (
        "50 % of it leaves the kernel grid" in text
    )  # the kernel's escaped energy, from the table
    assert "25 % of the image's voxel TIA lies after the last scan" in text
    assert "Uncertainty maps: none" in text  # trapezoid TIA: no SD


def test_mass_ratio_uses_icrp89_masses():
    # ICRP 89 Table 2.8: liver 1800 g (male), 1400 g (female).
    assert mass_ratio("liver", 1800 / 1.04, "adult-male") == pytest.approx(1.0)
    assert mass_ratio("liver", 1400 / 1.04, "adult-female") == pytest.approx(1.0)
    assert np.isnan(mass_ratio("lesion_001", 10.0))


def test_render_report_shows_the_section_with_voxel_tables(run_dir):
    out, frames = run_dir
    html = render_report(out, frames, {}, {})
    assert 'id="voxel-dosimetry"' in html and "data:image/png;base64" in html


def test_uncertainty_figure_and_paragraph_where_the_fit_gives_sd(run_dir):
    out, frames = run_dir
    shape = (12, 10, 8)
    dose = np.zeros(shape, np.float32)
    dose[4:8, 3:7, 2:6] = 0.1
    bundle = Bundle(
        arrays={"dose_gy_I-124": dose, "dose_sd_gy_I-124": 0.1 * dose,
                "dose_sd_bound_gy_I-124": 0.2 * dose},
        meta={"subject": "S1", "spacing_mm": [4.0, 4.0, 4.0], "origin_mm": [0.0, 0.0, 0.0],
              "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1], "nuclides": ["I-124"],
              "label_names": {}, "reference": {}, "administered_mbq": MBQ},
    )  # fmt: skip
    write_subject_voxel_maps(bundle, out / "voxel" / "S1")
    from immunopet.io import read_nifti

    rel = read_nifti(out / "voxel" / "S1" / "S1_I-124_dose_rel_sd.nii.gz")
    assert float(np.max(rel.array)) == pytest.approx(0.1, rel=1e-5)  # u(D)/D = 10 %
    extra = pd.DataFrame({"subject": "S1", "region": "liver", "region_kind": "organ",
                          "metric": ["dose_rel_sd_median", "dose_rel_sd_bound_median"],
                          "value": [0.1, 0.2], "unit": "1", "nuclide": "I-124",
                          "administered_mbq": MBQ, "tia_model": "mono"})  # fmt: skip
    frames = dict(frames, voxel_doses=pd.concat([frames["voxel_doses"], extra]))
    sec = voxel_section(out, frames, "her2")
    assert len(sec.figures) == 3  # dose map, relative SD map, DVHs
    text = " ".join(sec.paragraphs)
    assert "I-124 organs 10.0 % (fully correlated bound 20.0 %)" in text
    stats = sec.tables[-1]
    assert "median u(D)/D" in stats.columns
