"""One dose table per nuclide of a TIA table: the S-value source, the source sets, the columns.

:func:`dose_frame` is what :func:`immunopet.workflow.organ_doses` runs for each
nuclide: the organ doses of :func:`immunopet.dosimetry.organ_doses_table` (our
S-values) or of an imported S-value table (``dosimetry.svalues``), tagged with
``nuclide``, ``svalue_source`` and ``source_set``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..study import DosimetryOptions

__all__ = ["ALL_SEGMENTED", "dose_frame"]

#: ``source_set`` of the doses with every segmented organ a source.
ALL_SEGMENTED = "all_segmented"


def dose_frame(
    rows: pd.DataFrame, nuclide: str, options: DosimetryOptions, **kwargs: Any
) -> pd.DataFrame:
    """The tidy dose rows of ``rows`` (TIA rows of one nuclide) with the S-values of ``options``."""
    from ..dosimetry.organ_dose import organ_doses_table

    df = organ_doses_table(rows, nuclide, options.phantom, **kwargs)
    source = f"immunopet photon MC, ICRP 89 stylised phantom ({options.phantom})"
    if options.phantom == "patient":
        source = "immunopet photon MC, patient CT phantom"
    df["nuclide"] = nuclide
    df["svalue_source"] = source
    df["source_set"] = ALL_SEGMENTED
    return df
