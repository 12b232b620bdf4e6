"""End-to-end tests of ``immunopet tac`` on a small generated measurement table."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from immunopet.core.nuclides import Nuclide
from immunopet.kinetics import KINETICS_COLUMNS, bladder_tia_bq_h
from support.cli import exit_code as run

I124 = Nuclide.from_name("I-124")
LN2 = math.log(2.0)
INJECTED_BQ = 7.4e7


def _curve_bq(region: str, t: np.ndarray) -> np.ndarray:
    if region == "liver":  # clearing, T_eff 50 h
        return 8e6 * np.exp(-LN2 / 50 * t)
    if region == "tumour":  # uptake (8 h) and clearance (60 h)
        return 4e6 * (np.exp(-LN2 / 60 * t) - np.exp(-LN2 / 8 * t))
    if region == "total_body":  # whole body clears with T_eff 40 h
        return INJECTED_BQ * np.exp(-LN2 / 40 * t)
    raise KeyError(region)


def write_table(path: Path, times: tuple[float, ...], with_injected: bool = True) -> Path:
    kinds = {"liver": "organ", "tumour": "lesion", "total_body": "whole_body"}
    rows = []
    for region, kind in kinds.items():
        act = _curve_bq(region, np.asarray(times, dtype=float))
        for i, (t, a) in enumerate(zip(times, act, strict=True)):
            base = dict(subject="p1", scan_id=f"s{i}", tracer="124I-trastuzumab",
                        nuclide="I-124", time_h=t, region=region, region_kind=kind)  # fmt: skip
            rows.append({**base, "metric": "activity_bq", "value": a, "unit": "Bq"})
            rows.append({**base, "metric": "suv_mean", "value": a / 1e6, "unit": "g/mL"})
    if with_injected:
        rows.append(dict(subject="p1", scan_id="s0", tracer="124I-trastuzumab", nuclide="I-124",
                         time_h=times[0], region="", region_kind="", metric="injected_activity_bq",
                         value=INJECTED_BQ, unit="Bq"))  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_tac_three_points_trapezoid_physical_tail(tmp_path: Path) -> None:
    times = (1.0, 24.0, 48.0)
    table = write_table(tmp_path / "m.csv", times)
    out, png = tmp_path / "tia.csv", tmp_path / "tac.png"
    argv = ["tac", str(table), "-o", str(out), "--plot", str(png)]
    # The study model's default tail is "fit"; this hand calculation is of the physical tail.
    assert run(argv + ["--tail", "physical", "--remainder"]) == 0
    raw = pd.read_csv(out)
    assert list(raw.columns[: len(KINETICS_COLUMNS)]) == list(KINETICS_COLUMNS)
    tia = raw.set_index("region")
    assert png.read_bytes()[:4] == b"\x89PNG"
    # Hand calculation: linear head, trapezoids, physical tail A(48 h)/λ_phys (ICRP-107).
    a = _curve_bq("liver", np.array(times))
    lam_p = LN2 / 100.224
    expected = 0.5 * a[0] + 23 * (a[0] + a[1]) / 2 + 24 * (a[1] + a[2]) / 2 + a[2] / lam_p
    assert tia.loc["liver", "tia_bq_h"] == pytest.approx(expected, rel=1e-9)
    assert tia.loc["liver", "tiac_h"] == pytest.approx(expected / INJECTED_BQ, rel=1e-9)
    assert tia.loc["liver", "model"] == "trapezoid + physical tail (auto: 3 points, AICc needs ≥ 5)"
    assert tia.loc["liver", "effective_half_life_h"] == pytest.approx(100.224)
    # Remainder = whole body − organs (the lesion is not a source organ).
    assert tia.loc["remainder", "tia_bq_h"] == pytest.approx(
        tia.loc["total_body", "tia_bq_h"] - tia.loc["liver", "tia_bq_h"], rel=1e-12
    )


def test_tac_five_points_auto_with_sd_and_bladder(tmp_path: Path) -> None:
    times = (1.0, 24.0, 48.0, 72.0, 96.0)
    table = write_table(tmp_path / "m.csv", times)
    out = tmp_path / "tia.csv"
    argv = ["tac", str(table), "-o", str(out), "--cv", "0.05", "--urinary-fraction", "0.5"]
    assert run(argv + ["--remainder"]) == 0
    tia = pd.read_csv(out).set_index("region")
    assert tia.loc["tumour", "model"] == "bi (auto: AICc)"
    assert tia.loc["liver", "model"] == "mono (auto: AICc)"
    assert tia.loc["total_body", "model"] == "mono (auto: AICc)"
    # Analytic integrals (exact to solver precision on noise-free data).
    assert tia.loc["liver", "tia_bq_h"] == pytest.approx(8e6 * 50 / LN2, rel=1e-6)
    assert tia.loc["tumour", "tia_bq_h"] == pytest.approx(4e6 * (60 - 8) / LN2, rel=1e-6)
    assert tia.loc["liver", "effective_half_life_h"] == pytest.approx(50.0, rel=1e-6)
    assert tia.loc["liver", "tiac_h_sd"] > 0
    t_b = 1 / (1 / 40 - 1 / 100.224)
    bladder = bladder_tia_bq_h(INJECTED_BQ, I124, 0.5, t_b)
    assert tia.loc["urinary_bladder_contents", "tia_bq_h"] == pytest.approx(bladder, rel=1e-6)
    assert tia.loc["remainder", "tia_bq_h"] == pytest.approx(
        tia.loc["total_body", "tia_bq_h"] - tia.loc["liver", "tia_bq_h"] - bladder, rel=1e-9
    )


def test_tac_injected_override_and_explicit_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = write_table(tmp_path / "m.csv", (1.0, 24.0, 48.0), with_injected=False)
    out = tmp_path / "tia.csv"
    argv = ["tac", str(table), "-o", str(out), "--injected-mbq", "74", "--model", "mono"]
    argv += ["--no-remainder"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI prints warnings (here: mono on the tumour)
        assert run(argv) == 0
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "p1/tumour: mono-exponential fitted to a curve that rises up to t = 24 h" in err
    tia = pd.read_csv(out).set_index("region")
    assert "remainder" not in tia.index
    assert tia.loc["liver", "tiac_h"] == pytest.approx(8e6 * 50 / LN2 / 74e6, rel=1e-6)
    assert (tia["injected_activity_bq"] == 74e6).all()


def test_tac_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = write_table(tmp_path / "m.csv", (1.0, 24.0), with_injected=False)
    assert run(["tac", str(table), "-o", str(tmp_path / "x.csv")]) == 2
    assert "--injected-mbq" in capsys.readouterr().err
    assert run(["tac", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "x.csv")]) == 2
    bad = pd.read_csv(table)
    bad.loc[0, "value"] = -1.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    argv = ["tac", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "x.csv"), "--injected-mbq", "74"]
    assert run(argv) == 2
    assert "negative activity" in capsys.readouterr().err
    argv = ["tac", str(table), "-o", str(tmp_path / "x.csv"), "--injected-mbq", "74"]
    assert run(argv + ["--model", "cubic"]) == 2
