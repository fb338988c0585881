"""Hospital clinical risk against ZIP income: OLS with HC3 robust standard errors.

* ``log_income``: normalised clinical risk ~ log(median household income).
* ``log_income_controls``: the same with hospital type, ownership and emergency services.
* ``trend``: per income tier (and overall) OLS of risk on income in $1,000s: the slope and
  intercept of each trend line of the income-vs-risk scatter plot.
* ``correlation``: Pearson and Spearman correlation of risk with log income, 95% CIs by Fisher's
  z (Spearman with the Bonett-Wright variance 1 + rho^2 / 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

Z95 = stats.norm.ppf(0.975)
COLUMNS = [
    "row_type",
    "model_name",
    "income_tier",
    "term",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "r_squared",
    "n",
    "covariance_type",
    "x_unit",
]


def analysis_frame(hospitals: pd.DataFrame) -> pd.DataFrame:
    need = {
        "clinical_risk_score",
        "median_household_income",
        "income_tier",
        "hospital_type",
        "hospital_ownership",
        "has_emergency_services",
    }
    missing = need - set(hospitals.columns)
    if missing:
        raise KeyError(f"hospital table is missing column(s): {', '.join(sorted(missing))}")
    df = hospitals.dropna(subset=["clinical_risk_score", "median_household_income"]).copy()
    df = df[df["median_household_income"] > 0]
    df["log_income"] = np.log(df["median_household_income"].astype(float))
    df["income_thousands"] = df["median_household_income"].astype(float) / 1000
    df["emergency_services"] = df["has_emergency_services"].fillna(False).astype(float)
    return df.reset_index(drop=True)


def _dummies(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Treatment dummies with the most common level as reference (ties: first alphabetically)."""
    counts = df[column].value_counts()
    reference = sorted(counts[counts == counts.max()].index)[0]
    levels = sorted(set(df[column]) - {reference})
    return pd.DataFrame({f"{column}={lv}": (df[column] == lv).astype(float) for lv in levels}, index=df.index)


def _ols_rows(y, x: pd.DataFrame, row_type: str, model_name: str, tier, x_unit: str) -> list[dict]:
    res = sm.OLS(y, x).fit(cov_type="HC3")
    ci = res.conf_int()
    return [
        {
            "row_type": row_type,
            "model_name": model_name,
            "income_tier": tier,
            "term": term,
            "estimate": float(res.params[term]),
            "std_error": float(res.bse[term]),
            "ci_lower": float(ci.loc[term, 0]),
            "ci_upper": float(ci.loc[term, 1]),
            "p_value": float(res.pvalues[term]),
            "r_squared": float(res.rsquared),
            "n": int(res.nobs),
            "covariance_type": "HC3",
            "x_unit": x_unit,
        }
        for term in res.params.index
    ]


def correlation_rows(x: np.ndarray, y: np.ndarray) -> list[dict]:
    n = len(x)
    rows = []
    pearson = stats.pearsonr(x, y)[0]
    spearman = stats.spearmanr(x, y)[0]
    # Fisher z variance: 1 / (n - 3); Spearman: (1 + rho^2 / 2) / (n - 3) (Bonett & Wright 2000).
    for name, r, var in (("pearson", pearson, 1.0), ("spearman", spearman, 1 + spearman**2 / 2)):
        se = np.sqrt(var / (n - 3))
        z = np.arctanh(r)
        p = 2 * stats.norm.sf(abs(z) / se)
        rows.append(
            {
                "row_type": "correlation",
                "model_name": name,
                "income_tier": None,
                "term": "log_income",
                "estimate": float(r),
                "std_error": float(se),
                "ci_lower": float(np.tanh(z - Z95 * se)),
                "ci_upper": float(np.tanh(z + Z95 * se)),
                "p_value": float(p),
                "r_squared": float(r**2),
                "n": n,
                "covariance_type": "Fisher z",
                "x_unit": "log dollars",
            }
        )
    return rows


def income_regression(hospitals: pd.DataFrame) -> pd.DataFrame:
    df = analysis_frame(hospitals)
    y = df["clinical_risk_score"].astype(float)
    rows: list[dict] = []
    x = sm.add_constant(df[["log_income"]]).rename(columns={"const": "intercept"})
    rows += _ols_rows(y, x, "coefficient", "log_income", None, "log dollars")
    controls = pd.concat(
        [x, _dummies(df, "hospital_type"), _dummies(df, "hospital_ownership"), df[["emergency_services"]]], axis=1
    )
    # Drop constant columns and exact duplicates (VA and DoD hospitals are both a type and an
    # ownership), which would make the design singular.
    controls = controls.loc[:, controls.std() > 0]
    controls = controls.loc[:, ~controls.T.duplicated()].assign(intercept=1.0)
    rows += _ols_rows(y, controls, "coefficient", "log_income_controls", None, "log dollars")
    for tier, grp in [("All", df), *sorted(df.groupby("income_tier"), key=lambda kv: kv[0])]:
        if len(grp) < 3:
            continue
        xt = sm.add_constant(grp[["income_thousands"]]).rename(columns={"const": "intercept"})
        rows += _ols_rows(grp["clinical_risk_score"].astype(float), xt, "trend", "trend_line", tier, "$1,000")
    rows += correlation_rows(df["log_income"].to_numpy(), y.to_numpy())
    return pd.DataFrame(rows, columns=COLUMNS)
