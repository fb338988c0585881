"""Hospital risk scores against ZIP income: OLS with HC3 robust standard errors, per score.

For every score of ``hospital_scores`` (one row per hospital x score), on the hospitals with a
score and a matched income (Census top- and bottom-coded incomes left out unless asked for):

* ``log_income``: risk score ~ log(median household income), all states and territories.
* ``log_income_no_territories``: the same without PR, GU, VI, MP and AS.
* ``log_income_controls``: ``log_income`` plus hospital type, ownership and emergency services.
  A hospital that alone makes up a level of a control (on the 2025 CMS file, the one Tribal
  hospital with a group score) is fitted exactly by its own dummy: its leverage is 1, where HC3
  (each residual divided by 1 - leverage) is 0/0 and would put an arbitrary number into every
  standard error. Such hospitals are left out of that model with their dummy, which leaves every
  other estimate unchanged; ``leverage_one_excluded`` counts them and a ``no_estimate`` row names
  each level left out.
* ``trend``: per income tier (and overall) OLS of the score on income in $1,000s: the slope and
  intercept of each trend line of the income-vs-risk scatter plot.
* ``correlation``: Pearson and Spearman correlation of the score with log income, 95% CIs by
  Fisher's z (Spearman with the Bonett-Wright variance 1 + rho^2 / 2).

A slope per log-dollar (natural log) is hard to read, so every ``log_income`` coefficient also
comes per doubling of ZIP income: the slope times ln 2, with its 95% CI times ln 2 (a linear
transformation of the same HC3 interval): the expected difference in the score between two
hospitals whose ZIP incomes differ by a factor of two.

A score (or a model) with too few hospitals gets one ``no_estimate`` row that says why, never an
exception: a missing Complications file must not stop the build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# The two statsmodels pieces used, not statsmodels.api: that imports every statsmodels subpackage
# (time series, graphics, formulas), about 0.5 s of every build that runs a Python model.
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

Z95 = stats.norm.ppf(0.975)
LN2 = float(np.log(2.0))
# The mart's columns, in its contract's order, with the pandas type each is written as.
DTYPES = {
    "score_name": "string",
    "score_label": "string",
    "is_headline": "bool",
    "row_type": "string",
    "model_name": "string",
    "income_tier": "string",
    "term": "string",
    "estimate": "float64",
    "std_error": "float64",
    "ci_lower": "float64",
    "ci_upper": "float64",
    "p_value": "float64",
    "estimate_per_doubling": "float64",
    "ci_lower_per_doubling": "float64",
    "ci_upper_per_doubling": "float64",
    "r_squared": "float64",
    "n": "int64",
    "covariance_type": "string",
    "x_unit": "string",
    "includes_territories": "bool",
    "includes_coded_incomes": "bool",
    "coded_incomes_excluded": "int64",
    "leverage_one_excluded": "int64",
    "no_estimate_reason": "string",
}
COLUMNS = list(DTYPES)
NEEDED = {
    "score_name",
    "is_headline",
    "risk_score",
    "median_household_income",
    "income_tier",
    "is_income_coded",
    "is_territory",
    "hospital_type",
    "hospital_ownership",
    "has_emergency_services",
}


@dataclass(frozen=True)
class RegressionConfig:
    include_coded_incomes: bool = False
    min_hospitals: int = 10

    @classmethod
    def from_mapping(cls, m: dict | None) -> RegressionConfig:
        m = m or {}

        def flag(v) -> bool:
            return str(v).strip().lower() in ("1", "true", "yes")

        return cls(
            include_coded_incomes=flag(m.get("include_coded_incomes", False)),
            min_hospitals=int(m.get("min_hospitals", 10)),
        )


def analysis_frame(scores: pd.DataFrame, config: RegressionConfig) -> tuple[pd.DataFrame, int]:
    """Hospitals of one score that enter the regression, and how many coded incomes were left out."""
    missing = NEEDED - set(scores.columns)
    if missing:
        raise KeyError(f"hospital score table is missing column(s): {', '.join(sorted(missing))}")
    df = scores.dropna(subset=["risk_score", "median_household_income"])
    df = df[df["median_household_income"] > 0]
    coded = df["is_income_coded"].fillna(False).astype(bool)
    excluded = 0 if config.include_coded_incomes else int(coded.sum())
    if not config.include_coded_incomes:
        df = df[~coded]
    df = df.copy()
    df["log_income"] = np.log(df["median_household_income"].astype(float))
    df["income_thousands"] = df["median_household_income"].astype(float) / 1000
    df["emergency_services"] = df["has_emergency_services"].fillna(False).astype(float)
    df["is_territory"] = df["is_territory"].fillna(False).astype(bool)
    return df.sort_values("facility_id" if "facility_id" in df else "log_income").reset_index(drop=True), excluded


def _dummies(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Treatment dummies with the most common level as reference (ties: first alphabetically)."""
    values = df[column].fillna("(missing)")
    counts = values.value_counts()
    reference = sorted(counts[counts == counts.max()].index)[0]
    levels = sorted(set(values) - {reference})
    return pd.DataFrame({f"{column}={lv}": (values == lv).astype(float) for lv in levels}, index=df.index)


