"""Organ absorbed doses and effective dose from time-integrated activity coefficients.

MIRD schema (MIRD Pamphlet 21, Bolch et al. 2009, Eq. 9–10):

    D(r_T) = Σ_S Ã(r_S) · S(r_T ← r_S),   Ã = TIAC · A0

Per unit injected activity (mGy/MBq) with ``TIAC`` in hours; per scan (mGy) when
the injected activity is known. Remainder of body as in OLINDA/EXM and MIRD
Pamphlet 11 (Cloutier et al., J Nucl Med 1973;14:53, "remainder of the body"):

    S(T ← RB) = [S(T ← TB) M_TB − Σ_S S(T ← S) M_S] / (M_TB − Σ_S M_S)

over the source organs S given. Equivalent dose with w_R = 1 (photons, electrons;
ICRP 103 Table 2); effective dose with ICRP 103 weights, sex-averaged over the
adult male and female phantoms (:mod:`.weights`), or ICRP 60 on request.

Reference phantoms use the packaged photon absorbed-fraction tables made by
``scripts/make_svalue_tables.py`` (no Monte Carlo at run time); ``"patient"``
builds a phantom from CT + labels and runs the photon transport for the nuclide.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from importlib import resources

import numpy as np
import pandas as pd

from ..core.errors import ImmunopetWarning, InvalidValueError, UnsupportedDataError
from ..core.nuclides import Nuclide
from ..core.organs import ORGAN_NAMES
from ..core.organs import canonical_organ as canonical_region
from ..core.volume import Volume
from .dose_tables import table2_html, table2_markdown, table2_summary
from .phantom import patient_phantom
from .sources import validate_tiac as _validate_tiac
from .svalue_import import move_missing_sources
from .svalues import PhotonAFTable, SValueTable, direct_svalue_table, svalue_table
from .weights import REFERENCE_MASSES_KG, effective_dose_icrp60, effective_dose_icrp103

__all__ = [
    "ORGAN_NAMES",
    "PHANTOMS",
    "canonical_region",
    "organ_doses",
    "organ_doses_from_svalues",
    "organ_doses_table",
    "reference_af_table",
    "table2_html",
    "table2_markdown",
    "table2_summary",
]

PHANTOMS = ("adult", "adult-male", "adult-female", "patient")

MBQ = 1e6


@functools.lru_cache(maxsize=4)
def reference_af_table(phantom: str) -> PhotonAFTable:
    """The packaged photon absorbed-fraction table of ``adult-male`` / ``adult-female``."""
    ref = resources.files("immunopet.dosimetry") / "data" / f"af_{phantom}.npz"
    if not ref.is_file():
        raise UnsupportedDataError(
            f"no packaged absorbed-fraction table for {phantom}; run "
            "scripts/make_svalue_tables.py to create it",
            field="phantom",
            value=phantom,
        )
    with resources.as_file(ref) as path:
        return PhotonAFTable.load(path)


@functools.lru_cache(maxsize=32)
def _reference_svalues(nuclide: str, phantom: str) -> SValueTable:
    return svalue_table(nuclide, reference_af_table(phantom))


def _doses_one_phantom(
    tiac: Mapping[str, float], st: SValueTable
) -> tuple[dict[str, float], dict[str, float]]:
    """Absorbed dose (mGy/MBq) and MC SD per target for one S-value table."""
    s = st.s_gy_per_bq_s
    sd = st.sd_gy_per_bq_s
    cols: list[np.ndarray] = []
    sds: list[np.ndarray] = []
    weights: list[float] = []
    organ_sources = [k for k in tiac if k not in ("remainder", "total_body")]
    for name in organ_sources:
        if name not in st.sources:
            warnings.warn(
                f"source {name!r} does not exist in phantom {st.phantom}; its TIAC is left out",
                ImmunopetWarning,
                stacklevel=4,
            )
            continue
        j = st.sources.index(name)
        cols.append(s[:, j])
        sds.append(sd[:, j])
        weights.append(tiac[name])
    rest_key = (
        "remainder" if "remainder" in tiac else "total_body" if "total_body" in tiac else None
    )
    if rest_key is not None and tiac[rest_key] > 0:
        jt = st.sources.index("total_body")
        if rest_key == "total_body":
            s_rb, sd_rb = s[:, jt], sd[:, jt]
        else:
            present = [k for k in organ_sources if k in st.sources]
            m_tb = st.source_masses_kg["total_body"]
            m_s = np.asarray([st.source_masses_kg[k] for k in present])
            m_rb = m_tb - m_s.sum()
            if m_rb <= 0:
                raise InvalidValueError(
                    "the source organs weigh as much as the whole body: no remainder left",
                    field="tiac_h (remainder)",
                )
            idx = [st.sources.index(k) for k in present]
            s_rb = (s[:, jt] * m_tb - (s[:, idx] * m_s).sum(axis=1)) / m_rb
            s_rb = np.maximum(s_rb, 0.0)
            sd_rb = np.sqrt((sd[:, jt] * m_tb) ** 2 + ((sd[:, idx] * m_s) ** 2).sum(axis=1)) / m_rb
        cols.append(s_rb)
        sds.append(sd_rb)
        weights.append(tiac[rest_key])
    w_s = np.asarray(weights) * 3600.0  # Ã per Bq injected, s
    if not len(w_s):
        dose = np.zeros(len(st.targets))
        var = np.zeros(len(st.targets))
    else:
        dose = np.column_stack(cols) @ w_s
        var = (np.column_stack(sds) ** 2) @ (w_s**2)
    to_mgy_per_mbq = 1e3 * MBQ
    d = {t: float(v) * to_mgy_per_mbq for t, v in zip(st.targets, dose, strict=True)}
    e = {t: float(np.sqrt(v)) * to_mgy_per_mbq for t, v in zip(st.targets, var, strict=True)}
    return d, e


def organ_doses_from_svalues(
    tiac_by_region: Mapping[str, float], svalues: SValueTable
) -> tuple[dict[str, float], dict[str, float]]:
    """Absorbed dose and its MC SD per target (mGy/MBq) for a given S-value table.

    The MIRD sum of :func:`organ_doses` (same name checks, remainder of body) for an
    S-value table made elsewhere, e.g. by ``direct_svalue_table`` on a phantom variant;
    no effective dose.
    """
    tiac = _validate_tiac(tiac_by_region, Nuclide.from_name(svalues.nuclide))
    return _doses_one_phantom(tiac, svalues)


def _effective(
    dose_m: Mapping[str, float] | None,
    dose_f: Mapping[str, float] | None,
    sd_m: Mapping[str, float] | None,
    sd_f: Mapping[str, float] | None,
    weighting: str,
) -> tuple[float, float]:
    fn = effective_dose_icrp103 if weighting == "icrp103" else effective_dose_icrp60
    e0 = fn(dose_m, dose_f)
    var = 0.0
    for which in ("m", "f"):
        dose, sd = (dose_m, sd_m) if which == "m" else (dose_f, sd_f)
        if dose is None or sd is None:
            continue
        for t, sdt in sd.items():
            if sdt <= 0:
                continue
            bumped = dict(dose)
            bumped[t] = dose[t] + sdt
            e1 = fn(bumped, dose_f) if which == "m" else fn(dose_m, bumped)
            var += (e1 - e0) ** 2
    return e0, math.sqrt(var)


def organ_doses(
    tiac_by_region: Mapping[str, float],
    nuclide: str | Nuclide,
    phantom: str = "adult",
    *,
    subject: str = "",
    injected_activity_bq: float | None = None,
    weighting: str = "icrp103",
    ct: Volume | None = None,
    labels: Volume | None = None,
    label_names: Mapping[int, str] | None = None,
    organ_masses_kg: Mapping[str, float] | None = None,
    n_histories: int = 200_000,
    svalues: Mapping[str, SValueTable] | None = None,
) -> pd.DataFrame:
    """Organ absorbed doses and effective dose of one subject (tidy dose table).

    Parameters
    ----------
    tiac_by_region
        Time-integrated activity coefficient per source region, hours (Ã / A0).
        Names: :data:`ORGAN_NAMES` or TotalSegmentator names; ``remainder`` is
        spread uniformly over the tissue that is not a named source (OLINDA);
        ``total_body`` alone means uniform whole-body activity, with organs it is
        turned into the remainder. Lesion/blood regions are dropped with a warning.
    nuclide
        The nuclide (ICRP-107 emissions).
    phantom
        ``"adult"`` (both ICRP 89 phantoms; absorbed doses and E sex-averaged),
        ``"adult-male"``, ``"adult-female"``, or ``"patient"`` (needs ``ct``,
        ``labels``, ``label_names``).
    subject
        Subject identifier for the ``subject`` column.
    injected_activity_bq
        When given, per-scan rows (mGy, mSv) are added.
    weighting
        ``"icrp103"`` (default) or ``"icrp60"`` tissue weighting factors.
    organ_masses_kg
        Optional patient organ masses: reference self-S are mass-scaled (OLINDA).
    n_histories
        Photons per source for ``phantom="patient"``.
    svalues
        Imported S-value tables by sex (``male``/``female``,
        :func:`~immunopet.dosimetry.svalue_import.read_svalue_table`) in place of ours.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject, quantity, target, value, sd, unit, phantom``; quantities
        ``absorbed_dose`` (mGy/MBq; sex-averaged for ``adult``), ``absorbed_dose_male``
        and ``absorbed_dose_female`` (``adult`` only), ``effective_dose`` (target
        ``whole_body``, mSv/MBq) and the ``*_per_scan`` rows. ``sd`` is the Monte
        Carlo standard deviation.

    Raises
    ------
    InvalidValueError
        Unknown region names, negative TIACs, TIACs above the mean life, bad options.
    UnknownNuclideError
        Nuclide without emission data.
    """
    from .svalues import scale_to_organ_masses

    nuc = nuclide if isinstance(nuclide, Nuclide) else Nuclide.from_name(str(nuclide))
    if phantom not in PHANTOMS:
        raise InvalidValueError(
            f"phantom must be one of {', '.join(PHANTOMS)}", field="phantom", value=phantom
        )
    if weighting not in ("icrp103", "icrp60"):
        raise InvalidValueError(
            "weighting must be 'icrp103' or 'icrp60'", field="weighting", value=weighting
        )
    tiac = _validate_tiac(tiac_by_region, nuc)
    per_sex: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    if phantom == "patient":
        if ct is None or labels is None or not label_names:
            raise InvalidValueError(
                "phantom 'patient' needs a CT, a label map and the label names",
                field="phantom",
                value=phantom,
            )
        names = {k: canonical_region(v) for k, v in label_names.items()}
        ph = patient_phantom(ct, labels, names)
        srcs = [k for k in tiac if k not in ("remainder", "total_body")]
        missing = [k for k in srcs if k not in ph.organ_names.values()]
        if missing:
            raise InvalidValueError(
                f"source regions {missing} are not in the patient's label map",
                field="labels",
                value=missing,
            )
        st = direct_svalue_table(nuc, ph, sources=(*srcs, "total_body"), n_histories=n_histories)
        per_sex["patient"] = _doses_one_phantom(tiac, st)
    else:
        sexes = ("male", "female") if phantom == "adult" else (phantom.removeprefix("adult-"),)
        for sex in sexes:
            if svalues is not None:
                st = svalues[sex]
                per_sex[sex] = _doses_one_phantom(move_missing_sources(tiac, st), st)
                continue
            st = _reference_svalues(nuc.name, f"adult-{sex}")
            if organ_masses_kg:
                st = scale_to_organ_masses(
                    st, {canonical_region(k): v for k, v in organ_masses_kg.items()}
                )
            per_sex[sex] = _doses_one_phantom(tiac, st)
    rows: list[dict[str, object]] = []

    def add(quantity: str, target: str, value: float, sd: float, unit: str, ph_name: str) -> None:
        rows.append(
            dict(
                subject=subject,
                quantity=quantity,
                target=target,
                value=value,
                sd=sd,
                unit=unit,
                phantom=ph_name,
            )
        )

    if phantom == "adult":
        (dm, sm), (df_, sf) = per_sex["male"], per_sex["female"]
        for t in sorted(set(dm) | set(df_), key=_target_order):
            vals = [d[t] for d in (dm, df_) if t in d]
            sds = [s[t] for s in (sm, sf) if t in s]
            add(
                "absorbed_dose",
                t,
                float(np.mean(vals)),
                float(np.sqrt(np.sum(np.square(sds)))) / len(sds),
                "mGy/MBq",
                "adult",
            )
        for sex, (d, s) in per_sex.items():
            for t in sorted(d, key=_target_order):
                add(f"absorbed_dose_{sex}", t, d[t], s[t], "mGy/MBq", f"adult-{sex}")
        e, e_sd = _effective(dm, df_, sm, sf, weighting)
    elif phantom == "patient":
        d, s = per_sex["patient"]
        for t in sorted(d, key=_target_order):
            add("absorbed_dose", t, d[t], s[t], "mGy/MBq", "patient")
        e, e_sd = _effective_patient(d, s, weighting)
    else:
        sex = phantom.removeprefix("adult-")
        d, s = per_sex[sex]
        for t in sorted(d, key=_target_order):
            add("absorbed_dose", t, d[t], s[t], "mGy/MBq", phantom)
        args = (d, None, s, None) if sex == "male" else (None, d, None, s)
        e, e_sd = _effective(*args, weighting)
    add("effective_dose", "whole_body", e, e_sd, "mSv/MBq", phantom)
    if injected_activity_bq is not None:
        a_mbq = float(injected_activity_bq) / MBQ
        if not a_mbq > 0:
            raise InvalidValueError(
                "injected activity must be positive",
                field="injected_activity_bq",
                value=injected_activity_bq,
            )
        for r in [r for r in rows if r["quantity"] in ("absorbed_dose", "effective_dose")]:
            unit = "mGy" if r["quantity"] == "absorbed_dose" else "mSv"
            add(
                f"{r['quantity']}_per_scan",
                str(r["target"]),
                float(r["value"]) * a_mbq,
                float(r["sd"]) * a_mbq,
                unit,
                str(r["phantom"]),
            )
    return pd.DataFrame(
        rows, columns=["subject", "quantity", "target", "value", "sd", "unit", "phantom"]
    )


def _effective_patient(
    d: Mapping[str, float], s: Mapping[str, float], weighting: str
) -> tuple[float, float]:
    """Single-phantom E for a patient: tissues not segmented take the total-body dose."""
    full = {t: d.get(t, d["total_body"]) for t in REFERENCE_MASSES_KG["male"]}
    full.update(d)
    full.setdefault("red_marrow", d["total_body"])
    full.setdefault("bone_surfaces", d["total_body"])
    sd = {t: s.get(t, 0.0) for t in full}
    return _effective(full, None, sd, None, weighting)


_ORDER = {name: i for i, name in enumerate(ORGAN_NAMES)}


def _target_order(name: str) -> tuple[int, str]:
    return (_ORDER.get(name, len(_ORDER)), name)


def organ_doses_table(
    kinetics: pd.DataFrame,
    nuclide: str | Nuclide,
    phantom: str = "adult",
    **kwargs: object,
) -> pd.DataFrame:
    """:func:`organ_doses` for every subject of a kinetics table.

    ``kinetics`` has columns ``subject, region`` and ``tiac_h`` — or ``tia_bq_h``
    with ``injected_activity_bq`` (TIAC = TIA / A0). ``injected_activity_bq``, when
    present, gives the per-scan rows.
    """
    need = {"subject", "region"}
    missing = need - set(kinetics.columns)
    if missing:
        raise InvalidValueError(f"kinetics table lacks columns {sorted(missing)}", field="columns")
    df = kinetics.copy()
    if "tiac_h" not in df.columns:
        if {"tia_bq_h", "injected_activity_bq"} <= set(df.columns):
            df["tiac_h"] = df["tia_bq_h"] / df["injected_activity_bq"]
        else:
            raise InvalidValueError(
                "kinetics table needs a tiac_h column, or tia_bq_h with injected_activity_bq",
                field="tiac_h",
            )
    out = []
    for subject, g in df.groupby("subject", sort=False):
        a0 = None
        if "injected_activity_bq" in g.columns and g["injected_activity_bq"].notna().any():
            a0 = float(g["injected_activity_bq"].dropna().iloc[0])
        tiac: dict[str, float] = {}
        for region, v in zip(g["region"], g["tiac_h"], strict=True):
            tiac[str(region)] = tiac.get(str(region), 0.0) + float(v)
        out.append(
            organ_doses(
                tiac, nuclide, phantom, subject=str(subject), injected_activity_bq=a0, **kwargs
            )  # type: ignore[arg-type]
        )
    return pd.concat(out, ignore_index=True)
