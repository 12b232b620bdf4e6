"""The per-scan recipe (:mod:`immunopet.workflow.scan`): a reader's lesion mask replaces the search."""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.study import LesionOptions
from immunopet.workflow import ScanInput, find_lesions, lesion_policy

io = pytest.importorskip("immunopet.io")


@pytest.fixture
def scan(tmp_path):
    from test_cli_regions import _ball, _write_scan

    path, _, pet, _ = _write_scan(tmp_path)
    mask = np.zeros(pet.shape, np.uint8)
    mask[_ball(pet, (25, 25, 25), 8)] = 1  # the 16 mm lesion
    mask[_ball(pet, (20, -20, 20), 12)] = 1  # a reader's call on the heart's blood pool
    mask_path = tmp_path / "lesions_dseg.nii.gz"
    io.write_nifti(pet.with_array(mask, "label"), mask_path)
    si = ScanInput(subject="S1", scan_id="FDG", path=str(path), tracer="124I-trastuzumab",
                   nuclide="I-124", time_h=24.0)  # fmt: skip
    return si, str(mask_path)


def test_a_lesion_mask_replaces_the_automatic_search(scan):
    si, mask_path = scan
    policy = lesion_policy(LesionOptions(method="fixed", threshold=5.0))
    found, _ = find_lesions(si, policy)
    given, _ = find_lesions(si.model_copy(update={"lesion_mask": mask_path}), policy)
    assert len(found) == 1  # the 16 mm lesion only (the 8 mm one is under 1 cm)
    assert len(given) == 2  # both components of the reader's mask, as drawn
    assert mask_path in si.model_copy(update={"lesion_mask": mask_path}).files()
    assert sorted(given.table["suv_max"].round(1)) == [3.0, 9.0]
