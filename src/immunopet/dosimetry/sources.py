"""Source regions of the organ dosimetry: TIAC checks and the remainder of body.

Names are resolved through the one organ vocabulary (:mod:`immunopet.core.organs`);
the remainder of body is the total body minus the named sources, as in OLINDA/EXM
and MIRD Pamphlet 21 (the activity not in a named source is spread uniformly over
the rest of the body).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

from ..core.errors import ImmunopetWarning, InvalidValueError
from ..core.nuclides import Nuclide
from ..core.organs import NON_ORGAN_PREFIXES
from ..core.organs import canonical_organ as canonical_region

__all__ = ["validate_tiac"]


def validate_tiac(tiac_by_region: Mapping[str, float], nuclide: Nuclide) -> dict[str, float]:
    """Canonical names, summed duplicates (e.g. left + right kidney), physical checks."""
    tau_h = nuclide.mean_life_s / 3600.0
    out: dict[str, float] = {}
    for region, value in tiac_by_region.items():
        key = str(region).strip().lower()
        if key.startswith(NON_ORGAN_PREFIXES):
            warnings.warn(
                f"region {region!r} is not an organ source and is left out of the organ doses",
                ImmunopetWarning,
                stacklevel=3,
            )
            continue
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise InvalidValueError(
                "time-integrated activity coefficients must be finite and ≥ 0",
                field=f"tiac_h ({region})",
                value=value,
            )
        name = canonical_region(region)
        out[name] = out.get(name, 0.0) + v
    for name, v in out.items():
        if v > tau_h * (1 + 1e-9):
            raise InvalidValueError(
                f"TIAC of {name} = {v:.4g} h exceeds the physical maximum, the mean life of "
                f"{nuclide.name} (T½/ln 2 = {tau_h:.4g} h): check units (h, per unit "
                "injected activity)",
                field=f"tiac_h ({name})",
                value=v,
            )
    organs_total = sum(v for k, v in out.items() if k != "total_body")
    if organs_total > tau_h * (1 + 1e-6):
        raise InvalidValueError(
            f"the TIACs sum to {organs_total:.4g} h, more than the mean life of "
            f"{nuclide.name} ({tau_h:.4g} h)",
            field="tiac_h",
            value=organs_total,
        )
    if "total_body" in out and len(out) > 1:
        if "remainder" in out:
            raise InvalidValueError(
                "give either total_body or remainder with the organ TIACs, not both",
                field="tiac_h",
            )
        rest = out.pop("total_body") - sum(out.values())
        if rest < -1e-9:
            raise InvalidValueError(
                "the total-body TIAC is smaller than the sum of the organ TIACs",
                field="tiac_h (total_body)",
                value=rest,
            )
        out["remainder"] = max(rest, 0.0)
    return out
