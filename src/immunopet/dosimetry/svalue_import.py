"""Imported S-values: an OLINDA/EXM, MIRDcalc or OpenDose export used beside our own.

Two layouts are read (CSV, or Parquet for the long one), S in mGy/(MBq·s):

* **matrix** (OLINDA/EXM 2 export): first column the *target* names, one column
  per *source*, e.g. the header ``Target,Adrenals,Brain,…,UB Cont,Tot Body``;
* **long**: columns ``target, source, s_mgy_per_mbq_s`` and optionally
  ``sd_mgy_per_mbq_s`` (the S-value's standard deviation) and ``nuclide``.

Organ names go through the one vocabulary (:func:`immunopet.core.organs.canonical_organ`,
OLINDA labels in :data:`~immunopet.core.organs.OLINDA_NAMES`): ``HeartCon`` is
``heart_contents``, ``Tot Body`` is ``total_body``. Regions without an immunopet
organ (``CortBone``, ``Eyes``…) keep the snake_case name OLINDA_NAMES gives them.

The MIRD sum is :func:`immunopet.dosimetry.organ_dose.organ_doses` with the imported
table in place of ours (``svalues=``): D(T) = Σ_S Ã_S · S(T ← S) (MIRD Pamphlet 21,
Bolch et al. 2009, eq. 9). A TIA source that the imported table lacks goes to the
remainder of body, with a warning; the remainder S is built from the table's
``total_body`` column with ICRP 89 reference masses (MIRD Pamphlet 11 remainder rule,
as in :mod:`.organ_dose`), OLINDA's own practice.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import (
    ImmunopetWarning,
    InputError,
    InvalidValueError,
    MissingFieldError,
    UnknownNuclideError,
)
from ..core.nuclides import parse_nuclide_name
from ..core.organs import OLINDA_NAMES, ORGAN_NAMES, canonical_organ
from .svalues import SValueTable
from .weights import REFERENCE_MASSES_KG

__all__ = ["IMPORT_ORGAN_NAMES", "move_missing_sources", "read_svalue_table"]

#: Names an imported table may use: ours plus the OLINDA regions without an organ of ours.
IMPORT_ORGAN_NAMES: tuple[str, ...] = tuple(dict.fromkeys((*ORGAN_NAMES, *OLINDA_NAMES.values())))

_LONG = ("target", "source", "s_mgy_per_mbq_s")
_MGY_PER_MBQ_S = 1e-9  # 1 mGy/(MBq·s) = 1e-9 Gy/(Bq·s)


_OLINDA_BY_KEY = {k.strip().lower(): v for k, v in OLINDA_NAMES.items()}


def _name(raw: object, path: Path, field: str) -> str:
    olinda = _OLINDA_BY_KEY.get(str(raw).strip().lower())
    if olinda is not None:  # an export's own label first (OLINDA's Prostate is a target)
        return olinda
    try:
        return canonical_organ(str(raw), allowed=IMPORT_ORGAN_NAMES)
    except InvalidValueError as exc:
        raise InvalidValueError(str(exc.args[0]), file=path, field=field, value=raw) from None


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError("S-value table not found", file=path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, comment="#", skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the S-value table ({exc})", file=path) from exc


def _long_from_matrix(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    first = df.columns[0]
    long = df.melt(id_vars=[first], var_name="source", value_name="s_mgy_per_mbq_s")
    return long.rename(columns={first: "target"})


def _nuclide(df: pd.DataFrame, path: Path, given: str | None) -> str:
    found = None
    if "nuclide" in df.columns and df["nuclide"].notna().any():
        names = {parse_nuclide_name(str(n)) for n in df["nuclide"].dropna().unique()}
        if len(names) > 1:
            raise InvalidValueError(
                f"the S-value table mixes nuclides {sorted(names)}", file=path, field="nuclide"
            )
        found = names.pop()
    else:  # the file name: Lu177-Male-Svalues.csv, svalues_I-131.csv
        for token in re.split(r"[_\s.]+|-(?=[A-Za-z])", path.stem):
            try:
                found = parse_nuclide_name(token)
                break
            except (UnknownNuclideError, InvalidValueError):
                continue
    if given is not None:
        given = parse_nuclide_name(given)
        if found is not None and found != given:
            raise InvalidValueError(
                f"the S-value table is of {found}, not {given}: S-values of one nuclide "
                "cannot be applied to another's TIAs",
                file=path,
                field="nuclide",
                value=given,
            )
        return given
    if found is None:
        raise MissingFieldError(
            "the S-value table names no nuclide (no nuclide column, none in the file name): "
            "give it (--nuclide or dosimetry.svalues_nuclide)",
            file=path,
            field="nuclide",
        )
    return found


def read_svalue_table(
    path: str | Path, *, nuclide: str | None = None, sex: str = "male"
) -> SValueTable:
    """An imported S-value table (matrix or long layout, see module) as an :class:`SValueTable`.

    Parameters
    ----------
    path
        CSV (matrix or long) or Parquet (long).
    nuclide
        The nuclide the doses are for; checked against the table's ``nuclide`` column or
        the nuclide its file name spells (``Lu177-Male-Svalues.csv``).
    sex
        ``male`` or ``female``: the ICRP 89 reference masses of the remainder of body.

    Raises
    ------
    InputError, MissingFieldError, InvalidValueError
        Unreadable file, missing nuclide, unknown organ names, duplicate or negative S.
    """
    p = Path(path)
    df = _read(p)
    df.columns = [str(c).strip() for c in df.columns]
    long = df if set(_LONG) <= set(df.columns) else _long_from_matrix(df, p)
    nuc = _nuclide(df, p, nuclide)
    long = long.assign(
        target=[_name(t, p, "target") for t in long["target"]],
        source=[_name(s, p, "source") for s in long["source"]],
        s_mgy_per_mbq_s=pd.to_numeric(long["s_mgy_per_mbq_s"], errors="coerce"),
    )
    bad = long[~np.isfinite(long["s_mgy_per_mbq_s"]) | (long["s_mgy_per_mbq_s"] < 0)]
    if len(bad):
        r = bad.iloc[0]
        raise InvalidValueError(
            "S-values must be finite and ≥ 0 (mGy/(MBq·s))",
            file=p,
            field=f"{r['target']} ← {r['source']}",
            value=r["s_mgy_per_mbq_s"],
        )
    dup = long.duplicated(["target", "source"])
    if dup.any():
        r = long[dup].iloc[0]
        raise InvalidValueError(
            f"two S-values for {r['target']} ← {r['source']} (two names of one organ?)",
            file=p,
            field="target, source",
        )
    if "sd_mgy_per_mbq_s" not in long:
        long = long.assign(sd_mgy_per_mbq_s=0.0)
    targets = tuple(dict.fromkeys(long["target"]))
    sources = tuple(dict.fromkeys(long["source"]))
    s = long.pivot(index="target", columns="source", values="s_mgy_per_mbq_s")
    sd = long.pivot(index="target", columns="source", values="sd_mgy_per_mbq_s")
    s = s.reindex(index=list(targets), columns=list(sources)).fillna(0.0).to_numpy(float)
    sd = sd.reindex(index=list(targets), columns=list(sources)).fillna(0.0).to_numpy(float)
    masses = dict(REFERENCE_MASSES_KG[sex])
    return SValueTable(
        nuclide=nuc,
        phantom=f"imported {p.name} (adult-{sex})",
        targets=targets,
        sources=sources,
        s_gy_per_bq_s=s * _MGY_PER_MBQ_S,
        sd_gy_per_bq_s=sd * _MGY_PER_MBQ_S,
        target_masses_kg={t: masses[t] for t in targets if t in masses},
        source_masses_kg={k: masses[k] for k in sources if k in masses}
        | {"total_body": masses["total_body"]},
    )


def move_missing_sources(tiac: Mapping[str, float], table: SValueTable) -> dict[str, float]:
    """TIACs of sources ``table`` has no column for, moved to the remainder of body (warning).

    Without a remainder or total-body source they cannot be kept: left out, with a warning.
    """
    out = dict(tiac)
    missing = [k for k in out if k not in ("remainder", "total_body") and k not in table.sources]
    if not missing:
        return out
    if "remainder" in out:
        out["remainder"] += sum(out.pop(k) for k in missing)
        what = "moved to the remainder of body"
    else:
        for k in missing:
            out.pop(k)
        what = "left out (no remainder or whole-body source to hold them)"
    warnings.warn(
        f"sources without an S-value column in {table.phantom}: {', '.join(missing)}; {what}",
        ImmunopetWarning,
        stacklevel=3,
    )
    return out
