"""The base of every study-file model: unknown fields are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StudyModel"]


class StudyModel(BaseModel):
    """Pydantic base: ``extra="forbid"`` (a typo never drops an option), frozen, stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
