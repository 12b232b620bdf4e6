"""Tests of immunopet.measure.radiomics: IBSI features through the optional mirp package.

IBSI (Zwanenburg et al., Radiology 2020;295:328) defines the approximate volume
``morph_vol_approx`` as the voxel count × voxel volume and the intensity
statistics ``stat_mean`` / ``stat_max`` of the ROI voxels, so on our lesion VOIs
they must equal our ``mtv_ml`` (× 1000, mm³), ``suv_mean`` and ``suv_max``; mirp
reads the image as float32, hence rel = 1e-6.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from immunopet.core.nuclides import Nuclide
from immunopet.core.scan import Acquisition, Scan
from immunopet.core.volume import Volume
from immunopet.measure import ibsi_features, measure
from immunopet.measure import radiomics as radiomics_module
from immunopet.regions import LabelMap


def _two_lesions():
    rng = np.random.default_rng(3)
    shape, spacing = (24, 26, 28), (2.0, 2.0, 3.0)
    z, y, x = np.indices(shape)
    r1 = np.sqrt(((z - 7) * 3.0) ** 2 + ((y - 8) * 2.0) ** 2 + ((x - 8) * 2.0) ** 2)
    r2 = np.sqrt(((z - 16) * 3.0) ** 2 + ((y - 17) * 2.0) ** 2 + ((x - 19) * 2.0) ** 2)
    suv = 1.0 + rng.normal(0, 0.1, shape)
    suv[r1 <= 9] += 6.0
    suv[r2 <= 6] += 3.0
    les = np.zeros(shape, np.int16)
    les[r1 <= 9] = 1
    les[r2 <= 6] = 2
    vol = Volume(suv, spacing, frame_of_reference_uid="1.2.3")
    lm = LabelMap(vol.with_array(les, "label"), {1: "lesion_001", 2: "lesion_002"}, "lesion")
    return vol.with_array(suv, "SUVbw"), lm


def test_missing_mirp_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(radiomics_module, "mirp_available", lambda: False)
    suv, lm = _two_lesions()
    with pytest.raises(radiomics_module.MissingDependencyError, match=r"immunopet\[radiomics\]"):
        ibsi_features(suv, lm)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SWIG types of itk / SimpleITK
def test_ibsi_features_agree_with_our_lesion_metrics():
    pytest.importorskip("mirp")
    suv, lm = _two_lesions()
    feats = ibsi_features(suv, lm, feature_families=("morphology", "statistics"))
    t = datetime(2024, 3, 5, 10)
    acq = Acquisition(nuclide=Nuclide.from_name("124I"), units="BQML", decay_correction="START",
                      scan_start_datetime=t, injection_datetime=t - timedelta(hours=24),
                      injected_activity_bq=74e6, patient_weight_kg=70.0, patient_height_m=1.7,
                      patient_sex="F", tracer="124I-trastuzumab")  # fmt: skip
    ours = measure(Scan(pet=suv, acquisition=acq, subject_id="P", scan_id="s"), lm, suv=suv,
                   activity_at_scan_bq_per_ml=suv, activity_at_injection_bq_per_ml=suv,
                   references=())  # fmt: skip
    v = ours.set_index(["region", "metric"])["value"]
    f = feats.set_index(["region", "feature"])["value"]
    assert set(feats.region) == {"lesion_001", "lesion_002"}
    for les in ("lesion_001", "lesion_002"):
        assert f[les, "morph_vol_approx"] == pytest.approx(1000 * v[les, "mtv_ml"], rel=1e-6)
        assert f[les, "stat_mean"] == pytest.approx(v[les, "suv_mean"], rel=1e-6)
        assert f[les, "stat_max"] == pytest.approx(v[les, "suv_max"], rel=1e-6)
        # Mesh volume of a voxelised sphere: within 10 % of the voxel-count volume.
        assert f[les, "morph_volume"] == pytest.approx(f[les, "morph_vol_approx"], rel=0.10)
