"""Uncertainty of organ and effective doses from the TIAs, organ masses and S-values.

After the EANM guidance on uncertainty in MRT dosimetry (Gear et al., EJNMMI Phys
2018;5:36, §"Absorbed dose", eqs. 17–22): the absorbed dose D_T = Σ_S Ã_S S(T ← S)
is linear in the TIAs, so the standard uncertainty propagates exactly through its
sensitivity coefficients ∂D/∂Ã_S (computed here by evaluating the same MIRD sum,
:func:`.organ_dose.organ_doses`, with one TIAC moved — the remainder of body
moving with it, as in the MIRD sum):

    u²(D_T) = Σ_S (∂D_T/∂Ã_S · u(Ã_S))²            TIA part (sources independent)
            + (D_T←T · u(M_T)/M_T)²                  mass part (self-S ∝ 1/M, eq. 20)
            + u²_S(D_T)                              S-value part (Monte Carlo SD of our
                                                     S, or the imported table's SD)

The effective dose and the per-scan rows are linear in the same TIAs and take the
same treatment. Assumptions, stated: the TIAs of different sources are uncorrelated
(the fit covariance is per curve); the self-dose D_T←T is Ã_T ∂D_T/∂Ã_T.

``method="monte_carlo"`` samples the TIACs (and masses) from log-normal
distributions of the same mean and SD (positive, as Gear et al. advise for
skewed quantities) and reports the sample SD of the doses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ..core.errors import InvalidValueError

__all__ = ["UNCERTAINTY_METHODS", "with_uncertainty"]

UNCERTAINTY_METHODS = ("analytic", "monte_carlo")
_KEY = ["quantity", "target", "phantom"]


def _lognormal(mean: np.ndarray, sd: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Samples (n, k) of log-normals with the given means and SDs (SD 0: the mean)."""
    mean = np.asarray(mean, float)
    cv2 = np.where(mean > 0, (np.asarray(sd, float) / np.where(mean > 0, mean, 1)) ** 2, 0.0)
    sigma = np.sqrt(np.log1p(cv2))
    mu = np.log(np.where(mean > 0, mean, 1.0)) - sigma**2 / 2
    out = np.exp(mu + sigma * rng.standard_normal((n, len(mean))))
    return np.where(mean > 0, out, 0.0)


def with_uncertainty(
    call: Callable[[Mapping[str, float]], pd.DataFrame],
    tiac_h: Mapping[str, float],
    tiac_h_sd: Mapping[str, float],
    *,
    mass_rel_sd: Mapping[str, float] | None = None,
    method: str = "analytic",
    n_samples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The dose table ``call(tiac_h)`` with its ``sd`` including the TIA and mass parts.

    Parameters
    ----------
    call
        The MIRD sum of one subject: TIACs (h) by region → tidy dose rows whose ``sd``
        is the S-value part.
    tiac_h, tiac_h_sd
        TIACs and their SDs by region (the same keys; a missing or NaN SD is 0).
    mass_rel_sd
        Relative SD of an organ's mass (u(M)/M) by canonical organ name.
    method
        ``"analytic"`` (default) or ``"monte_carlo"``.

    Returns
    -------
    pandas.DataFrame
        The rows of ``call(tiac_h)`` with ``sd_svalue`` (the S-value part), ``sd_tia``,
        ``sd_mass`` and ``sd`` (all combined in quadrature).
    """
    if method not in UNCERTAINTY_METHODS:
        raise InvalidValueError(
            f"uncertainty method must be one of {', '.join(UNCERTAINTY_METHODS)}",
            field="dosimetry.uncertainty",
            value=method,
        )
    base = call(tiac_h)
    index = pd.MultiIndex.from_frame(base[_KEY])
    d0 = base["value"].to_numpy(float)
    names = [k for k in tiac_h]
    sds = np.array([_finite(tiac_h_sd.get(k, 0.0)) for k in names])
    means = np.array([float(tiac_h[k]) for k in names])
    jac = np.zeros((len(d0), len(names)))
    for j, name in enumerate(names):
        if sds[j] <= 0 and not mass_rel_sd:
            continue
        step = 1e-3 * max(means[j], 1e-3)
        moved = dict(tiac_h)
        moved[name] = means[j] + step
        d1 = call(moved).set_index(_KEY)["value"].reindex(index).to_numpy(float)
        jac[:, j] = (d1 - d0) / step
    mass = np.zeros(len(d0))
    if mass_rel_sd:
        from ..core.organs import canonical_organ

        for j, name in enumerate(names):
            try:
                organ = canonical_organ(name)
            except InvalidValueError:
                continue
            rel = _finite(mass_rel_sd.get(organ, 0.0))
            if rel > 0:
                own = (base["target"].to_numpy() == organ) & base["quantity"].str.startswith(
                    "absorbed_dose"
                ).to_numpy()
                mass += np.where(own, (means[j] * jac[:, j] * rel) ** 2, 0.0)
    if method == "analytic":
        tia_var = (jac**2) @ (sds**2)
    else:
        rng = np.random.default_rng(seed)
        draws = _lognormal(means, sds, rng, n_samples) - means
        tia_var = np.var(draws @ jac.T, axis=0, ddof=1)  # the mass part stays analytic
    out = base.copy()
    out["sd_svalue"] = out["sd"].astype(float)
    out["sd_tia"] = np.sqrt(tia_var)
    out["sd_mass"] = np.sqrt(mass)
    out["sd"] = np.sqrt(out["sd_svalue"] ** 2 + out["sd_tia"] ** 2 + out["sd_mass"] ** 2)
    return out


def _finite(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) and v > 0 else 0.0
