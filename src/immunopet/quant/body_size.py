"""Body-size formulas for SUV normalisation: lean body mass (SUL) and body surface area."""

from __future__ import annotations

__all__ = ["body_surface_area_m2", "lean_body_mass_kg"]


def lean_body_mass_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg), Janmahasatian et al. 2005.

    LBM = 9270·W / (6680 + 216·BMI) for men, 9270·W / (8780 + 244·BMI) for
    women, BMI = W / H² (kg/m²).

    References
    ----------
    Janmahasatian S, Duffull SB, Ash S, Ward LC, Byrne NM, Green B.
    Quantification of lean bodyweight. Clin Pharmacokinet 2005;44(10):1051–65, eq. 9–10.
    """
    bmi = weight_kg / height_m**2
    s = sex.upper()[:1]
    if s == "M":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    if s == "F":
        return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    raise ValueError(f"lean body mass needs sex 'M' or 'F', got {sex!r}")


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area (m²), Du Bois & Du Bois 1916: 0.007184 · W^0.425 · H_cm^0.725.

    References
    ----------
    Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if
    height and weight be known. Arch Intern Med 1916;17:863–71.
    """
    return 0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725
