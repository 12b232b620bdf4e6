"""Lesion absorbed doses: each lesion's own TIA in a sphere of the lesion's volume.

D_lesion = Ã_lesion · S(sphere ← sphere; m = ρ V) (MIRD Pamphlet 21, eq. 3, the
lesion's self-dose only: cross-dose from organs and from other lesions is left out,
as in OLINDA/EXM's sphere model). The S-value comes from :func:`lesion_s_value`, the
one place to change the sphere model: :func:`immunopet.dosimetry.sphere.lesion_sphere_s_value`,
photon absorbed fractions from our photon Monte Carlo and electron absorbed fractions
φ_e(E, m) from our electron point kernels (β spectra, IC and Auger lines), so a
sub-gram lesion of an energetic β emitter keeps only the electron energy it absorbs.

The lesion's mass is its VOI volume (``volume_ml`` of the TIA table: the mean over the
scans of the VOI drawn on the reference scan) × a density of 1.0 g/mL (the unit-density
sphere of the MIRD/OLINDA sphere tables); its SD is the TIA's (``tiac_h_sd``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.nuclides import parse_nuclide_name

__all__ = ["LESION_QUANTITY", "lesion_dose_table", "lesion_s_value"]

#: ``quantity`` of the lesion rows of the dose table (mGy/MBq; ``_per_scan``: mGy).
LESION_QUANTITY = "lesion_absorbed_dose"
_DENSITY_G_PER_ML = 1.0


def lesion_s_value(nuclide: str, mass_g: float, density_g_per_ml: float = 1.0) -> float:
    """S(sphere ← sphere) in mGy/(MBq·s) of a lesion of ``mass_g`` (the sphere model)."""
    from .sphere import lesion_sphere_s_value

    return float(lesion_sphere_s_value(nuclide, mass_g, density_g_per_ml).s_mgy_per_mbq_s)


def lesion_dose_table(tias: pd.DataFrame, nuclides: list[str] | None = None) -> pd.DataFrame:
    """Dose-table rows of every lesion of ``tias`` with a TIAC and a volume.

    Parameters
    ----------
    tias
        A TIA table with lesion rows (region ``lesion…``) and their ``volume_ml``.
    nuclides
        The nuclides to give (default: every nuclide of the lesion rows).

    Returns
    -------
    pandas.DataFrame
        The dose-table columns with ``quantity = lesion_absorbed_dose`` (mGy/MBq) and
        ``…_per_scan`` (mGy, when the injected activity is known), target = lesion id,
        plus ``nuclide``, ``mass_g``, ``svalue_source``.
    """
    columns = ["subject", "quantity", "target", "value", "sd", "unit", "phantom", "nuclide",
               "mass_g", "svalue_source", "source_set"]  # fmt: skip
    if tias.empty or "volume_ml" not in tias or "region" not in tias:
        return pd.DataFrame(columns=columns)
    les = tias[tias["region"].astype(str).str.lower().str.startswith(("lesion", "tumo"))]
    les = les[pd.to_numeric(les["volume_ml"], errors="coerce") > 0]
    if "tiac_h" not in les and {"tia_bq_h", "injected_activity_bq"} <= set(les.columns):
        les = les.assign(tiac_h=les["tia_bq_h"] / les["injected_activity_bq"])
    rows = []
    cache: dict[tuple[str, float], float] = {}
    for r in les.itertuples(index=False):
        nuclide = parse_nuclide_name(str(r.nuclide))
        if nuclides is not None and nuclide not in nuclides:
            continue
        mass_g = float(r.volume_ml) * _DENSITY_G_PER_ML
        key = (nuclide, round(mass_g, 6))
        if key not in cache:
            cache[key] = lesion_s_value(nuclide, mass_g, _DENSITY_G_PER_ML)
        s = cache[key]
        tiac = float(r.tiac_h)
        sd = float(getattr(r, "tiac_h_sd", math.nan))
        value = tiac * 3600.0 * s  # mGy/MBq
        sd_value = (sd if np.isfinite(sd) else 0.0) * 3600.0 * s
        base = dict(subject=r.subject, target=r.region, phantom="sphere", nuclide=nuclide,
                    mass_g=mass_g, svalue_source="sphere model (immunopet.dosimetry.sphere)",
                    source_set="lesion_self")  # fmt: skip
        rows.append(dict(base, quantity=LESION_QUANTITY, value=value, sd=sd_value,
                         unit="mGy/MBq"))  # fmt: skip
        a0 = float(getattr(r, "injected_activity_bq", math.nan))
        if np.isfinite(a0) and a0 > 0:
            rows.append(dict(base, quantity=f"{LESION_QUANTITY}_per_scan", value=value * a0 / 1e6,
                             sd=sd_value * a0 / 1e6, unit="mGy"))  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
