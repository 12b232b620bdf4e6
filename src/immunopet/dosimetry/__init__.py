"""Internal dosimetry: emissions, photon transport, sphere model (MIRD schema).

Photon transport and emission pieces (this package's core):

* :func:`emission_spectrum` — ICRP-107 photon lines and non-penetrating energy per decay;
* :func:`transport_photons` — Woodcock-tracking photon Monte Carlo in voxel geometry
  (NIST XCOM cross sections, Klein–Nishina, kerma approximation);
* :func:`sphere_self_dose_gy_per_bq_s`, :func:`sphere_dose_gy` — unit-density sphere
  model for tumour self-dose.
"""

from .emission import EmissionSpectrum, emission_spectrum
from .sphere import sphere_absorbed_fraction, sphere_dose_gy, sphere_self_dose_gy_per_bq_s
from .transport import TransportResult, transport_photons
from .xsections import MATERIAL_CODES, mass_attenuation_cm2_per_g

__all__ = [
    "MATERIAL_CODES",
    "EmissionSpectrum",
    "TransportResult",
    "emission_spectrum",
    "mass_attenuation_cm2_per_g",
    "sphere_absorbed_fraction",
    "sphere_dose_gy",
    "sphere_self_dose_gy_per_bq_s",
    "transport_photons",
]
