"""Slope and relative index of inequality, as PHE/OHID compute them.

Port of ``PHEindicatormethods::phe_sii`` (R/SII_function.R, R/utils.R::FindXValues): quantiles
ordered from most deprived (1) to least deprived; population shares
a_i = n_i / sum(n); relative rank (ridit) b_i = cumulative share of the groups before + a_i / 2;
weighted least squares of the value y on b with weights a (``lm(y*sqrt(a) ~ sqrt(a) + b*sqrt(a) - 1)``).
SII = fitted(b=1) - fitted(b=0) = slope, so it is negative when an adverse outcome is higher in
the more deprived groups; RII = fitted(1) / fitted(0) = (intercept + SII) / intercept.
95% confidence intervals by Monte Carlo: each y_i drawn from N(y_i, se_i), the fit repeated.

Small numbers (``sii_by_outcome``): the RII is a ratio of fitted values, so it is not given when
either fitted end is not positive (no events anywhere gives 0 / 0), and the most-to-least
deprived ratio 1 / RII has no interval when the RII's interval reaches 0; the note says which.

Disclosure (``published``, the published mart's rows with ``is_suppressed``): an outcome any of
whose quintile rows is suppressed there, or missing from it, gets no indices at all: the fitted
line and the four published quintiles would give the hidden quintile's value back.
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
    with np.errstate(divide="ignore", invalid="ignore"):  # RII is NaN or infinite at an intercept of 0
        rii = float((intercept[0] + slope[0]) / intercept[0])
    out = {"sii": sii, "rii": rii, "intercept": float(intercept[0])}
    if standard_error is not None:
        se = np.asarray(standard_error, dtype=float)
        rng = np.random.default_rng(seed)
        draws = rng.normal(values, se, size=(reps, values.size))
        b0, b1 = wls_line(draws, ridit, weights)
        alpha = (1 - confidence) / 2
        out["sii_lower"], out["sii_upper"] = (float(q) for q in np.quantile(b1, [alpha, 1 - alpha]))
        with np.errstate(divide="ignore", invalid="ignore"):
            simulated_rii = (b0 + b1) / b0
        out["rii_lower"], out["rii_upper"] = (float(q) for q in np.quantile(simulated_rii, [alpha, 1 - alpha]))
    return out


NOUN = {
    "rate per 1,000 person-years": "rate",
    "percentage of index discharges": "percentage of index discharges",
    "percentage of patients": "percentage of patients",
}


def sig3(value: float) -> str:
    """A magnitude to 3 significant figures, never in exponent form: 0.881, 99.8, 144, 1,235."""
    v = abs(float(value))
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    rounded = round(v, 2 - int(np.floor(np.log10(v))))
    return f"{rounded:,.{max(0, 2 - int(np.floor(np.log10(rounded))))}f}"


def _direction(value: float) -> str:
    return "higher" if value > 0 else "lower" if value < 0 else "no different"


def amount_in_words(value: float, unit: str = "") -> str:
    """A signed amount by its direction, with no sign convention to know: "122 per 1,000
    person-years higher", "0.283 lower"."""
    return f"{sig3(value)}{' ' + unit if unit else ''} {_direction(value)}"


def interval_in_words(lower: float, upper: float) -> str:
    """The 95% interval of a signed amount by direction: "99.8 to 144 higher", "5.79 lower to
    0.881 higher"."""
    if _direction(lower) == _direction(upper):
        return f"{sig3(lower)} to {sig3(upper)} {_direction(upper)}"
    return f"{sig3(lower)} {_direction(lower)} to {sig3(upper)} {_direction(upper)}"


def gap_in_words(gap: float, lower: float, upper: float, unit: str) -> str:
    """The absolute gap, most deprived minus least deprived fitted value, with no sign convention to
    know: "122 per 1,000 person-years higher in the most deprived than in the least deprived (95% CI
    99.8 to 144 higher)". A percentage's gap is in percentage points; a unit's qualifier after a
    comma (", age-standardised (ESP 2013)") is left to the sentence around it."""
    unit = "percentage points" if unit == "%" else unit.split(", ")[0]
    return (
        f"{amount_in_words(gap, unit)} in the most deprived than in the least deprived "
        f"(95% CI {interval_in_words(lower, upper)})"
    )


def ratio_in_words(ratio: float, lower: float, upper: float) -> str:
    """The most-to-least deprived ratio in words: "3.89 times as high in the most deprived as in the
    least deprived (95% CI 2.95 to 5.39)"."""
    return (
        f"{ratio:.2f} times as high in the most deprived as in the least deprived (95% CI {lower:.2f} to {upper:.2f})"
    )


