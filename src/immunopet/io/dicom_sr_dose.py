"""Doses in a DICOM SR TID 1500 report: TIA, absorbed dose per region, effective dose.

:func:`write_dose_sr` writes one Comprehensive 3D SR "Imaging Measurement Report"
(DICOM PS3.16 TID 1500) per subject with, for every region of the dose and TIA
tables, one *Volumetric ROI Measurements* group (TID 1411) that references the
region's segment in a DICOM SEG (:func:`~immunopet.io.dicom_seg.write_seg`) and
carries the region's Tracking Identifier and Tracking UID — the same UID as in the
SEGs and measurement SRs of every time point when they were written with
:func:`~immunopet.io.dicom_codes.tracking_uid`, so one lesion across time points
and doses is one tracked finding. Regions without a segment (``total_body``,
``red_marrow``, ``bone_surfaces``: dosimetry targets, not image regions) and the
effective dose (finding site "Entire body") go to TID 1501 groups.

Coding (TID 300 "Measurement"):

==========================  ======================================  =======================
table value                 concept name                            unit (UCUM)
==========================  ======================================  =======================
``tias.tia_bq_h`` / 1e6     Time-integrated activity                ``MBq.h``
                            (99IMMUNOPET TIA) [#tia]_
``absorbed_dose_per_scan``  Absorbed Dose (DCM 128513),             ``mGy``
                            derivation Mean (SCT 373098007) [#mean]_
``effective_dose_per_scan`` Effective Dose (DCM 113839)             ``mSv``
==========================  ======================================  =======================

.. [#tia] PS3.16 (as in pydicom 3.0's code dictionary) has no concept for the
   time-integrated activity (cumulated activity) of a source region; a private
   coding scheme ``99IMMUNOPET`` (PS3.16 §8.2: designators starting with "99" are
   private) names it, declared in the SR's Coding Scheme Identification Sequence.
.. [#mean] MIRD organ doses are mean absorbed doses over the target region
   (MIRD Pamphlet 21, Bolch et al., J Nucl Med 2009;50:477, eq. 1).

The doses are the tables' ``*_per_scan`` rows: the absorbed dose of the activity the
subject received (``mGy``, ``mSv``), as the dose tables state them.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import pandas as pd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from ..core.errors import ImmunopetWarning, InputError
from .dicom_codes import segment_coding, tracking_uid
from .dicom_source import (
    SourceInput,
    _software_version,
    save_dataset_atomically,
)
from .dicom_sr import _code_of, _segments, measurement_groups, measurement_report, seg_and_source

__all__ = ["DOSE_QUANTITIES", "PRIVATE_SCHEME", "read_dose_sr", "write_dose_sr"]

PathLike = str | os.PathLike[str]

#: Private coding scheme of the TIA concept (module docstring, footnote [#tia]).
PRIVATE_SCHEME = "99IMMUNOPET"
_TIA = Code("TIA", PRIVATE_SCHEME, "Time-integrated activity")
_MBQ_H = Code("MBq.h", "UCUM", "megabecquerel hour")
_MGY = Code("mGy", "UCUM", "milligray")
_MSV = Code("mSv", "UCUM", "millisievert")

#: quantity written → (concept, unit, derivation); the read-back frame uses these names.
DOSE_QUANTITIES: dict[str, tuple[Code, Code, Code | None]] = {
    "tia_mbq_h": (_TIA, _MBQ_H, None),
    "absorbed_dose_mgy": (codes.DCM.AbsorbedDose, _MGY, codes.cid7464.Mean),
    "effective_dose_msv": (codes.DCM.EffectiveDose, _MSV, None),
}
_EFFECTIVE = "effective_dose"


def _rows(doses: pd.DataFrame, tias: pd.DataFrame, subject: str, phantom: str):  # type: ignore[no-untyped-def]
    """{region: {quantity: value}} of one subject, in table order."""
    out: dict[str, dict[str, float]] = {}
    d = doses[(doses["subject"].astype(str) == subject) & (doses["phantom"] == phantom)]
    for r in d.itertuples():
        if r.quantity == "absorbed_dose_per_scan" and math.isfinite(float(r.value)):
            out.setdefault(str(r.target), {})["absorbed_dose_mgy"] = float(r.value)
        elif r.quantity == "effective_dose_per_scan" and math.isfinite(float(r.value)):
            out.setdefault(_EFFECTIVE, {})["effective_dose_msv"] = float(r.value)
    if not tias.empty:
        for r in tias[tias["subject"].astype(str) == subject].itertuples():
            if math.isfinite(float(r.tia_bq_h)):
                out.setdefault(str(r.region), {})["tia_mbq_h"] = float(r.tia_bq_h) / 1e6
    return out


def _measurement(quantity: str, value: float):  # type: ignore[no-untyped-def]
    import highdicom as hd

    concept, unit, derivation = DOSE_QUANTITIES[quantity]
    return hd.sr.Measurement(name=concept, value=value, unit=unit, derivation=derivation)


def write_dose_sr(
    doses: pd.DataFrame,
    tias: pd.DataFrame,
    seg_path: PathLike,
    source_dir_or_datasets: SourceInput,
    out_path: PathLike,
    *,
    subject: str,
    phantom: str = "adult",
    series_uid: str | None = None,
    series_number: int = 302,
    series_description: str = "immunopet dosimetry",
) -> Path:
    """Write the TIAs and doses of one subject as a TID 1500 Comprehensive 3D SR.

    Parameters
    ----------
    doses
        The run's dose table (``subject``, ``quantity``, ``target``, ``value``, ``unit``,
        ``phantom``); its ``absorbed_dose_per_scan`` (mGy) and ``effective_dose_per_scan``
        (mSv) rows of ``phantom`` are written.
    tias
        The run's TIA table (``subject``, ``region``, ``tia_bq_h``); may be empty.
    seg_path
        The SEG whose segments (matched by Segment Label) the regions reference, e.g. the
        lesion-reference scan's.
    source_dir_or_datasets
        The PET series of that SEG.
    out_path
        The SR file (written atomically).
    subject, phantom
        Which rows to write.

    Raises
    ------
    InputError
        No dose or TIA row for the subject, or the SEG not made on the PET series.
    """
    import highdicom as hd

    for name, frame, cols in (
        ("dose", doses, {"subject", "quantity", "target", "value", "phantom"}),
        ("TIA", tias, {"subject", "region", "tia_bq_h"} if not tias.empty else set()),
    ):
        missing = cols - set(frame.columns)
        if missing:
            raise InputError(f"{name} table lacks column(s) {sorted(missing)}", field=min(missing))
    regions = _rows(doses, tias, str(subject), phantom)
    if not regions:
        raise InputError(
            f"no dose or TIA rows for subject {subject!r} (phantom {phantom!r})",
            field="subject",
            value=subject,
        )
    seg_file = Path(seg_path)
    seg, src = seg_and_source(seg_file, source_dir_or_datasets, series_uid)
    segments = _segments(seg)
    version = _software_version()
    algorithm = hd.sr.AlgorithmIdentification(name="immunopet", version=version)
    groups, unsegmented = [], []
    for region, values in regions.items():
        measurements = [_measurement(q, v) for q, v in values.items()]
        if region in segments:
            number, item = segments[region]
            coding = segment_coding(region)
            uid = str(item.get("TrackingUID") or "") or tracking_uid(str(subject), region)
            groups.append(
                hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=hd.sr.TrackingIdentifier(uid=uid, identifier=region),
                    referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, number),
                    finding_type=_code_of(item, "SegmentedPropertyTypeCodeSequence")
                    or coding.property_type,
                    finding_category=_code_of(item, "SegmentedPropertyCategoryCodeSequence"),
                    finding_sites=[hd.sr.FindingSite(coding.anatomy)] if coding.anatomy else None,
                    algorithm_id=algorithm,
                    measurements=measurements,
                )
            )
        else:
            if region != _EFFECTIVE:
                unsegmented.append(region)
            coding = segment_coding(region)
            entire = region in (_EFFECTIVE, "total_body")
            site = codes.SCT.EntireBody if entire else coding.anatomy
            groups.append(
                hd.sr.MeasurementsAndQualitativeEvaluations(
                    tracking_identifier=hd.sr.TrackingIdentifier(
                        uid=tracking_uid(str(subject), region), identifier=region
                    ),
                    finding_type=codes.SCT.EntireBody if entire else coding.property_type,
                    finding_sites=[hd.sr.FindingSite(site)] if site is not None else None,
                    algorithm_id=algorithm,
                    measurements=measurements,
                )
            )
    if unsegmented:
        warnings.warn(
            f"{len(unsegmented)} dose region(s) have no segment in {seg_file.name} and are "
            "reported without an image reference: " + ", ".join(unsegmented[:10]),
            ImmunopetWarning,
            stacklevel=2,
        )
    sr = measurement_report(
        seg, src, groups, version, series_number, tracking_uid("device", "immunopet")
    )
    scheme = Dataset()
    scheme.CodingSchemeDesignator = PRIVATE_SCHEME
    scheme.CodingSchemeName = "immunopet private concepts"
    scheme.CodingSchemeResponsibleOrganization = "immunopet"
    sr.CodingSchemeIdentificationSequence = [scheme]
    sr.SeriesDescription = series_description[:64]
    return save_dataset_atomically(sr, out_path)


def read_dose_sr(path: PathLike) -> pd.DataFrame:
    """The doses of an SR written by :func:`write_dose_sr`.

    Returns
    -------
    DataFrame
        ``region``, ``quantity`` (:data:`DOSE_QUANTITIES` keys), ``value``, ``unit``,
        ``segment_number`` (0: no segment), ``tracking_uid``.
    """
    by_concept = {
        (str(c.value), c.scheme_designator): q for q, (c, _, _) in DOSE_QUANTITIES.items()
    }
    records = []
    for group, segment in measurement_groups(path):
        for m in group.get_measurements():
            quantity = by_concept.get((str(m.name.value), m.name.scheme_designator))
            if quantity is None:
                continue
            records.append(
                (
                    str(group.tracking_identifier),
                    quantity,
                    float(m.value),
                    str(m.unit.value),
                    segment,
                    str(group.tracking_uid),
                )
            )
    return pd.DataFrame.from_records(
        records,
        columns=["region", "quantity", "value", "unit", "segment_number", "tracking_uid"],
    )
