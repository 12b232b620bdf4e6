"""Header fuzzing of PET ingest (issue 11): every malformed header ends in an ImmunopetError.

Rules exercised: every field ingest reads (tests/support/header_fuzz.FIELDS) may be
deleted, emptied, written with a wrong VR, garbage, extreme numbers (1e309, NaN, 0,
-1, 1e-300) or the wrong number of values, in one slice or in all; ``load_scan`` +
``suv_volume`` must then either raise an :class:`ImmunopetError` or return finite
SUVs below the physical ceiling (all of the activity in one voxel:
ACTIVITY_CEILING · weight_g / voxel_mL). Zero other exceptions are allowed.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from support.header_fuzz import FIELDS, FLAVOURS, OPS, VALUES, Counts, run_case

_mutation = st.tuples(
    st.integers(0, len(FIELDS) - 1),
    st.sampled_from(OPS),
    st.sampled_from([-1, -1, 0, 1, 2]),
    st.sampled_from(VALUES),
)
_case = st.tuples(st.sampled_from(FLAVOURS), st.lists(_mutation, min_size=1, max_size=3))


def _fuzz(n_cases: int) -> Counts:
    counts = Counts()

    @settings(
        max_examples=n_cases,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_case)
    def one(case):
        flavour, mutations = case
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_case(flavour, mutations, counts)

    one()
    return counts


def _check(counts: Counts, n_cases: int) -> None:
    print(counts.line())
    assert counts.cases >= n_cases * 0.95  # hypothesis may draw a few duplicates fewer
    assert not counts.crashes, "\n".join(counts.crashes[:20])
    assert not counts.absurd, "\n".join(counts.absurd[:20])
    # The base series loads: some cases must succeed and some must be refused.
    assert counts.ok > 0 and counts.immunopet_errors > 0


def test_unmutated_bases_load():
    counts = Counts()
    for flavour in FLAVOURS:
        run_case(flavour, [], counts)
    assert counts.ok == len(FLAVOURS), counts.line() + str(counts.crashes)


def test_fuzz_headers_fast(capsys):
    n = 400
    counts = _fuzz(n)
    with capsys.disabled():
        _check(counts, n)


@pytest.mark.slow
def test_fuzz_headers_10000(capsys):
    n = 10_500
    counts = _fuzz(n)
    with capsys.disabled():
        _check(counts, 10_000)
