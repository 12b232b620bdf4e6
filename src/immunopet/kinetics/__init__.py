"""Kinetics: time-activity curves, fits with uncertainty, time-integrated activity.

From the tidy measurement table to the time-integrated activity (TIA, Bq·h) and
its coefficient (TIAC / residence time, h) per subject·region, for dosimetry:

* :class:`TimeActivityCurve`, :func:`curves_from_table` — curves of activity at scan time;
* :func:`fit_tac` — trapezoid (+ physical or fitted tail), mono- or bi-exponential
  fits, or the AICc-best, each with its uncertainty → :class:`TiaResult`;
* :func:`whole_body_tia_no_excretion`, :func:`remainder_tia` — whole body and remainder;
* :func:`bladder_tia_bq_h`, :func:`bladder_tia_from_whole_body` — dynamic bladder model;
* :func:`kinetics_table` — all of it as the kinetics output table (what ``immunopet tac`` writes).
"""

from __future__ import annotations

from .bladder import ICRP_VOIDING_INTERVAL_H, bladder_tia_bq_h, bladder_tia_from_whole_body
from .body import NO_EXCRETION_MODEL, remainder_tia, whole_body_tia_no_excretion
from .curves import TimeActivityCurve, curves_from_table, injected_activity_by_subject
from .exponential import ExponentialFit, aicc, fit_exponential
from .fit import MODELS, fit_tac
from .result import KINETICS_COLUMNS, TiaResult
from .table import kinetics_table
from .trapezoid import TrapezoidIntegral, integrate_trapezoid

__all__ = [
    "ICRP_VOIDING_INTERVAL_H",
    "KINETICS_COLUMNS",
    "MODELS",
    "NO_EXCRETION_MODEL",
    "ExponentialFit",
    "TiaResult",
    "TimeActivityCurve",
    "TrapezoidIntegral",
    "aicc",
    "bladder_tia_bq_h",
    "bladder_tia_from_whole_body",
    "curves_from_table",
    "fit_exponential",
    "fit_tac",
    "injected_activity_by_subject",
    "integrate_trapezoid",
    "kinetics_table",
    "remainder_tia",
    "whole_body_tia_no_excretion",
]
