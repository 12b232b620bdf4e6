"""DICOM Structured Report export of the tidy measurement table (TID 1500).

:func:`write_measurement_sr` writes a Comprehensive 3D SR "Imaging Measurement
Report" (DICOM PS3.16 TID 1500) with one *Volumetric ROI Measurements* group
(TID 1411) per region of the table, referencing the matching segment of a DICOM
SEG written by :func:`~immunopet.io.dicom_seg.write_seg`. The whole field of
view (``whole_body`` rows, no segment) becomes a TID 1501 group with the finding
site "Entire body". :func:`read_measurement_sr` reads such a report back into a
tidy frame.

Coding of the measurements (TID 300 "Measurement", codes from DICOM PS3.16):

===============  ====================================  ===========================  =================
table metric     concept name                          derivation (CID 7464)        unit (UCUM)
===============  ====================================  ===========================  =================
``suv_max``      SUVbw (DCM 126401) [#suv]_            Maximum (SCT 56851009)       g/ml{SUVbw}
``suv_mean``     SUVbw                                 Mean (SCT 373098007)         g/ml{SUVbw}
``suv_peak``     SUVbw                                 Peak Value Within ROI        g/ml{SUVbw}
                                                       (DCM 126031)
``suv_sd``       SUVbw                                 Standard Deviation           g/ml{SUVbw}
                                                       (SCT 386136009)
``volume_ml``    Volume (SCT 118565006)                —                            ml
===============  ====================================  ===========================  =================

.. [#suv] CID 218 / CID 85: the table's SUV unit picks the concept: ``SUVbw`` →
   SUVbw (126401, g/ml{SUVbw}), ``SUL`` (Janmahasatian lean body mass, see
   :mod:`immunopet.quant`) → SUVlbm(Janma) (126405, g/ml{SUVlbm(Janma)}),
   ``SUVbsa`` → SUVbsa (126403, cm2/ml{SUVbsa}); the SUV calculation method
   (DCM 126410 / 126414 / 126412) is recorded as the measurement method.
   An unqualified ``SUV`` uses "Standardized Uptake Value" (DCM 126400), unit {SUV}.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from ..core.errors import ImmunopetWarning, InputError, UnsupportedDataError
from .dicom_codes import segment_coding
from .dicom_seg import SEGMENTATION_SOP_CLASS
from .dicom_source import (
    SourceInput,
    _filled_sources,
    _software_version,
    load_source_series,
    save_dataset_atomically,
)

__all__ = ["SR_METRICS", "measurement_groups", "read_measurement_sr", "write_measurement_sr"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class _SuvCoding:
    concept: Code
    unit: Code
    method: Code | None


#: SUV flavour (the table's unit) → concept, UCUM unit and calculation method (PS3.16 CID 85,
#: CID 218 entries DCM 12640x; methods DCM 126410–126414).
_SUV_CODING: dict[str, _SuvCoding] = {
    "SUVbw": _SuvCoding(
        codes.DCM.Suvbw,
        codes.UCUM.StandardizedUptakeValueBodyWeight,
        codes.DCM.SUVBodyWeightCalculationMethod,
    ),
    "SUL": _SuvCoding(
        codes.DCM.SuvlbmJanma,
        codes.UCUM.StandardizedUptakeValueLeanBodyMassJanma,
        codes.DCM.SUVLeanBodyMassCalculationJanmahasatianMethod,
    ),
    "SUVbsa": _SuvCoding(
        codes.DCM.Suvbsa,
        codes.UCUM.StandardizedUptakeValueBodySurfaceArea,
        codes.DCM.SUVBodySurfaceAreaCalculationMethod,
    ),
}
_SUV_GENERIC = _SuvCoding(
    codes.DCM.StandardizedUptakeValue, Code("{SUV}", "UCUM", "Standardized Uptake Value"), None
)
_ML = Code("ml", "UCUM", "milliliter")

#: Table metric → derivation (CID 7464 "General Region of Interest Measurement Modifiers");
#: ``volume_ml`` has none. These are the metrics written to the SR.
SR_METRICS: dict[str, Code | None] = {
    "suv_max": codes.cid7464.Maximum,
    "suv_mean": codes.cid7464.Mean,
    "suv_peak": codes.cid7464.PeakValueWithinROI,
    "suv_sd": codes.cid7464.StandardDeviation,
    "volume_ml": None,
}
_METRIC_OF_DERIVATION = {str(c.value): m for m, c in SR_METRICS.items() if c is not None}


def _suv_coding(unit: str) -> _SuvCoding:
    return _SUV_CODING.get(unit, _SUV_GENERIC)


def _measurements(rows: pd.DataFrame) -> list:
    import highdicom as hd

    out = []
    by_metric = {str(m): r for m, r in zip(rows["metric"], rows.itertuples(), strict=True)}
    for metric, derivation in SR_METRICS.items():
        row = by_metric.get(metric)
        if row is None or not math.isfinite(float(row.value)):
            continue
        if metric == "volume_ml":
            out.append(hd.sr.Measurement(name=codes.SCT.Volume, value=float(row.value), unit=_ML))
            continue
        suv = _suv_coding(str(row.unit))
        out.append(
            hd.sr.Measurement(
                name=suv.concept,
                value=float(row.value),
                unit=suv.unit,
                derivation=derivation,
                method=suv.method,
            )
        )
    return out


def _segments(seg: Dataset) -> dict[str, tuple[int, Dataset]]:
    """{segment label: (segment number, segment item)}."""
    return {
        str(item.get("SegmentLabel") or ""): (int(item.SegmentNumber), item)
        for item in seg.SegmentSequence
    }


def _code_of(item: Dataset, keyword: str) -> Code | None:
    seq = item.get(keyword)
    if not seq:
        return None
    c = seq[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue")
    return Code(str(value), str(c.CodingSchemeDesignator), str(c.CodeMeaning))


def seg_and_source(seg_file: Path, source: SourceInput, series_uid: str | None):  # type: ignore[no-untyped-def]
    """The SEG an SR refers to and the PET series it was made on (both checked).

    Raises
    ------
    InputError
        Unreadable SEG, or a SEG not made on the source series.
    UnsupportedDataError
        The file is not a DICOM Segmentation.
    """
    try:
        seg = pydicom.dcmread(seg_file)
    except Exception as exc:  # pydicom raises many types for bad files
        raise InputError(
            f"cannot read the SEG ({type(exc).__name__}: {exc})", file=seg_file
        ) from None
    if str(seg.get("SOPClassUID", "")) != SEGMENTATION_SOP_CLASS:
        raise UnsupportedDataError(
            "not a DICOM Segmentation",
            file=seg_file,
            field="SOPClassUID",
            value=seg.get("SOPClassUID"),
        )
    src = load_source_series(source, series_uid=series_uid)
    referenced = {str(s.SeriesInstanceUID) for s in seg.get("ReferencedSeriesSequence", [])}
    if src.series.uid not in referenced:
        raise InputError(
            f"the SEG was not made on the PET series {src.series.uid}",
            file=seg_file,
            field="ReferencedSeriesSequence",
        )
    return seg, src


def measurement_report(seg, src, groups, version: str, series_number: int, device_uid: str):  # type: ignore[no-untyped-def]
    """A TID 1500 Comprehensive 3D SR of ``groups`` on ``seg`` and its PET series (highdicom).

    The observer is the immunopet device (``device_uid``, ``version``); the evidence is
    the SEG and the PET series it was made on.
    """
    import highdicom as hd

    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_uid, name="immunopet", manufacturer_name="immunopet", model_name=version
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.cid100.PETWholeBody,
        imaging_measurements=groups,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person")
        return hd.sr.Comprehensive3DSR(
            evidence=[seg, *_filled_sources(src.datasets)],
            content=report,
            series_instance_uid=generate_uid(),
            series_number=series_number,
            sop_instance_uid=generate_uid(),
            instance_number=1,
            manufacturer="immunopet",
            is_complete=True,
        )


def write_measurement_sr(
    table: pd.DataFrame,
    seg_path: PathLike,
    source_dir_or_datasets: SourceInput,
    out_path: PathLike,
    *,
    subject: str,
    scan_id: str,
    series_uid: str | None = None,
    series_number: int = 301,
    series_description: str = "immunopet measurements",
    kinds: Mapping[str, str] | None = None,
) -> Path:
    """Write the measurements of one scan as a TID 1500 Comprehensive 3D SR.

    Parameters
    ----------
    table
        The tidy measurement table (:data:`immunopet.measure.TABLE_COLUMNS`); the rows of
        ``subject`` / ``scan_id`` are written, metrics :data:`SR_METRICS` only.
    seg_path
        The DICOM SEG of the regions (:func:`~immunopet.io.dicom_seg.write_seg`); regions
        are matched to segments by name (Segment Label).
    source_dir_or_datasets
        The PET series the SEG was made on (folder, files or datasets).
    out_path
        The SR file to write (atomically).
    subject, scan_id
        Which rows of ``table`` to report.
    series_uid
        PET SeriesInstanceUID when the source holds several PET series.
    series_number, series_description
        Of the SR series.
    kinds
        ``{region: region_kind}`` overriding the table's ``region_kind`` for the coding.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    InputError
        No rows for ``subject``/``scan_id``, missing columns, ``seg_path`` not a SEG or
        not made on this PET series.

    Warns
    -----
    ImmunopetWarning
        Regions of the table without a segment (left out of the report).
    """
    import highdicom as hd

    needed = {"subject", "scan_id", "region", "region_kind", "metric", "value", "unit"}
    missing = needed - set(table.columns)
    if missing:
        raise InputError(
            f"measurement table lacks column(s) {sorted(missing)}", field=sorted(missing)[0]
        )
    rows = table[
        (table["subject"].astype(str) == str(subject))
        & (table["scan_id"].astype(str) == str(scan_id))
    ]
    if rows.empty:
        raise InputError(
            f"no measurement rows for subject {subject!r}, scan {scan_id!r}",
            field="scan_id",
            value=scan_id,
        )
    seg_file = Path(seg_path)
    seg, src = seg_and_source(seg_file, source_dir_or_datasets, series_uid)
    segments = _segments(seg)
    kinds = dict(kinds or {})
    time_h = float(rows["time_h"].iloc[0]) if "time_h" in rows else math.nan
    time_point = hd.sr.TimePointContext(
        time_point=(f"{scan_id} ({time_h:.4g} h p.i.)" if math.isfinite(time_h) else str(scan_id))[
            :64
        ]
    )
    version = _software_version()
    algorithm = hd.sr.AlgorithmIdentification(name="immunopet", version=version)
    groups: list = []
    skipped: list[str] = []
    for region, region_rows in rows.groupby("region", sort=False):
        name = str(region)
        kind = kinds.get(name, str(region_rows["region_kind"].iloc[0]))
        measurements = _measurements(region_rows)
        if not measurements:
            continue
        if name in segments:
            number, item = segments[name]
            coding = segment_coding(name, kind)
            finding_type = _code_of(item, "SegmentedPropertyTypeCodeSequence")
            tracking_uid = str(item.get("TrackingUID") or "") or generate_uid()
            groups.append(
                hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid, identifier=name),
                    referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, number),
                    finding_type=finding_type or coding.property_type,
                    finding_category=_code_of(item, "SegmentedPropertyCategoryCodeSequence"),
                    finding_sites=(
                        [hd.sr.FindingSite(coding.anatomy)] if coding.anatomy is not None else None
                    ),
                    time_point_context=time_point,
                    algorithm_id=algorithm,
                    measurements=measurements,
                )
            )
        elif kind == "whole_body":
            groups.append(
                hd.sr.MeasurementsAndQualitativeEvaluations(
                    tracking_identifier=hd.sr.TrackingIdentifier(
                        uid=generate_uid(), identifier=name
                    ),
                    finding_type=codes.SCT.EntireBody,
                    finding_sites=[hd.sr.FindingSite(codes.SCT.EntireBody)],
                    time_point_context=time_point,
                    algorithm_id=algorithm,
                    measurements=measurements,
                )
            )
        else:
            skipped.append(name)
    if skipped:
        warnings.warn(
            f"{len(skipped)} region(s) have no segment in {seg_file.name} and are left out of "
            "the SR: " + ", ".join(skipped[:10]),
            ImmunopetWarning,
            stacklevel=2,
        )
    if not groups:
        raise InputError(
            "no region of the table matches a segment of the SEG (by name)", file=seg_file
        )
    sr = measurement_report(seg, src, groups, version, series_number, generate_uid())
    sr.SeriesDescription = series_description[:64]
    return save_dataset_atomically(sr, out_path)


def measurement_groups(path: PathLike) -> list[tuple[Any, int]]:
    """The measurement groups of a TID 1500 SR file and each one's segment number (0: none).

    Raises
    ------
    InputError
        Not a readable DICOM SR measurement report.
    """
    import highdicom as hd

    p = Path(path)
    try:
        report = hd.sr.srread(str(p)).content
        if not isinstance(report, hd.sr.MeasurementReport):
            report = hd.sr.MeasurementReport.from_sequence(report)
    except Exception as exc:  # pydicom/highdicom raise many types for non-TID-1500 content
        raise InputError(
            f"not a readable TID 1500 measurement report ({type(exc).__name__}: {exc})", file=p
        ) from None
    groups = [
        *report.get_volumetric_roi_measurement_groups(),
        *report.get_image_measurement_groups(),
    ]
    out = []
    for group in groups:
        ref = getattr(group, "referenced_segment", None)
        out.append((group, int(ref.referenced_segment_numbers[0]) if ref is not None else 0))
    return out


def read_measurement_sr(path: PathLike) -> pd.DataFrame:
    """The measurements of a TID 1500 SR as a frame (region, metric, value, unit, segment).

    Metrics are named as in the tidy table when the concept is one
    :func:`write_measurement_sr` writes (``suv_max``, ``volume_ml``…), else
    ``"<concept meaning> (<derivation>)"``. ``segment_number`` is 0 for groups
    without a referenced segment.

    Raises
    ------
    InputError
        Not a readable DICOM SR measurement report.
    """
    records = []
    for group, segment in measurement_groups(path):
        region = str(group.tracking_identifier)
        for m in group.get_measurements():
            derivation = m.derivation
            if m.name == codes.SCT.Volume:
                metric = "volume_ml" if str(m.unit.value).lower() == "ml" else "volume"
            elif derivation is not None and str(derivation.value) in _METRIC_OF_DERIVATION:
                metric = _METRIC_OF_DERIVATION[str(derivation.value)]
            else:
                extra = f" ({derivation.meaning})" if derivation is not None else ""
                metric = f"{m.name.meaning}{extra}"
            records.append((region, metric, float(m.value), str(m.unit.value), segment))
    return pd.DataFrame.from_records(
        records, columns=["region", "metric", "value", "unit", "segment_number"]
    )
