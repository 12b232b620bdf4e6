"""The one exception hierarchy of immunopet.

Every error a user can provoke with bad input is an :class:`ImmunopetError`;
the CLI turns it into a one-line message and a non-zero exit code. Messages
name the file, the field, the offending value and what to do, as pydicom's do.

::

    ImmunopetError
    ├── InputError            bad or incomplete files / fields
    │   ├── MissingFieldError     a required header field is absent
    │   ├── InvalidValueError     a field is present but impossible (≤ 0, NaN…)
    │   ├── AmbiguousTimeError    a date-time cannot be determined safely
    │   ├── UnknownNuclideError   a nuclide name nuclear data does not know
    │   ├── UnsupportedDataError  a series/unit/convention we cannot interpret
    │   ├── ConflictingFieldsError  header fields / slices that contradict each other
    │   └── GeometryError         grids that do not match / do not overlap
    ├── StudyError            an inconsistent study (schema, subjects, scans)
    ├── PhysicsError          physically impossible values (scan before injection…)
    └── FitError              a kinetic fit that cannot be done

Warnings for suspicious-but-legal input are :class:`ImmunopetWarning`.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

__all__ = [
    "AmbiguousTimeError",
    "ConflictingFieldsError",
    "FitError",
    "GeometryError",
    "ImmunopetError",
    "ImmunopetWarning",
    "InputError",
    "InvalidValueError",
    "MissingFieldError",
    "PhysicsError",
    "StudyError",
    "UnknownNuclideError",
    "UnsupportedDataError",
]


class ImmunopetError(Exception):
    """Base class of every immunopet error.

    Parameters
    ----------
    message
        What went wrong and what to do about it.
    file
        The file (or folder) the problem was found in, if any.
    field
        The header field / column / option at fault, if any.
    value
        The offending value, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.field = field
        self.value = value
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field {self.field}")
        prefix = f"{': '.join(where)}: " if where else ""
        return f"{prefix}{self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep keyword-only context when errors cross process boundaries (pipeline workers).
        return (_rebuild_error, (type(self), self.message, self.file, self.field, self.value))


def _rebuild_error(
    cls: type[ImmunopetError], message: str, file: str | None, field: str | None, value: Any
) -> ImmunopetError:
    err = cls.__new__(cls)
    ImmunopetError.__init__(err, message, file=file, field=field, value=value)
    return err


class InputError(ImmunopetError):
    """A file or field given to immunopet is bad or incomplete."""


class MissingFieldError(InputError):
    """A required field (DICOM attribute, sidecar key, column) is absent or empty."""


class InvalidValueError(InputError):
    """A field is present but its value is impossible (non-positive, not a number…)."""


class AmbiguousTimeError(InputError):
    """A date-time needed for decay correction cannot be determined unambiguously."""


class UnknownNuclideError(InputError):
    """A nuclide name that the nuclear data (ICRP-107) does not know."""


class UnsupportedDataError(InputError):
    """Data that immunopet cannot interpret (unknown units, wrong modality, …)."""


class ConflictingFieldsError(InputError):
    """Header fields (or slices of one series) that contradict each other.

    E.g. a radionuclide code of one nuclide with the half-life of another, or a
    slice whose PatientWeight differs from the rest of its series: immunopet
    never picks one silently; the message names both and how to choose.
    """


class GeometryError(InputError):
    """Image grids or frames of reference that do not match or do not overlap."""


class StudyError(ImmunopetError):
    """A study description that is inconsistent (schema, subjects, scans)."""


class PhysicsError(ImmunopetError):
    """Physically impossible values (scan before injection, TIA above the physical maximum…)."""


class FitError(ImmunopetError):
    """A kinetic model that cannot be fitted to the data given."""


class ImmunopetWarning(UserWarning):
    """Suspicious-but-legal input, e.g. a header half-life that disagrees with ICRP-107."""