def significance_in_words(significant: bool) -> str:
    return "a statistically significant difference" if significant else "not statistically significant"


def orientation(
    ratio: float,
    lower: float,
    upper: float,
    gap: float,
    gap_lower: float,
    gap_upper: float,
    unit: str,
    significant: bool,
) -> str:
    """The indices in words, most deprived vs least deprived: the ratio, then the absolute gap."""
    return (
        f"most deprived vs least deprived: {ratio_in_words(ratio, lower, upper)}; "
        f"{gap_in_words(gap, gap_lower, gap_upper, unit)}; {significance_in_words(significant)}"
    )


def sii_in_words(gap: float, gap_lower: float, gap_upper: float, unit: str, significant: bool) -> str:
    """The absolute gap alone in words, for when the ratio or its interval cannot be given."""
    return (
        f"most deprived vs least deprived: {gap_in_words(gap, gap_lower, gap_upper, unit)}; "
        f"{significance_in_words(significant)}; see the note on the ratio"
    )


def sii_by_outcome(
    rates: pd.DataFrame,
    *,
    value: str = "indicator_value",
    standard_error: str = "indicator_standard_error",
    population: str = "denominator",
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    published: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per outcome: SII and RII across IMD quintiles from a rates table.

    ``published`` (dimension, group_value, outcome, is_suppressed) is what the disclosure-controlled
    mart shows; an outcome with a quintile suppressed or absent there is withheld, with a note.

    ``rates`` holds rows with dimension = 'imd_quintile', group_value '1'..'5' (1 = most
    deprived), outcome, measure_type, indicator_unit and the value, standard-error and population
    columns named. Each outcome is analysed on its own scale: an age-standardised rate with its
    person-years as the population, or a percentage with its count denominator (index discharges,
    assessable patients) as the population.
    """
    required = {"dimension", "group_value", "outcome", "measure_type", "indicator_unit", value, standard_error}
    required.add(population)
    missing = required - set(rates.columns)
    if missing:
        raise KeyError(f"rates table is missing column(s): {', '.join(sorted(missing))}")
    imd = rates[rates["dimension"] == "imd_quintile"].copy()
    if published is not None:
        keys = ["dimension", "group_value", "outcome"]
        flags = published[[*keys, "is_suppressed"]].rename(columns={"is_suppressed": "is_withheld"})
        imd = imd.merge(flags, on=keys, how="left")
        imd["is_withheld"] = imd["is_withheld"].astype("boolean").fillna(True).astype(bool)
    # Patients without a deprivation quintile (an OMOP source without area data) form a group of
    # their own, with no place on the deprivation scale.
    unranked = ~imd["group_value"].astype(str).str.fullmatch(r"[1-5]")
    imd = imd[~unranked].copy()
    imd["quintile"] = imd["group_value"].astype(int)
    rows = []
    for outcome in sorted(set(rates["outcome"]) - set(imd["outcome"])):
        first = rates[rates["outcome"] == outcome].iloc[0]
        rows.append(
            {
                "outcome": outcome,
                "measure_type": str(first["measure_type"]),
                "quantiles": 0,
                "indicator_unit": str(first["indicator_unit"]),
                "value_type": (
                    f"{value}: {first['measure_type']} ({first['indicator_unit']}); population weights: {population}"
                ),
                "method": "PHE SII/RII: WLS on ridit scores, population-weighted; Monte Carlo 95% CI",
                "reps": reps,
                "note": "not available: no patient has a deprivation quintile (no deprivation data for their areas)",
            }
        )
    for outcome, grp in imd.sort_values(["outcome", "quintile"]).groupby("outcome", sort=True):
        measure_type = str(grp["measure_type"].iloc[0])
        unit = str(grp["indicator_unit"].iloc[0])
        row = {
            "outcome": outcome,
            "measure_type": measure_type,
            "quantiles": int(len(grp)),
            "value_type": f"{value}: {measure_type} ({unit}); population weights: {population}",
            "indicator_unit": unit,
            "method": "PHE SII/RII: WLS on ridit scores, population-weighted; Monte Carlo 95% CI",
            "reps": reps,
        }
        vals = grp[value].to_numpy(dtype=float)
        pops = grp[population].to_numpy(dtype=float)
        ses = grp[standard_error].to_numpy(dtype=float)
        ok = len(grp) == 5 and np.all(np.isfinite(vals)) and np.all(pops > 0) and np.all(np.isfinite(ses))
        hidden = grp.loc[grp["is_withheld"], "group_value"].tolist() if "is_withheld" in grp else []
        if hidden:
            row["note"] = (
                "withheld under the disclosure policy: deprivation quintile(s) "
                f"{', '.join(map(str, hidden))} suppressed in asthma_inequalities, "
                "and the indices with the other quintiles would give them back"
            )
        elif ok:
            res = sii_rii(vals, pops, ses, reps=reps, seed=seed)
            row.update(res)
            row["most_deprived_fitted"] = res["intercept"]
            row["least_deprived_fitted"] = res["intercept"] + res["sii"]
            row["sii_ci_excludes_zero"] = bool(res["sii_lower"] > 0 or res["sii_upper"] < 0)
            # The same gap the other way round, most minus least deprived: positive = higher in
            # the most deprived (no sign convention to know).
            row["most_minus_least_deprived"] = -res["sii"]
            row["most_minus_least_deprived_lower"] = -res["sii_upper"]
            row["most_minus_least_deprived_upper"] = -res["sii_lower"]
            row["note"] = None
            gap = (
                row["most_minus_least_deprived"],
                row["most_minus_least_deprived_lower"],
                row["most_minus_least_deprived_upper"],
                unit,
                row["sii_ci_excludes_zero"],
            )
            if not (row["most_deprived_fitted"] > 0 and row["least_deprived_fitted"] > 0):
                # A ratio of fitted values needs both ends positive (all-zero counts give 0 / 0).
                row.update(dict.fromkeys(("rii", "rii_lower", "rii_upper"), None))
                row["note"] = (
                    "RII not calculated: a fitted end of the line is not positive (most deprived "
                    f"{row['most_deprived_fitted']:.3g}, least deprived {row['least_deprived_fitted']:.3g}); "
                    "the SII stands"
                )
                row["interpretation"] = sii_in_words(*gap)
            elif not res["rii_lower"] > 0:
                # Simulated lines whose most-deprived end reaches 0 or below: the RII's interval (as
                # PHE computes it) takes in 0, so 1 / RII has no interval; the point estimate stands.
                row["most_to_least_deprived_ratio"] = 1 / res["rii"]
                row["note"] = (
                    "no interval for the most-to-least deprived ratio: the RII's 95% interval reaches 0 "
                    f"({res['rii_lower']:.3g} to {res['rii_upper']:.3g}; too few events), so 1 / RII is unbounded"
                )
                row["interpretation"] = sii_in_words(*gap)
            else:
                row["most_to_least_deprived_ratio"] = 1 / res["rii"]
                row["most_to_least_deprived_ratio_lower"] = 1 / res["rii_upper"]
                row["most_to_least_deprived_ratio_upper"] = 1 / res["rii_lower"]
                row["interpretation"] = orientation(
                    row["most_to_least_deprived_ratio"],
                    row["most_to_least_deprived_ratio_lower"],
                    row["most_to_least_deprived_ratio_upper"],
                    *gap,
                )
        else:
            row["note"] = "not calculated: a quintile has no value (no events or no denominator)"
        rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS).sort_values("outcome", kind="stable").reset_index(drop=True)
    for c in ("note", "interpretation"):
        out[c] = out[c].astype("string")  # a typed text column even when every value is empty
    out["sii_ci_excludes_zero"] = out["sii_ci_excludes_zero"].astype("boolean")
    return out


COLUMNS = [
    "outcome",
    "measure_type",
    "quantiles",
    "sii",
    "sii_lower",
    "sii_upper",
    "rii",
    "rii_lower",
    "rii_upper",
    "intercept",
    "most_deprived_fitted",
    "least_deprived_fitted",
    "most_to_least_deprived_ratio",
    "most_to_least_deprived_ratio_lower",
    "most_to_least_deprived_ratio_upper",
    "most_minus_least_deprived",
    "most_minus_least_deprived_lower",
    "most_minus_least_deprived_upper",
    "sii_ci_excludes_zero",
    "interpretation",
    "indicator_unit",
    "value_type",
    "method",
    "reps",
    "note",
]


def quintile_measure(published: pd.DataFrame) -> str | None:
    """What the deprivation quintiles measure, as asthma_inequalities labels its imd_quintile groups
    (deprivation_measure, one label per build; dbt doc omop_deprivation): the label of the groups
    that have a quintile, else (no patient has one) the name of the "not available" group, which
    says why; None without imd_quintile rows. Two labels in one build are an error: one gradient
    cannot run across two measures."""
    imd = published[published.dimension == "imd_quintile"]
    available = imd[~imd.group_value.astype(str).str.startswith("not available")]
    labels = sorted(set((available if len(available) else imd).deprivation_measure.dropna()))
    if len(labels) > 1:
        raise ValueError(f"asthma_inequalities labels its IMD quintile groups with more than one measure: {labels}")
    return labels[0] if labels else None