def _no_estimate(model_name: str, reason: str, tier=None, n: int = 0, term: str | None = None) -> dict:
    return {
        "row_type": "no_estimate",
        "model_name": model_name,
        "income_tier": tier,
        "term": term,
        "n": n,
        "no_estimate_reason": reason,
    }


def leverage(x: pd.DataFrame) -> np.ndarray:
    """Each row's leverage (diagonal of the hat matrix), from the SVD so a rank-deficient design
    gives the hat matrix of its column space."""
    u, sv, _ = np.linalg.svd(x.to_numpy(dtype=float), full_matrices=False)
    rank = int((sv > sv.max() * max(x.shape) * np.finfo(float).eps).sum())
    return (u[:, :rank] ** 2).sum(axis=1)


def without_leverage_one(x: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """The rows to keep (those with leverage below 1) and the dummy columns left constant once the
    others go: a level held by a single hospital, whose dummy fits that hospital exactly."""
    keep = pd.Series(leverage(x) < 1 - 1e-9, index=x.index)
    dropped = [c for c in x.columns if c != "intercept" and x.loc[keep, c].std() == 0]
    return keep, dropped


def distinct_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of a numeric frame with each exact repeat of an earlier column left out (what
    ``frame.loc[:, ~frame.T.duplicated()]`` keeps), compared as whole columns: transposing turns
    thousands of hospitals into thousands of columns, which pandas then hashes one at a time
    (about 1.5 s at 100 patients' 4,300 hospitals, twice per build)."""
    seen: set[bytes] = set()
    keep = []
    for name in frame.columns:
        # + 0.0 makes -0.0 and 0.0 the same bytes, as they are the same value.
        key = (frame[name].to_numpy(dtype=float) + 0.0).tobytes()
        keep.append(key not in seen)
        seen.add(key)
    return frame.loc[:, keep]


def _fit_problem(y, x: pd.DataFrame, min_n: int) -> str | None:
    if len(y) < max(min_n, x.shape[1] + 2):
        return f"too few hospitals: {len(y)} with a score and an income (need at least {max(min_n, x.shape[1] + 2)})"
    if float(np.std(x.drop(columns=["intercept"]).to_numpy()[:, 0])) == 0:
        return "income does not vary across the hospitals"
    if float(np.std(np.asarray(y, dtype=float))) == 0:
        return "the score does not vary across the hospitals"
    return None


def _ols_rows(y, x: pd.DataFrame, row_type: str, model_name: str, tier, x_unit: str, min_n: int) -> list[dict]:
    problem = _fit_problem(y, x, min_n)
    if problem:
        return [_no_estimate(model_name, problem, tier, len(y))]
    res = OLS(np.asarray(y, dtype=float), x).fit(cov_type="HC3")
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


def correlation_rows(x: np.ndarray, y: np.ndarray, min_n: int = 10) -> list[dict]:
    n = len(x)
    if n < max(min_n, 4) or np.std(x) == 0 or np.std(y) == 0:
        return [_no_estimate("correlation", f"too few hospitals or no variation: n = {n}", None, n)]
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


def _score_rows(df: pd.DataFrame, config: RegressionConfig) -> list[dict]:
    k = config.min_hospitals
    y = df["risk_score"].astype(float)
    rows: list[dict] = []
    x = add_constant(df[["log_income"]], has_constant="add").rename(columns={"const": "intercept"})
    rows += _ols_rows(y, x, "coefficient", "log_income", None, "log dollars", k)
    states = df[~df["is_territory"]]
    xs = add_constant(states[["log_income"]], has_constant="add").rename(columns={"const": "intercept"})
    for r in _ols_rows(states["risk_score"], xs, "coefficient", "log_income_no_territories", None, "log dollars", k):
        rows.append({**r, "includes_territories": False})
    if len(df) >= k:
        controls = pd.concat(
            [x, _dummies(df, "hospital_type"), _dummies(df, "hospital_ownership"), df[["emergency_services"]]], axis=1
        )
        # Drop constant columns and exact duplicates (VA and DoD hospitals are both a type and an
        # ownership), which would make the design singular.
        controls = controls.loc[:, controls.std() > 0]
        controls = distinct_columns(controls).assign(intercept=1.0)
        if "log_income" in controls:
            keep, dropped = without_leverage_one(controls)
            left_out = {"leverage_one_excluded": int((~keep).sum())}
            design = controls.loc[keep].drop(columns=dropped)
            for r in _ols_rows(y[keep], design, "coefficient", "log_income_controls", None, "log dollars", k):
                rows.append({**r, **left_out})
            for term in dropped:
                # The hospitals left out whose value differs from the one all the others share.
                held = int((controls.loc[~keep, term] != controls.loc[keep, term].iloc[0]).sum())
                reason = (
                    f"{held} hospital(s) alone make up this level: its dummy fits them exactly (leverage 1, where "
                    "HC3 is undefined), so they are left out of this model, which leaves the other estimates unchanged"
                )
                rows.append({**_no_estimate("log_income_controls", reason, None, held, term), **left_out})
        else:
            rows.append(_no_estimate("log_income_controls", "income does not vary across the hospitals", None, len(df)))
    else:
        rows.append(_no_estimate("log_income_controls", f"too few hospitals: {len(df)}", None, len(df)))
    for tier, grp in [("All", df), *sorted(df.groupby("income_tier"), key=lambda kv: kv[0])]:
        xt = add_constant(grp[["income_thousands"]], has_constant="add").rename(columns={"const": "intercept"})
        rows += _ols_rows(grp["risk_score"], xt, "trend", "trend_line", tier, "$1,000", k)
    rows += correlation_rows(df["log_income"].to_numpy(), y.to_numpy(), k)
    return rows


def income_regression(scores: pd.DataFrame, config: RegressionConfig | None = None) -> pd.DataFrame:
    """The regression mart: every model of every score, or a row saying why there is none."""
    config = config or RegressionConfig()
    out: list[dict] = []
    for score_name, group in sorted(scores.groupby("score_name"), key=lambda kv: kv[0]):
        df, excluded = analysis_frame(group, config)
        headline = bool(group["is_headline"].fillna(False).any())
        label = str(group["score_label"].iloc[0]) if "score_label" in group else score_name
        reasons = group.get("score_reason")
        rows = _score_rows(df, config) if len(df) else []
        if not len(df):
            why = "no hospital has this score and a matched income"
            if reasons is not None and reasons.notna().any():
                why += f" ({reasons.dropna().value_counts().index[0]})"
            rows = [_no_estimate("log_income", why)]
        for r in rows:
            out.append(
                {
                    "includes_territories": True,
                    **r,
                    "score_name": score_name,
                    "score_label": label,
                    "is_headline": headline,
                    "includes_coded_incomes": config.include_coded_incomes,
                    "coded_incomes_excluded": excluded,
                }
            )
    frame = pd.DataFrame(out, columns=COLUMNS)
    per_log_dollar = (frame["row_type"] == "coefficient") & (frame["term"] == "log_income")
    for scaled, column in (
        ("estimate_per_doubling", "estimate"),
        ("ci_lower_per_doubling", "ci_lower"),
        ("ci_upper_per_doubling", "ci_upper"),
    ):
        frame[scaled] = frame[column].astype("float64").where(per_log_dollar) * LN2
    counts = [col for col, dtype in DTYPES.items() if dtype == "int64"]
    frame[counts] = frame[counts].fillna(0)
    return frame.astype(DTYPES)
