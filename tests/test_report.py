"""Tests of immunopet.report: a self-contained HTML report from synthetic result tables."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from immunopet.core.errors import InputError
from immunopet.core.volume import Volume
from immunopet.report import mip_figure, write_report
from immunopet.stats import format_p, lesion_table, student_t_test, study_statistics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _measurements(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    subjects = pd.DataFrame(
        {"subject": ["P1", "P2", "P3", "P4"], "sex": ["M", "M", "F", "F"],
         "her2": ["positive", "negative", "positive", None], "ihc": ["3+", "2+", "3+", None]}
    )  # fmt: skip
    rows = []

    def add(s, tracer, t, region, kind, metric, value, unit):
        rows.append({"subject": s, "scan_id": f"{s}-{tracer}-{t:g}", "tracer": tracer,
                     "nuclide": "18F" if "FDG" in tracer else "124I", "time_h": t,
                     "region": region, "region_kind": kind, "metric": metric,
                     "value": value, "unit": unit})  # fmt: skip

    for s, n in (("P1", 6), ("P2", 5), ("P3", 3), ("P4", 1)):  # P4: HER2 status unknown
        pos = s != "P2"
        for i in range(n):
            add(s, "18F-FDG", 1.1, f"lesion_{i}", "lesion", "suv_max", rng.uniform(4.4, 9), "SUVbw")
            for t, mu in ((1.0, 3.5), (24.2, 7.8), (47.6, 5.7)):
                v = (mu if pos else 1.7) + rng.normal(0, 0.7)
                add(s, "124I-trastuzumab", t, f"lesion_{i}", "lesion", "suv_max", v, "SUVbw")
                add(
                    s,
                    "124I-trastuzumab",
                    t,
                    f"lesion_{i}",
                    "lesion",
                    "tnr_background",
                    v / 1.1,
                    "ratio",
                )
                add(
                    s,
                    "124I-trastuzumab",
                    t,
                    f"lesion_{i}",
                    "lesion",
                    "tnr_muscle",
                    v / 0.6,
                    "ratio",
                )
        for t in (1.0, 24.2, 47.6):
            for organ, kind, v in (("liver", "organ", 6 - t / 15), ("blood", "blood", 10 - t / 7),
                                   ("thyroid", "organ", 2 + t / 8)):  # fmt: skip
                add(
                    s,
                    "124I-trastuzumab",
                    t,
                    organ,
                    kind,
                    "suv_max",
                    v * rng.uniform(0.8, 1.2),
                    "SUVbw",
                )
    return pd.DataFrame(rows), subjects


def _doses() -> pd.DataFrame:
    rows = []
    for s, scale in (("P1", 1.0), ("P2", 1.05)):
        for target, v in (("heart_wall", 0.741), ("liver", 0.651), ("spleen", 0.617)):
            rows.append({"subject": s, "quantity": "absorbed_dose", "target": target,
                         "value": v * scale, "sd": 0.01, "unit": "mGy/MBq"})  # fmt: skip
        rows.append({"subject": s, "quantity": "effective_dose", "target": "whole_body",
                     "value": 0.3011 * scale, "sd": 0.005, "unit": "mSv/MBq"})  # fmt: skip
        rows.append({"subject": s, "quantity": "absorbed_dose_per_scan", "target": "liver",
                     "value": 0.651 * scale * 74, "sd": 1.0, "unit": "mGy"})  # fmt: skip
        rows.append({"subject": s, "quantity": "effective_dose_per_scan", "target": "whole_body",
                     "value": 0.3011 * scale * 74, "sd": 0.4, "unit": "mSv"})  # fmt: skip
    return pd.DataFrame(rows)


def _preclinical(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for group, tumour in (("124I-trastuzumab HER2+", 11.9), ("124I-hIgG1 HER2+", 3.8),
                          ("124I-trastuzumab HER2-", 5.0)):  # fmt: skip
        for t in (2.0, 24.0, 48.0):
            for a in range(5):
                animal = f"{group[:6]}-{a}"
                rows.append({"animal": animal, "group": group, "time_h": t, "region": "tumour",
                             "percent_id_per_g": tumour * rng.uniform(0.9, 1.1)})  # fmt: skip
                rows.append({"animal": animal, "group": group, "time_h": t, "region": "muscle",
                             "percent_id_per_g": rng.uniform(1.0, 1.5)})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = np.random.default_rng(11)
    out = tmp_path_factory.mktemp("run")
    tables = out / "tables"
    tables.mkdir()
    m, subjects = _measurements(rng)
    m.to_parquet(tables / "measurements.parquet")
    subjects.to_parquet(tables / "subjects.parquet")
    study_statistics(m, subjects).to_parquet(tables / "statistics.parquet")
    _doses().to_parquet(tables / "doses.parquet")
    _preclinical(rng).to_parquet(tables / "preclinical.parquet")
    pd.DataFrame({"subject": ["P1"], "region": ["liver"], "nuclide": ["124I"],
                  "tia_bq_h": [1.2e9], "tiac_h": [16.2], "tiac_h_sd": [0.8],
                  "model": ["trapezoid"], "effective_half_life_h": [60.1]}).to_parquet(
        tables / "tias.parquet")  # fmt: skip
    (out / "mip").mkdir()
    vol = Volume(
        rng.random((12, 10, 8)).astype(np.float32), spacing_mm=(4.0, 4.0, 4.0), unit="SUVbw"
    )
    (out / "mip" / "P1_124I_24h.png").write_bytes(mip_figure(vol, title="P1 24 h"))
    run = {"study": "Reference <study>", "version": "9.9.9", "tasks": 12, "computed": 12,
           "options": {"suv": "bw", "lesions": {"method": "relative", "threshold": 0.41,
                                                "min_diameter_mm": 10.0},
                       "dosimetry": {"phantom": "adult-male"},
                       "statistics": {"dispersion": "sd",
                                      "detection": {"metric": "tnr_background", "threshold": 1.5},
                                      "cutoffs": [{"metric": "suv_max", "value": 4.0,
                                                   "time": "24h", "group": "her2"}]}}}  # fmt: skip
    (out / "run.json").write_text(json.dumps(run))
    (out / "errors.json").write_text(json.dumps([
        {"subject": "P9", "step": "scan", "task": "scan:P9", "error_type": "InputError",
         "message": "no PatientWeight"}]))  # fmt: skip
    path = write_report(out)  # rendered once: the tests below read the same file
    assert path == out / "report.html"
    return out, m, subjects, path.read_text(encoding="utf-8")


def test_report_has_every_section_and_numbers(run_dir):
    out, m, subjects, html = run_dir
    for section_id in ("cohort", "lesions", "dotplot", "statistics", "tacs", "tnr", "mip",
                       "dosimetry", "preclinical", "methods", "notices"):  # fmt: skip
        assert f'<section id="{section_id}">' in html
    assert "Not available" not in html
    # The Fig-5 p-value of tracer HER2+ vs HER2− at 24 h, as computed independently.
    lt = lesion_table(m, subjects)
    at24 = lt[(lt.tracer == "124I-trastuzumab") & (lt.time_point_h == 24.0)]
    p = student_t_test(at24[at24.her2 == "positive"].suv_max, at24[at24.her2 == "negative"].suv_max)
    fdg = lt[lt.tracer == "18F-FDG"]
    p_fdg = student_t_test(fdg[fdg.her2 == "positive"].suv_max, fdg[fdg.her2 == "negative"].suv_max)
    print("Fig-5 p-values:", p.p_text, p_fdg.p_text)
    assert str(escape(p.p_text)) in html and str(escape(p_fdg.p_text)) in html
    assert "(mean ± SD, n = 9)" in html  # the spread is named next to every mean
    assert "<td>P4</td>" in html  # a lesion without a group label still has its row
    # TAC table: median (range) of liver SUVmax across subjects at 24 h.
    liver = m[(m.region == "liver") & (m.time_h == 24.2)].value
    assert f"{liver.median():.2f} ({liver.min():.2f}–{liver.max():.2f})" in html
    # Dose table: effective dose mean ± SD over the two subjects, per-scan range.
    eff = np.array([0.3011, 0.3011 * 1.05])
    assert f"Effective dose = {eff.mean():.4f} ± {eff.std(ddof=1):.4f} mSv/MBq" in html
    assert f"{eff.min() * 74:.2f}–{eff.max() * 74:.2f} mSv" in html
    assert "heart wall" in html
    liver = 0.651 * 74 * np.array([1.0, 1.05])
    assert f"{liver.mean():.3g} ({liver.min():.2f}–{liver.max():.2f})" in html
    assert "1.2e+09" in html  # TIA in Bq·h, general format
    # Methods paragraph generated from the options, with version, phantom and thresholds.
    assert "immunopet 9.9.9" in html
    assert (
        "ICRP 89 adult male reference phantom" in html
        and str(escape("41 % of the lesion's SUVmax")) in html
    )
    assert "lesion-to-background ratio (tnr_background) was ≥ 1.5" in html
    assert "suv_max ≥ 4 at 24h" in html
    # Notices, errors, escaping of user text.
    assert "Endo" in html and "Eckerman" in html and "not-for-profit" in html
    assert "Research use only" in html
    assert "no PatientWeight" in html
    assert "Reference &lt;study&gt;" in html and "Reference <study>" not in html


def test_report_is_self_contained(run_dir):
    _, _, _, html = run_dir
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html)  # only data: URIs and anchors
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 7
    assert all(base64.b64decode(b).startswith(PNG_MAGIC) for b in images)


def test_preclinical_tests_in_report_match_scipy(run_dir):
    from scipy import stats as sps

    out, _, _, html = run_dir
    pre = pd.read_parquet(out / "tables" / "preclinical.parquet")
    t = pre[(pre.region == "tumour") & (pre.time_h == 24.0)]
    a = t[t.group == "124I-trastuzumab HER2+"].percent_id_per_g
    b = t[t.group == "124I-hIgG1 HER2+"].percent_id_per_g
    res = sps.ttest_ind(a, b)
    assert f"{res.statistic:.3f}" in html
    assert "tumour_to_muscle" in html


def test_missing_tables_give_notes_not_errors(tmp_path):
    (tmp_path / "tables").mkdir()
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Not available: this run wrote no tables/subjects.parquet" in html
    assert "Not available: this run saved no mip/*.png images" in html
    assert '<section id="methods">' in html and "Endo" in html
    with pytest.raises(InputError):
        write_report(tmp_path / "nope")


def test_tables_argument_and_summary_preclinical(tmp_path):
    # Published summaries (reference study, Fig. 1; ± as SD, n = 3 reproduces p = 0.0002).
    pre = pd.DataFrame({"group": ["tras", "hIgG1"], "time_h": [24.0, 24.0],
                        "mean": [11.91, 3.83], "sd": [1.08, 0.09], "n": [3, 3]})  # fmt: skip
    html = write_report(tmp_path, tables={"preclinical": pre}).read_text(encoding="utf-8")
    assert format_p(0.00021) == "p = 0.0002"
    assert "p = 0.0002" in html


def test_mip_figure_png_with_contours():
    arr = np.zeros((20, 16, 12), np.float32)
    arr[8:12, 6:10, 4:8] = 5.0
    labels = Volume((arr > 0).astype(np.uint8), spacing_mm=(2.0, 2.0, 3.0), unit="label")
    png = mip_figure(Volume(arr, spacing_mm=(2.0, 2.0, 3.0), unit="SUVbw"), labels, title="x")
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    # Without labels, and with an all-zero volume (vmax falls back to 1).
    assert mip_figure(Volume(np.zeros((4, 4, 4)), spacing_mm=(1, 1, 1))).startswith(PNG_MAGIC)


def test_spread_option_switches_to_sem(tmp_path):
    m, subjects = _measurements(np.random.default_rng(3))
    html = write_report(
        tmp_path,
        tables={"measurements": m, "subjects": subjects},
        options={"statistics": {"dispersion": "sem"}},
    ).read_text(encoding="utf-8")
    assert "(mean ± SEM, n = 9)" in html and "(mean ± SD, n = 9)" not in html
    assert "Data are given as mean ± SEM" in html
