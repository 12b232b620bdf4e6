"""Domain objects of one PET acquisition: :class:`Acquisition` and :class:`Scan`.

These are plain, immutable records filled by :mod:`immunopet.io` at the edge
(DICOM, NIfTI + PET-BIDS sidecar, study file overrides). The science in
:mod:`immunopet.quant` trusts them.

Two kinds of activity are kept apart everywhere (ARCHITECTURE.md):

* concentration decay-corrected to the injection time — for SUV and %ID/g;
* activity actually present at the scan time — for dosimetry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from .nuclides import Nuclide
from .volume import Volume

__all__ = ["Acquisition", "DecayCorrection", "Scan"]

#: DICOM (0054,1102) DecayCorrection: the time the pixel values are decay-corrected to.
#: START = acquisition start, ADMIN = radiopharmaceutical administration, NONE = not corrected.
DecayCorrection = Literal["START", "ADMIN", "NONE"]


@dataclass(frozen=True)
class Acquisition:
    """What the header (or the study file) says about one PET acquisition.

    Attributes
    ----------
    nuclide
        The radionuclide, with its ICRP-107 half-life.
    units
        DICOM (0054,1001) Units of the rescaled pixel values: ``"BQML"``,
        ``"CNTS"``, ``"GML"`` (already SUVbw), ``"PROPCPS"``…
    decay_correction
        DICOM (0054,1102): ``"START"``, ``"ADMIN"`` or ``"NONE"``.
    scan_start_datetime
        Reference start of the acquisition (QIBA: SeriesDate/Time unless it is
        later than the earliest AcquisitionDateTime — the GE rule).
    injection_datetime
        Radiopharmaceutical start (administration) date-time, if known.
    injected_activity_bq
        Activity administered at ``injection_datetime`` (Bq), if known.
    patient_weight_kg, patient_height_m, patient_sex
        Patient data, if known (sex ``"M"``, ``"F"`` or ``"O"``).
    frame_duration_s
        Frame duration of the acquisition (s), if known.
    decay_reference_datetime
        The time the pixel values are decay-corrected to, when it differs from
        what ``decay_correction`` implies (e.g. Siemens/BIDS ``TimeZero``).
    header_half_life_s
        The half-life written in the header (RadionuclideHalfLife), for a
        consistency check against ICRP-107 only.
    vendor_suv_bw_factor
        Philips private (7053,1000) SUV scale factor, if present.
    vendor_activity_scale_factor
        Philips private (7053,1009) activity-concentration scale factor
        (Bq/mL per stored count), if present.
    tracer
        Radiopharmaceutical name as given (e.g. ``"124I-trastuzumab"``).
    modality, manufacturer, series_instance_uid, series_description, source
        Provenance; ``source`` is the file or folder read.
    utc_offset_h
        UTC offset (h, east positive) of the local time in which every date-time
        above is expressed (all are naive): DICOM TimezoneOffsetFromUTC (0008,0201)
        of the series (PS3.3 C.12.1), or the explicit offset of a PET-BIDS ISO
        date-time ``TimeZero``. ``None`` when the source declares none: the times are
        then in an unspecified local time, consistent with each other only if they
        were written in one zone.
    """

    nuclide: Nuclide
    units: str
    decay_correction: DecayCorrection
    scan_start_datetime: datetime | None
    injection_datetime: datetime | None = None
    injected_activity_bq: float | None = None
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    patient_sex: str | None = None
    frame_duration_s: float | None = None
    decay_reference_datetime: datetime | None = None
    header_half_life_s: float | None = None
    vendor_suv_bw_factor: float | None = None
    vendor_activity_scale_factor: float | None = None
    tracer: str | None = None
    modality: str = "PT"
    manufacturer: str | None = None
    series_instance_uid: str | None = None
    series_description: str | None = None
    patient_id: str | None = None
    source: str | None = None
    #: True when the injection *date* was inferred (no RadiopharmaceuticalStartDateTime).
    injection_date_inferred: bool = False
    utc_offset_h: float | None = None
    #: DICOM SUVType (0054,1006) of GML images: ``BW``, ``BSA``, ``LBM``, ``IBW`` (None: BW).
    suv_type: str | None = None

    def replace(self, **changes: object) -> Acquisition:
        """A copy with some fields changed (e.g. a weight from the study file)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def time_post_injection_s(self) -> float | None:
        """Scan start minus injection (s), when both are known."""
        if self.scan_start_datetime is None or self.injection_datetime is None:
            return None
        return (self.scan_start_datetime - self.injection_datetime).total_seconds()

    @property
    def time_post_injection_h(self) -> float | None:
        """Scan start minus injection (h), when both are known."""
        s = self.time_post_injection_s
        return None if s is None else s / 3600.0


@dataclass(frozen=True)
class Scan:
    """One PET image (optionally with its CT) of one subject at one time point.

    Attributes
    ----------
    pet
        The PET volume in its stored unit (``acquisition.units`` after rescale).
    acquisition
        Header information needed to turn ``pet`` into SUV / Bq.
    ct
        The CT volume (HU) of the same session, if any.
    subject_id, scan_id
        Identifiers used in every table row.
    """

    pet: Volume
    acquisition: Acquisition
    ct: Volume | None = None
    subject_id: str = ""
    scan_id: str = ""
    extras: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def tracer(self) -> str:
        return self.acquisition.tracer or self.acquisition.nuclide.name

    @property
    def time_post_injection_h(self) -> float | None:
        return self.acquisition.time_post_injection_h

    def replace(self, **changes: object) -> Scan:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
