"""Slope and relative index of inequality, as PHE/OHID compute them.

Port of ``PHEindicatormethods::phe_sii`` (R/SII_function.R, R/utils.R::FindXValues), DOMAIN.md
section 4: quantiles ordered from most deprived (1) to least deprived; population shares
a_i = n_i / sum(n); relative rank (ridit) b_i = cumulative share of the groups before + a_i / 2;
weighted least squares of the value y on b with weights a (``lm(y*sqrt(a) ~ sqrt(a) + b*sqrt(a) - 1)``).
SII = fitted(b=1) - fitted(b=0) = slope, so it is negative when an adverse outcome is higher in
the more deprived groups; RII = fitted(1) / fitted(0) = (intercept + SII) / intercept.
95% confidence intervals by Monte Carlo: each y_i drawn from N(y_i, se_i), the fit repeated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_REPS = 100_000
DEFAULT_SEED = 20_240_101


def ridit_scores(population: np.ndarray) -> np.ndarray:
    """Relative rank of each group's midpoint in the cumulative population (ordered input)."""
    share = np.asarray(population, dtype=float) / np.sum(population)
    return np.cumsum(share) - share / 2


def wls_line(values: np.ndarray, ridit: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of the WLS fit of values on ridit; values may be (reps, groups)."""
    w = weights / weights.sum()
    y = np.atleast_2d(values)
    x_bar = np.sum(w * ridit)
    y_bar = y @ w
    slope = ((y - y_bar[:, None]) * (ridit - x_bar)) @ w / np.sum(w * (ridit - x_bar) ** 2)
    intercept = y_bar - slope * x_bar
    return intercept, slope


def sii_rii(
    values: np.ndarray,
    population: np.ndarray,
    standard_error: np.ndarray | None = None,
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> dict[str, float]:
    """SII and RII of ``values`` across ordered groups (most deprived first), with MC CIs."""
    values = np.asarray(values, dtype=float)
    population = np.asarray(population, dtype=float)
    if values.shape != population.shape or values.size < 2:
        raise ValueError("values and population need the same length, at least 2 groups")
    if np.any(population <= 0) or np.any(~np.isfinite(values)):
        raise ValueError("every group needs a positive population and a finite value")
    ridit = ridit_scores(population)
    weights = population / population.sum()
    intercept, slope = wls_line(values, ridit, weights)
    sii = float(slope[0])
    rii = float((intercept[0] + slope[0]) / intercept[0])
    out = {"sii": sii, "rii": rii, "intercept": float(intercept[0])}
    if standard_error is not None:
        se = np.asarray(standard_error, dtype=float)
        rng = np.random.default_rng(seed)
        draws = rng.normal(values, se, size=(reps, values.size))
        b0, b1 = wls_line(draws, ridit, weights)
        alpha = (1 - confidence) / 2
        out["sii_lower"], out["sii_upper"] = (float(q) for q in np.quantile(b1, [alpha, 1 - alpha]))
        out["rii_lower"], out["rii_upper"] = (float(q) for q in np.quantile((b0 + b1) / b0, [alpha, 1 - alpha]))
    return out


def sii_by_outcome(
    rates: pd.DataFrame,
    *,
    value: str = "dsr_per_1000",
    standard_error: str = "dsr_standard_error",
    population: str = "person_years",
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """One row per outcome: SII and RII across IMD quintiles from a rates table.

    ``rates`` holds rows with dimension = 'imd_quintile', group_value '1'..'5' (1 = most
    deprived), outcome, and the value, standard-error and population columns named.
    """
    required = {"dimension", "group_value", "outcome", value, standard_error, population}
    missing = required - set(rates.columns)
    if missing:
        raise KeyError(f"rates table is missing column(s): {', '.join(sorted(missing))}")
    imd = rates[rates["dimension"] == "imd_quintile"].copy()
    imd["quintile"] = imd["group_value"].astype(int)
    rows = []
    for outcome, grp in imd.sort_values(["outcome", "quintile"]).groupby("outcome", sort=True):
        row = {
            "outcome": outcome,
            "quantiles": int(len(grp)),
            "value_type": f"{value} (rate per 1,000 person-years)",
            "method": "PHE SII/RII: WLS on ridit scores, population-weighted; Monte Carlo 95% CI",
            "reps": reps,
        }
        vals = grp[value].to_numpy(dtype=float)
        ok = len(grp) == 5 and np.all(np.isfinite(vals)) and np.all(grp[population].to_numpy() > 0)
        if ok:
            row.update(
                sii_rii(
                    vals, grp[population].to_numpy(float), grp[standard_error].to_numpy(float), reps=reps, seed=seed
                )
            )
            row["note"] = None
        else:
            row.update(dict.fromkeys(["sii", "rii", "intercept", "sii_lower", "sii_upper", "rii_lower", "rii_upper"]))
            row["note"] = "not calculated: a quintile has no value (no events or no person-time)"
        rows.append(row)
    cols = [
        "outcome",
        "quantiles",
        "sii",
        "sii_lower",
        "sii_upper",
        "rii",
        "rii_lower",
        "rii_upper",
        "intercept",
        "value_type",
        "method",
        "reps",
        "note",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["note"] = out["note"].astype("string")  # a typed text column even when every note is empty
    return out
