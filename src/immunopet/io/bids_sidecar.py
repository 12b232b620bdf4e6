"""PET-BIDS sidecar of a DICOM PET series: the REQUIRED keys from the DICOM header.

BIDS specification v1.10, "Positron Emission Tomography", sidecar tables
(Hardware, Radiochemistry, Time, Reconstruction). Each key comes from the DICOM
attribute named beside it; times are seconds relative to ``TimeZero`` = the
injection (DICOM RadiopharmaceuticalStartDateTime, PS3.3 C.8.9.1.1.x), as the
spec recommends ("This should be equal to InjectionStart or ScanStart").

========================  ==================================================  ===============
BIDS key                  DICOM source                                        if absent
========================  ==================================================  ===============
Manufacturer              Manufacturer (0008,0070)                            required [1]_
ManufacturersModelName    ManufacturerModelName (0008,1090)                   required [1]_
Units                     ``Bq/mL``: the voxels are written converted [4]_        —
TracerName                Radiopharmaceutical (0018,0031)                     required [1]_
TracerRadionuclide        Radionuclide Code Sequence / half-life match        —
InjectedRadioactivity     Radionuclide Total Dose (0018,1074), Bq → MBq        —
InjectedMass, Specific…   not in DICOM                                        ``n/a`` [2]_
ModeOfAdministration      not in DICOM                                        required [1]_
TimeZero, InjectionStart  Radiopharmaceutical Start (Date)Time                —
ScanStart                 Acquisition/Series date-time − injection            —
FrameTimesStart           [ScanStart] (one static frame)                      —
FrameDuration             Actual Frame Duration (0018,1242), ms → s           required [1]_
AcquisitionMode           not in DICOM                                        required [1]_
ImageDecayCorrected       Decay Correction (0054,1102) ≠ NONE                 —
ImageDecayCorrectionTime  START → ScanStart, ADMIN → 0                        —
ReconMethodName           Reconstruction Method (0054,1103)                   required [1]_
ReconMethodParameter*     iterations/subsets parsed from it ("4i21s")         ``["none"]`` [3]_
ReconFilterType / Size    Convolution Kernel (0018,1210), FWHM mm parsed      required [1]_
AttenuationCorrection     Attenuation Correction Method (0054,1101)           required [1]_
========================  ==================================================  ===============

.. [1] :class:`~immunopet.core.errors.MissingFieldError` naming the DICOM file and
   attribute, unless the caller gives the value (``overrides``, the CLI's
   ``--set KEY=VALUE``).
.. [2] The spec allows ``"n/a"`` for InjectedMass, InjectedMassUnits,
   SpecificRadioactivity and SpecificRadioactivityUnits when they are unknown.
.. [4] :func:`immunopet.io.bids_write.export_pet_series` writes Bq/mL whatever Units
   (0054,1001) says: BQML as stored, Philips CNTS × (7053,1009), GML × decayed
   dose / weight (:func:`immunopet.quant.concentration.concentration_factor_bq_per_ml`).
.. [3] The spec's value when the method has no parameter ("none", unit "none", 0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydicom.dataset import Dataset

from ..core.errors import MissingFieldError
from ..core.scan import Acquisition
from .dicom_time import parse_dt
from .nifti import patient_sidecar_fields

__all__ = ["REQUIRED_PET_KEYS", "pet_sidecar_from_dicom", "recon_parameters"]

#: The REQUIRED keys of a PET sidecar (BIDS v1.10 PET tables; bids-validator 3 SIDECAR_KEY_REQUIRED).
REQUIRED_PET_KEYS = (
    "Manufacturer",
    "ManufacturersModelName",
    "Units",
    "TracerName",
    "TracerRadionuclide",
    "InjectedRadioactivity",
    "InjectedRadioactivityUnits",
    "InjectedMass",
    "InjectedMassUnits",
    "SpecificRadioactivity",
    "SpecificRadioactivityUnits",
    "ModeOfAdministration",
    "TimeZero",
    "ScanStart",
    "InjectionStart",
    "FrameTimesStart",
    "FrameDuration",
    "AcquisitionMode",
    "ImageDecayCorrected",
    "ImageDecayCorrectionTime",
    "ReconMethodName",
    "ReconMethodParameterLabels",
    "ReconMethodParameterUnits",
    "ReconMethodParameterValues",
    "ReconFilterType",
    "ReconFilterSize",
    "AttenuationCorrection",
)

_ITER_RE = re.compile(r"(\d+)\s*i(?:ter(?:ations?)?)?(?![a-z])", re.IGNORECASE)
_SUBSET_RE = re.compile(r"(\d+)\s*s(?:ubsets?)?(?![a-z])", re.IGNORECASE)
_FWHM_RE = re.compile(r"(\d+(?:\.\d+)?)")


def recon_parameters(method: str) -> tuple[list[str], list[str], list[float]]:
    """Iterations and subsets of a DICOM Reconstruction Method string.

    Vendors write them as ``"OSEM3D 4i21s"`` (Siemens), ``"VPFXS 3i 18s"`` (GE) or
    ``"... 3 iterations 21 subsets"``; without them: ``(["none"], ["none"], [0])``
    (BIDS: "none" when the method has no parameter).
    """
    labels, values = [], []
    for name, rx in (("subsets", _SUBSET_RE), ("iterations", _ITER_RE)):
        m = rx.search(method)
        if m:
            labels.append(name)
            values.append(float(m.group(1)))
    if not labels:
        return ["none"], ["none"], [0.0]
    return labels, ["none"] * len(labels), values


def _filter(kernel: str) -> tuple[str, float]:
    """(ReconFilterType, ReconFilterSize mm) of a Convolution Kernel such as ``XYZGAUSSIAN5.00``."""
    text = kernel.strip()
    if not text or text.lower() in {"none", "all-pass", "allpass"}:
        return "none", 0.0
    m = _FWHM_RE.search(text)
    name = re.sub(r"[\d.]+\s*(mm)?", "", text).strip(" _-") or text
    return name, float(m.group(1)) if m else 0.0


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if not isinstance(value, str) and hasattr(value, "__iter__"):
        value = " ".join(str(v) for v in value)
    return str(value).strip()


def pet_sidecar_from_dicom(
    ds: Dataset,
    acq: Acquisition,
    *,
    source: str,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The PET-BIDS sidecar of one PET series.

    Parameters
    ----------
    ds
        A header of the series (its first slice).
    acq
        The series' :class:`~immunopet.core.scan.Acquisition` (times, activity, units),
        as :func:`immunopet.io.dicom.series_acquisition` reads it.
    source
        The DICOM file or folder, named in errors.
    overrides
        BIDS keys given by the caller; they replace or complete the header values.

    Raises
    ------
    MissingFieldError
        A REQUIRED key that the header does not hold and ``overrides`` does not give,
        or no injection time / activity (all BIDS times are relative to the injection).
    """
    over = dict(overrides or {})
    side: dict[str, Any] = {"Modality": "PT"}

    def need(key: str, keyword: str | None, value: Any) -> Any:
        if key in over:
            return over[key]
        if value in (None, ""):
            what = (
                f"the DICOM header has no {keyword}, which PET-BIDS {key} (REQUIRED) comes from"
                if keyword
                else f"DICOM has no attribute for PET-BIDS {key} (REQUIRED)"
            )
            raise MissingFieldError(
                f"{what}; give it with --set {key}=VALUE", file=source, field=keyword or key
            )
        return value

    side["Manufacturer"] = need("Manufacturer", "Manufacturer", _text(ds, "Manufacturer"))
    side["ManufacturersModelName"] = need(
        "ManufacturersModelName", "ManufacturerModelName", _text(ds, "ManufacturerModelName")
    )
    for key, keyword in (
        ("InstitutionName", "InstitutionName"),
        ("InstitutionAddress", "InstitutionAddress"),
        ("InstitutionalDepartmentName", "InstitutionalDepartmentName"),
        ("StationName", "StationName"),
        ("SoftwareVersions", "SoftwareVersions"),
        ("BodyPart", "BodyPartExamined"),
        ("SeriesDescription", "SeriesDescription"),
    ):
        if _text(ds, keyword):
            side[key] = _text(ds, keyword)
    if "BodyPart" not in side and "WHOLE BODY" in [str(v) for v in (ds.get("SeriesType") or [])]:
        side["BodyPart"] = "WHOLEBODY"  # Series Type (0054,1000) value 1; DICOM body part term
    side["Units"] = "Bq/mL"  # footnote [4]
    side["TracerName"] = need("TracerName", "Radiopharmaceutical", acq.tracer or "")
    side["TracerRadionuclide"] = acq.nuclide.name.replace("-", "")
    if acq.injection_datetime is None:
        raise MissingFieldError(
            "no injection date-time: PET-BIDS times are relative to it (TimeZero)",
            file=source,
            field="RadiopharmaceuticalStartDateTime",
        )
    if acq.injected_activity_bq is None:
        raise MissingFieldError(
            "no injected activity for PET-BIDS InjectedRadioactivity (REQUIRED)",
            file=source,
            field="RadionuclideTotalDose",
        )
    side["InjectedRadioactivity"] = acq.injected_activity_bq / 1e6
    side["InjectedRadioactivityUnits"] = "MBq"
    for key in ("InjectedMass", "InjectedMassUnits", "SpecificRadioactivity"):
        side[key] = "n/a"
    side["SpecificRadioactivityUnits"] = "n/a"
    side["ModeOfAdministration"] = need("ModeOfAdministration", None, "")
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    info = seq[0] if seq else Dataset()
    if _text(info, "RadiopharmaceuticalRoute"):
        side["RadiopharmaceuticalRoute"] = _text(info, "RadiopharmaceuticalRoute")
    if info.get("RadiopharmaceuticalVolume") not in (None, ""):
        side["InjectedVolume"] = float(info.RadiopharmaceuticalVolume)  # (0018,1071), mL
        side["InjectedVolumeUnits"] = "mL"
    code = info.get("RadiopharmaceuticalCodeSequence")
    if code and str(code[0].get("CodingSchemeDesignator", "")) in ("SCT", "SRT"):
        side["TracerSNOMED"] = str(code[0].CodeValue)  # (0054,0304)

    zero = acq.injection_datetime
    scan_start_s = (acq.scan_start_datetime - zero).total_seconds()
    side["TimeZero"] = zero.time().isoformat()
    side["ScanDate"] = zero.date().isoformat()
    side["InjectionStart"] = 0.0
    side["ScanStart"] = scan_start_s
    stop = parse_dt(info.get("RadiopharmaceuticalStopDateTime"), source=source)
    if stop is not None:
        side["InjectionEnd"] = (stop - zero).total_seconds()  # (0018,1079)
    side["FrameTimesStart"] = [scan_start_s]
    duration = acq.frame_duration_s
    side["FrameDuration"] = [float(need("FrameDuration", "ActualFrameDuration", duration))]
    side["AcquisitionMode"] = need("AcquisitionMode", None, "")

    side["ImageDecayCorrected"] = acq.decay_correction != "NONE"
    if acq.decay_correction == "ADMIN":
        ref_s = 0.0
    elif acq.decay_reference_datetime is not None:
        ref_s = (acq.decay_reference_datetime - zero).total_seconds()
    else:
        ref_s = scan_start_s
    side["ImageDecayCorrectionTime"] = ref_s
    decay_factor = ds.get("DecayFactor")
    if decay_factor not in (None, ""):
        side["DecayCorrectionFactor"] = [float(decay_factor)]

    method = str(need("ReconMethodName", "ReconstructionMethod", _text(ds, "ReconstructionMethod")))
    side["ReconMethodName"] = method
    labels, units, values = recon_parameters(method)
    side["ReconMethodParameterLabels"] = over.get("ReconMethodParameterLabels", labels)
    side["ReconMethodParameterUnits"] = over.get("ReconMethodParameterUnits", units)
    side["ReconMethodParameterValues"] = over.get("ReconMethodParameterValues", values)
    kernel = _text(ds, "ConvolutionKernel")
    if kernel:
        ftype, fsize = _filter(kernel)
    else:
        ftype = need("ReconFilterType", "ConvolutionKernel", "")
        fsize = over.get("ReconFilterSize", 0.0)
    side["ReconFilterType"] = over.get("ReconFilterType", ftype)
    side["ReconFilterSize"] = over.get("ReconFilterSize", fsize)
    side["AttenuationCorrection"] = need(
        "AttenuationCorrection",
        "AttenuationCorrectionMethod",
        _text(ds, "AttenuationCorrectionMethod"),
    )
    side.update(patient_sidecar_fields(acq))
    for key, value in over.items():
        side.setdefault(key, value)
    return side
