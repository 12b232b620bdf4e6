"""The lesion search policy (:class:`immunopet.regions.lesion_policy.LesionPolicy`).

It is the one policy ``immunopet run`` and ``immunopet lesions --study`` apply.

Physiological uptake must not be taken for lesions: excluded organs (bladder)
are widened by a margin for their blurred spill-out, a relative isocontour must
not flood a warm organ (liver), and foci no hotter than 1.5 × the liver are
dropped (PERCIST-like floor) — while true lesions in and outside organs are kept.
"""

from __future__ import annotations

import numpy as np
import pytest

from immunopet.core.volume import Volume
from immunopet.regions import LabelMap
from immunopet.study import LesionOptions
from immunopet.workflow import lesion_policy

SPACING = (4.0, 4.0, 4.0)


def _ball(shape, centre, radius_vox):
    kk, jj, ii = np.indices(shape)
    c = centre
    return (kk - c[0]) ** 2 + (jj - c[1]) ** 2 + (ii - c[2]) ** 2 <= radius_vox**2


def _phantom():
    rng = np.random.default_rng(1)
    shape = (40, 40, 60)
    suv = np.full(shape, 0.6)
    lab = np.zeros(shape, np.int16)
    liver = np.zeros(shape, bool)
    liver[5:35, 5:35, 5:30] = True
    lab[liver] = 1
    suv[liver] = 2.4 + 0.35 * rng.standard_normal(liver.sum())
    bladder = _ball(shape, (20, 20, 45), 5)
    lab[bladder] = 2
    suv[bladder] = 20.0
    ring = _ball(shape, (20, 20, 45), 6.5) & ~bladder
    suv[ring] = 8.0  # blurred spill-out just outside the bladder label
    suv[_ball(shape, (12, 12, 12), 2.5)] = 8.0  # liver lesion (20 mm)
    suv[_ball(shape, (26, 26, 22), 2.5)] = 6.0  # second liver lesion
    suv[_ball(shape, (8, 32, 50), 2.2)] = 5.0  # lymph node in soft tissue
    vol = Volume(suv, SPACING, frame_of_reference_uid="1.2.3")
    organs = LabelMap(vol.with_array(lab, "label"), {1: "liver", 2: "urinary_bladder_contents"})
    return vol.with_array(suv, "SUVbw"), organs


def _find(suv, organs, **changes):
    """Lesions found by the policy of the study options ``changes``."""
    return lesion_policy(LesionOptions(**changes)).find(suv, organs).table


@pytest.fixture
def phantom():
    return _phantom()


def test_default_options_find_only_the_three_lesions(phantom):
    table = _find(*phantom)
    centres = np.round(table[["centroid_z_mm", "centroid_y_mm", "centroid_x_mm"]] / 4.0)
    assert sorted(map(tuple, centres.to_numpy().astype(int))) == [
        (8, 32, 50),
        (12, 12, 12),
        (26, 26, 22),
    ]
    assert (table.volume_ml <= 5.2).all()  # each lesion is its 5.2 mL ball: no flooded liver


def test_without_the_safeguards_physiology_is_taken_for_lesions(phantom):
    table = _find(
        *phantom, exclude_margin_voxels=0, organ_background_ratio=None, min_liver_ratio=None
    )
    assert len(table) > 3 or (table.volume_ml > 50).any()


def test_a_warm_liver_without_lesions_is_not_flooded():
    """Smooth noise in a lesion-free liver: no lesion by default; the bare 41 % isocontour
    of a seed component (max ≈ 3.4) would take the whole liver."""
    from scipy import ndimage

    rng = np.random.default_rng(2)
    shape = (30, 30, 30)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0)
    liver = np.zeros(shape, bool)
    liver[5:25, 5:25, 5:25] = True
    suv = np.where(liver, 2.4 + 0.35 * noise / noise[liver].std(), 0.6)
    vol = Volume(suv, SPACING, unit="SUVbw")
    organs = LabelMap(vol.with_array(liver.astype(np.int16), "label"), {1: "liver"})
    assert len(_find(vol, organs)) == 0
    bare = _find(vol, organs, organ_background_ratio=None, min_liver_ratio=None)
    assert bare.volume_ml.max() > 50.0
