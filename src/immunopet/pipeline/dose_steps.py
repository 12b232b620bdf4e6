"""The per-subject steps from time-activity points to organ doses (thin engine adapters).

=====================  ==============================================================
step                   calls
=====================  ==============================================================
``tacs``               :meth:`immunopet.workflow.MeasurementTable.curve_rows`
``tias``               :func:`immunopet.workflow.integrate`
``doses``              :func:`immunopet.workflow.organ_doses`
=====================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .store import covers, table_of

#: The recipe modules these steps run (keyed with them, see :func:`.store.covers`).
_RECIPE = ("immunopet.workflow.subject", "immunopet.workflow.tables")

__all__ = ["subject_doses", "subject_tacs", "subject_tias"]


@covers(*_RECIPE)
def subject_tacs(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """The subject's time-activity points (organs, blood, whole body, lesions) of the TAC tracer."""
    from ..workflow import MeasurementTable

    frames = [table_of(upstream[k]) for k in sorted(upstream)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return df
    return MeasurementTable(df).curve_rows(str(options["tracer"])).frame


@covers(*_RECIPE)
def subject_tias(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Time-integrated activity per organ of one subject (kinetics output table)."""
    from ..study import KineticsOptions
    from ..workflow import MeasurementTable, integrate

    tac = MeasurementTable(next(iter(upstream.values())))
    kinetics = KineticsOptions.model_validate(options["kinetics"])
    from ..core.schema import RegionKind

    kinds = (*RegionKind.organ_curve_kinds(), RegionKind.LESION)  # lesions: their own doses
    return integrate(tac, kinetics, tracer=options["tracer"], kinds=kinds).frame


@covers(*_RECIPE)
def subject_doses(options: Mapping[str, Any], upstream: Mapping[str, Any]) -> pd.DataFrame:
    """Organ absorbed doses and effective dose of one subject (dose output table)."""
    from ..study import DosimetryOptions
    from ..workflow import TiaTable, organ_doses

    tias = TiaTable(next(iter(upstream.values())))
    dosimetry = DosimetryOptions.model_validate(options["dosimetry"])
    return organ_doses(tias, dosimetry, tracer=options.get("tracer")).frame
