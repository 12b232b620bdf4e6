"""SUV, SUL, SUVbsa, %ID/g and activity concentrations from a :class:`~immunopet.core.scan.Scan`.

Where things are:

* :mod:`.suv` — **SUV is computed here**: :func:`suv_bw_factor`, :func:`sul_factor`,
  :func:`suv_bsa_factor`, :func:`percent_id_per_g_factor`, :func:`suv_volume`;
* :mod:`.concentration` — stored pixel values → Bq/mL (pixel Units), at scan start
  (for dosimetry) or decay-corrected to injection;
* :mod:`.timing` — injection / scan-start / decay-reference times, the decay between
  them and the time-only-injection (same-day) rule;
* :mod:`.body_size` — lean body mass (Janmahasatian 2005) and body surface area
  (Du Bois 1916);
* :mod:`.acquisition_fields` — checked weight, height and injected activity.

The rules follow the QIBA vendor-neutral SUV pseudo-code (QIBA FDG-PET/CT
Technical Committee, "Standardized Uptake Value (SUV)" — *Vendor-neutral
pseudo-code for SUV calculation*, QIBA wiki,
https://qibawiki.rsna.org/index.php/Standardized_Uptake_Value_(SUV); the same
logic is implemented by cornerstonejs/calculate-suv):

* **Units** (0054,1001): ``BQML`` — rescaled pixels are Bq/mL; ``CNTS`` —
  Philips: the private (7053,1009) activity-concentration scale factor times
  the rescaled value gives Bq/mL, the private (7053,1000) SUV scale factor
  times it gives SUVbw; ``GML`` — pixels are already SUVbw (g/mL).
* **Decay correction** (0054,1102): ``START`` — values are decay-corrected to
  the scan start, so the injected dose is decayed from injection to scan
  start; ``ADMIN`` — values are corrected to the administration time, so the
  dose is not decayed; ``NONE`` — treated like ``START`` (see :mod:`.timing`).
* **Scan start**: SeriesDate/Time, or the earliest acquisition when SeriesTime
  was re-written at reconstruction (decided by :mod:`immunopet.io`).
* **Injection**: RadiopharmaceuticalStartDateTime is preferred over
  RadiopharmaceuticalStartTime (+ SeriesDate); a date inferred from SeriesDate is
  accepted only for a same-day scan of a short-lived nuclide, otherwise
  :class:`~immunopet.core.errors.AmbiguousTimeError` asks for it (see :mod:`.timing`).

The SUVbw factor multiplies the stored (rescaled) pixel values::

    SUVbw factor = conc_factor · weight_g / (dose_bq · 2^(−Δt / T½))

(details in :mod:`.suv`).
"""

from .acquisition_fields import WARN_REL_TOL as WARN_REL_TOL
from .body_size import body_surface_area_m2, lean_body_mass_kg
from .concentration import (
    activity_at_injection_factor,
    activity_at_scan_factor,
    activity_concentration_at_injection_bq_per_ml,
    activity_concentration_at_scan_bq_per_ml,
    concentration_factor_bq_per_ml,
    scaled_volume,
)
from .suv import (
    SuvKind,
    percent_id_per_g_factor,
    sul_factor,
    suv_bsa_factor,
    suv_bw_factor,
    suv_factor,
    suv_volume,
)
from .timing import (
    SAME_DAY_MAX_GAP_H,
    SAME_DAY_MAX_HALF_LIFE_H,
    check_header_half_life,
    decay_reference_datetime,
    decay_time_s,
    injection_datetime,
)

__all__ = [
    "SAME_DAY_MAX_GAP_H",
    "SAME_DAY_MAX_HALF_LIFE_H",
    "SuvKind",
    "activity_at_injection_factor",
    "activity_at_scan_factor",
    "activity_concentration_at_injection_bq_per_ml",
    "activity_concentration_at_scan_bq_per_ml",
    "body_surface_area_m2",
    "check_header_half_life",
    "concentration_factor_bq_per_ml",
    "decay_reference_datetime",
    "decay_time_s",
    "injection_datetime",
    "lean_body_mass_kg",
    "percent_id_per_g_factor",
    "sul_factor",
    "suv_bsa_factor",
    "suv_bw_factor",
    "suv_factor",
    "scaled_volume",
    "suv_volume",
]
