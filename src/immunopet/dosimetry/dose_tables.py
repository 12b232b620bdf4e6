"""Table-2-style summaries of organ doses (mean ± SD over subjects), Markdown and HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "REFERENCE_STUDY_TABLE2",
    "TABLE2_ROWS",
    "table2_html",
    "table2_markdown",
    "table2_summary",
]

#: The reference study's Table 2 (124I-trastuzumab PET in gastric cancer, OLINDA/EXM with
#: heart, liver, spleen, kidneys and bladder as sources + remainder, mean of 5 patients),
#: mGy/MBq; ``whole_body`` is the effective dose (mSv/MBq). "Heart" is reported as heart
#: wall, "bladder" as urinary bladder wall, "gallbladder" as gallbladder wall.
REFERENCE_STUDY_TABLE2: dict[str, float] = {
    "adrenals": 0.35, "brain": 0.088, "oesophagus": 0.269, "gallbladder_wall": 0.388,
    "left_colon": 0.027, "small_intestine": 0.025, "right_colon": 0.026, "stomach_wall": 0.039,
    "heart_wall": 0.741, "kidneys": 0.396, "liver": 0.651, "lungs": 0.17, "pancreas": 0.24,
    "red_marrow": 0.183, "bone_surfaces": 0.177, "spleen": 0.617, "thyroid": 0.463,
    "urinary_bladder_wall": 0.346, "total_body": 0.201, "whole_body": 0.3011,
}  # fmt: skip

#: Rows of the reference study's Table 2 (display name → our target).
TABLE2_ROWS: tuple[tuple[str, str], ...] = (
    ("Adrenals", "adrenals"),
    ("Brain", "brain"),
    ("Oesophagus", "oesophagus"),
    ("Gallbladder wall", "gallbladder_wall"),
    ("Left colon", "left_colon"),
    ("Small intestine", "small_intestine"),
    ("Stomach wall", "stomach_wall"),
    ("Right colon", "right_colon"),
    ("Rectosigmoid colon", "rectosigmoid_colon"),
    ("Heart wall", "heart_wall"),
    ("Kidneys", "kidneys"),
    ("Liver", "liver"),
    ("Lungs", "lungs"),
    ("Pancreas", "pancreas"),
    ("Red marrow", "red_marrow"),
    ("Bone surfaces", "bone_surfaces"),
    ("Spleen", "spleen"),
    ("Thyroid", "thyroid"),
    ("Urinary bladder wall", "urinary_bladder_wall"),
    ("Total body", "total_body"),
)


def table2_summary(doses: pd.DataFrame) -> pd.DataFrame:
    """Mean ± SD over subjects of the absorbed doses (mGy/MBq) and effective dose (mSv/MBq)."""
    rows = []
    d = doses[doses["quantity"].isin(["absorbed_dose", "effective_dose"])]
    for label, target in (*TABLE2_ROWS, ("Effective dose", "whole_body")):
        v = d.loc[d["target"] == target, "value"].to_numpy(dtype=float)
        if not len(v):
            continue
        unit = "mSv/MBq" if target == "whole_body" else "mGy/MBq"
        sd = float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
        rows.append(
            dict(organ=label, target=target, mean=float(np.mean(v)), sd=sd, n=len(v), unit=unit)
        )
    return pd.DataFrame(rows, columns=["organ", "target", "mean", "sd", "n", "unit"])


def table2_markdown(summary: pd.DataFrame, *, title: str = "Organ absorbed doses") -> str:
    """Markdown table (``organ | mean ± SD | unit``) of :func:`table2_summary`."""
    lines = [
        f"**{title}** (mean ± SD over subjects)",
        "",
        "| Organ | Dose | Unit |",
        "|---|---|---|",
    ]
    for r in summary.itertuples(index=False):
        sd = "" if not np.isfinite(r.sd) else f" ± {r.sd:.3g}"
        lines.append(f"| {r.organ} | {r.mean:.3g}{sd} | {r.unit} |")
    return "\n".join(lines) + "\n"


def table2_html(summary: pd.DataFrame) -> str:
    """HTML version of :func:`table2_markdown`."""
    return summary.to_html(index=False, float_format=lambda v: f"{v:.3g}")
