"""Table-2-style summaries of organ doses (mean ± SD over subjects), Markdown and HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TABLE2_ROWS", "table2_html", "table2_markdown", "table2_summary"]

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
