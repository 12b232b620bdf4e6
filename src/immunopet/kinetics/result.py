"""The result of integrating a time-activity curve: :class:`TiaResult`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.nuclides import Nuclide

__all__ = ["KINETICS_COLUMNS", "TiaResult"]

#: Columns of the kinetics output table (one row per subject·region), shared with dosimetry.
KINETICS_COLUMNS = (
    "subject",
    "region",
    "nuclide",
    "tia_bq_h",
    "tiac_h",
    "tiac_h_sd",
    "model",
    "effective_half_life_h",
    "injected_activity_bq",
)


@dataclass(frozen=True)
class TiaResult:
    """Time-integrated activity of one subject·region and how it was obtained.

    Attributes
    ----------
    subject, region, nuclide
        What was integrated.
    tia_bq_h
        Time-integrated activity Ã = ∫₀^∞ A(t) dt (Bq·h), MIRD Pamphlet 21 eq. 2.
    tia_bq_h_sd
        Its standard deviation (Bq·h); NaN when it cannot be estimated
        (no measurement SD and no residual degrees of freedom).
    injected_activity_bq
        Administered activity (Bq), or None.
    model
        The model used, e.g. ``"mono"``, ``"bi (auto: AICc)"``,
        ``"trapezoid + physical tail"``, ``"trapezoid (fallback: bi needs ≥ 3 points)"``.
    effective_half_life_h
        Effective half-life of the clearance (tail) phase (h).
    parameters
        Fitted / derived parameters (units in the names).
    covariance
        Parameter covariance (order of ``parameters``) or None.
    residuals_bq
        Model − measured activity at each time (Bq); zeros for the trapezoid.
    aicc
        Corrected Akaike information criterion of the fit (NaN when undefined).
    warnings
        Warnings raised while fitting (also emitted as ``ImmunopetWarning``).
    n_points
        Number of time points used.
    """

    subject: str
    region: str
    nuclide: Nuclide
    tia_bq_h: float
    tia_bq_h_sd: float
    injected_activity_bq: float | None
    model: str
    effective_half_life_h: float
    parameters: Mapping[str, float] = field(default_factory=dict)
    covariance: np.ndarray | None = None
    residuals_bq: np.ndarray = field(default_factory=lambda: np.zeros(0))
    aicc: float = math.nan
    warnings: tuple[str, ...] = ()
    n_points: int = 0

    @property
    def tiac_h(self) -> float:
        """Time-integrated activity coefficient (residence time) Ã / A₀ (h); NaN if A₀ unknown."""
        if not self.injected_activity_bq:
            return math.nan
        return self.tia_bq_h / self.injected_activity_bq

    @property
    def tiac_h_sd(self) -> float:
        """Standard deviation of :attr:`tiac_h` (h)."""
        if not self.injected_activity_bq:
            return math.nan
        return self.tia_bq_h_sd / self.injected_activity_bq

    def to_row(self) -> dict[str, Any]:
        """One row of the kinetics output table (:data:`KINETICS_COLUMNS` and extras)."""
        return {
            "subject": self.subject,
            "region": self.region,
            "nuclide": self.nuclide.name,
            "tia_bq_h": self.tia_bq_h,
            "tiac_h": self.tiac_h,
            "tiac_h_sd": self.tiac_h_sd,
            "model": self.model,
            "effective_half_life_h": self.effective_half_life_h,
            "injected_activity_bq": (
                math.nan if self.injected_activity_bq is None else self.injected_activity_bq
            ),
            "tia_bq_h_sd": self.tia_bq_h_sd,
            "n_points": self.n_points,
            "aicc": self.aicc,
            "warnings": "; ".join(self.warnings),
        }
