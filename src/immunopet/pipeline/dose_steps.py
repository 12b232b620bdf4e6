"""The per-subject steps from time-activity points to organ doses (engine task functions).

=====================  ==============================================================
step                   calls
=====================  ==============================================================
``tacs``               the subject's activity rows of the TAC tracer
``tias``               :func:`immunopet.kinetics.curves_from_table` → :func:`~immunopet.kinetics.fit_tac`;
                       with ``urinary_fraction`` the bladder contents from
                       :func:`~immunopet.kinetics.bladder_tia_from_whole_body`
``doses``              :func:`immunopet.dosimetry.organ_dose.organ_doses_table`
=====================  ==============================================================

Science modules are imported inside the functions, as in :mod:`.steps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .store import table_of

__all__ = ["subject_doses", "subject_tacs", "subject_tias"]


def subject_tacs(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The subject's time-activity points (organs, blood, whole body) of the TAC tracer."""
    frames = [table_of(upstream[k]) for k in sorted(upstream)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return df
    tracer = str(options["tracer"]).lower()
    keep = df["tracer"].astype(str).str.lower().str.contains(tracer, regex=False)
    keep &= df["region_kind"].isin(["organ", "blood", "whole_body", "lesion"])
    keep &= df["metric"].isin(
        ["activity_bq", "activity_decay_corrected_bq", "percent_ia", "suv_mean", "suv_max",
         "volume_ml", "injected_activity_bq"]
    )  # fmt: skip
    return (
        df[keep].sort_values(["region", "metric", "time_h"], kind="stable").reset_index(drop=True)
    )


def subject_tias(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Time-integrated activity per organ of one subject (kinetics output table)."""
    from ..kinetics import KINETICS_COLUMNS, curves_from_table, fit_tac

    tac = next(iter(upstream.values()))
    organs = tac[tac["region_kind"].isin(["organ", "blood", "whole_body"])]
    # A region outside the field of view at some time point measures NaN there: its
    # curve uses the time points where it was seen (regions never seen drop out).
    organs = organs[~((organs["metric"] == "activity_bq") & ~np.isfinite(organs["value"]))]
    results = [
        fit_tac(curve, options["model"], tail=options["tail"], warn=False)
        for curve in curves_from_table(organs, tracer=options["tracer"])
    ]
    if options.get("urinary_fraction") is not None:
        results = _with_dynamic_bladder(results, options)
    rows = [r.to_row() for r in results]
    return pd.DataFrame(rows, columns=None if rows else list(KINETICS_COLUMNS))


def _with_dynamic_bladder(results: list[Any], options: Mapping[str, Any]) -> list[Any]:
    """Replace the imaged bladder by the dynamic bladder model (MIRD Pamphlet 14 rev.).

    Falls back to the imaged bladder, with a warning, when there is no whole-body
    curve or it does not clear faster than physical decay.
    """
    import warnings

    from ..core.errors import ImmunopetError, ImmunopetWarning
    from ..kinetics import bladder_tia_from_whole_body

    whole_body = next((r for r in results if r.region == "whole_body"), None)
    try:
        if whole_body is None:
            raise ImmunopetError("no whole-body curve to take the urinary clearance from")
        bladder = bladder_tia_from_whole_body(
            whole_body,
            float(options["urinary_fraction"]),
            voiding_interval_h=float(options.get("voiding_interval_h", 3.5)),
        )
    except ImmunopetError as exc:
        warnings.warn(f"dynamic bladder model not used, imaged bladder kept: {exc}",
                      ImmunopetWarning, stacklevel=2)  # fmt: skip
        return results
    # The imaged wall is the spill-out of the urine it holds; in the MIRD schema the
    # contents irradiate the wall, which is not a source of its own.
    drop = {bladder.region, "urinary_bladder_wall"}
    return [r for r in results if r.region not in drop] + [bladder]


def subject_doses(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Organ absorbed doses and effective dose of one subject (dose output table).

    The measured field of view (``whole_body``) is the total-body source; organs
    named beside it turn it into the remainder of body (OLINDA-style). Regions the
    dosimetry phantom does not know (e.g. ``arm_bones``) and the blood pool are
    not sources of their own: their activity stays in the remainder (a warning
    names them).
    """
    import warnings

    from ..core.errors import ImmunopetError, ImmunopetWarning
    from ..dosimetry.organ_dose import organ_doses_table
    from ..dosimetry.organ_names import canonical_region

    tias = next(iter(upstream.values()))
    tias = tias[tias["region"] != "blood"].copy()
    tias["region"] = tias["region"].replace({"whole_body": "total_body"})
    unknown = []
    for region in tias["region"].unique():
        try:
            canonical_region(region)
        except ImmunopetError:
            unknown.append(str(region))
    if unknown:
        warnings.warn(
            f"regions without a phantom organ, left in the remainder of body: {sorted(unknown)}",
            ImmunopetWarning,
            stacklevel=1,
        )
        tias = tias[~tias["region"].isin(unknown)]
    nuclide = options.get("nuclide") or str(tias["nuclide"].iloc[0])
    return organ_doses_table(tias, nuclide, options["phantom"])
