"""Blood-based red-marrow activity for antibodies (EANM 2010 / Sgouros 1993).

For radiolabelled antibodies that do not bind to marrow, blood or marrow cells,
the marrow extracellular fluid equilibrates with plasma, so the red-marrow TIA
follows the blood's (Sgouros, J Nucl Med 1993;34:689–694; EANM Dosimetry
Committee guidelines, Hindorf et al., Eur J Nucl Med Mol Imaging 2010;37:1238–1250,
eq. 2):

    Ã_RM = RMBLR · (Ã_blood / m_blood) · m_RM

with the red-marrow-to-blood activity-concentration ratio RMBLR = 0.36 when no
better (patient- or tracer-specific) value is known (Sgouros 1993: RMECFF 0.19 /
(1 − haematocrit 0.47); the value the EANM guideline recommends for IgG, whose
marrow-to-blood ratio was measured 0.2–0.4). The red-marrow dose is then the MIRD
sum with this marrow source: its self-dose plus the cross-dose from the organs and
the remainder of body (the marrow activity taken out of the remainder).

Blood activity per gram from the blood-pool VOI: Ã per mL of the VOI over the
whole-blood density, 1.06 g/mL (ICRP Publication 89 reference value).
"""

from __future__ import annotations

import math

from ..core.errors import InvalidValueError

__all__ = [
    "BLOOD_DENSITY_G_PER_ML",
    "RMBLR_IGG",
    "is_antibody",
    "marrow_tiac_from_blood",
]

#: Red-marrow-to-blood concentration ratio for IgG without marrow targeting (Sgouros 1993;
#: EANM, Hindorf et al. 2010).
RMBLR_IGG = 0.36

#: Whole-blood density, g/mL (ICRP Publication 89).
BLOOD_DENSITY_G_PER_ML = 1.06


def is_antibody(tracer: str | None) -> bool:
    """Whether a tracer name is a monoclonal antibody (INN stem ``-mab``: trastuzumab, …)."""
    if not tracer:
        return False
    text = str(tracer).lower()
    return "mab" in text or "igg" in text or "antibod" in text


def marrow_tiac_from_blood(
    blood_tiac_h_per_ml: float, red_marrow_mass_g: float, rmblr: float = RMBLR_IGG
) -> float:
    """Red-marrow TIAC (h) from the blood's TIAC per mL (h/mL), Sgouros / EANM 2010 eq. 2.

    Raises
    ------
    InvalidValueError
        A non-finite or negative concentration, a non-positive mass or RMBLR.
    """
    if not (math.isfinite(blood_tiac_h_per_ml) and blood_tiac_h_per_ml >= 0):
        raise InvalidValueError(
            "blood TIAC per mL must be finite and ≥ 0",
            field="tiac_h_per_ml (blood)",
            value=blood_tiac_h_per_ml,
        )
    if not (red_marrow_mass_g > 0 and rmblr > 0):
        raise InvalidValueError(
            "red-marrow mass and RMBLR must be positive",
            field="red_marrow_mass_g, rmblr",
            value=(red_marrow_mass_g, rmblr),
        )
    return rmblr * blood_tiac_h_per_ml / BLOOD_DENSITY_G_PER_ML * red_marrow_mass_g
