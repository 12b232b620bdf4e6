"""Tests of the exception hierarchy: messages name file and field, and survive pickling."""

from __future__ import annotations

import pickle

import pytest

from immunopet.core.errors import (
    AmbiguousTimeError,
    ImmunopetError,
    InputError,
    MissingFieldError,
    PhysicsError,
)


def test_message_names_file_and_field():
    err = MissingFieldError(
        "patient weight is missing; pass --weight-kg", file="/d/pet/1.dcm", field="PatientWeight"
    )
    assert (
        str(err) == "/d/pet/1.dcm: field PatientWeight: patient weight is missing; pass --weight-kg"
    )
    assert isinstance(err, InputError) and isinstance(err, ImmunopetError)


@pytest.mark.parametrize("cls", [MissingFieldError, AmbiguousTimeError, PhysicsError])
def test_errors_pickle_with_context(cls):
    # Pipeline workers send errors between processes: the context must survive.
    err = cls("bad", file="a.dcm", field="F", value=3)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert (back.file, back.field, back.value, str(back)) == ("a.dcm", "F", 3, str(err))
