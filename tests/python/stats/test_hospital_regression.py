"""health_equity.stats.hospital_regression on the scores of a real build, against independent fits;
and the independent reference computations (funnel limits, tier shares) the whole-build hospital
tests (warehouse/test_hospital_equity.py, warehouse/test_hospital_real_files.py) compare marts with."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from health_equity.stats.hospital_regression import distinct_columns, income_regression

GI = "Hospital_General_Information.csv"
Z95, Z998 = stats.norm.isf(0.025), stats.norm.isf(0.001)


# ------------------------------------------------------------- independent reference computations
# Written from the papers with numpy, scipy and statsmodels; they share no code with the warehouse.
# test_hospital_real_files.py runs them on the real CMS files too.
def reference_funnel(
    hospitals: pd.DataFrame, min_hospitals: int = 5, fraction: float = 0.1, level: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The state funnel of Spiegelhalter (Stat Med 2005;24:1185) with his overdispersion check, from
    one row per hospital x score (score_name, state_code, income_tier or None, risk_score or NaN).

    Per score and level (state totals; state x tier cells): z = (cell mean - national mean) /
    (SD / sqrt(n)); phi = mean of the squared z-scores Winsorised at the 10th and 90th
    percentiles; overdispersed when chi2.sf(I phi, I - 1) < level (scipy's exact chi-square);
    tau^2 = max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w)), w = n / SD^2; limits centre +/-
    z sqrt(SD^2 / n [+ tau^2]). Returns the cells and one row per score x level."""
    cells, levels = [], []
    for score, d in hospitals.groupby("score_name"):
        scored = d.risk_score.dropna()
        if len(scored) < 2:
            continue  # no score (e.g. no Complications file): the mart has no limits either
        centre, sd = scored.mean(), scored.std(ddof=1)
        d = d.assign(income_tier=d.income_tier.fillna("Unmatched"))
        for total, keys in ((True, ["state_code"]), (False, ["state_code", "income_tier"])):
            g = d.groupby(keys).risk_score.agg(hospitals="size", scored_hospitals="count", mean_risk="mean")
            g = g.reset_index()
            if total:
                g["income_tier"] = "All"
            n = g.scored_hospitals.where(g.scored_hospitals > 0).astype(float)
            se = sd / np.sqrt(n)
            z = ((g.mean_risk - centre) / se).to_numpy()
            zs = z[~np.isnan(z)]
            cells_i = len(zs)
            lo, hi = np.quantile(zs, [fraction, 1 - fraction])  # linear interpolation (R type 7)
            phi = float(np.mean(np.clip(zs, lo, hi) ** 2))
            p = float(stats.chi2.sf(cells_i * phi, cells_i - 1))
            w = n.dropna().to_numpy() / sd**2
            tau2 = max(0.0, (cells_i * phi - (cells_i - 1)) / (w.sum() - (w**2).sum() / w.sum()))
            adjusted = p < level
            se_adj = np.sqrt(se**2 + tau2)
            use = se_adj if adjusted else se
            g = g.assign(
                score_name=score,
                is_state_total=total,
                z_score=z,
                funnel_upper_95=centre + Z95 * se,
                funnel_lower_95=centre - Z95 * se,
                funnel_upper_95_adjusted=centre + Z95 * se_adj,
                funnel_lower_95_adjusted=centre - Z95 * se_adj,
                funnel_upper_99_8_adjusted=centre + Z998 * se_adj,
                funnel_lower_99_8_adjusted=centre - Z998 * se_adj,
            )
            m = g.mean_risk
            g["funnel_position"] = np.select(
                [
                    m.isna(),
                    m > centre + Z998 * use,
                    m > centre + Z95 * use,
                    m < centre - Z998 * use,
                    m < centre - Z95 * use,
                ],
                [
                    "no scored hospital",
                    "above the 99.8% limit",
                    "above the 95% limit",
                    "below the 99.8% limit",
                    "below the 95% limit",
                ],
                "within the 95% limits",
            )
            g["is_hotspot"] = g.funnel_position.str.startswith("above") & (g.scored_hospitals >= min_hospitals)
            cells.append(g)
            levels.append(
                {
                    "score_name": score,
                    "is_state_total": total,
                    "cells": cells_i,
                    "phi": phi,
                    "p_value": p,
                    "tau_squared": tau2,
                    "is_overdispersed": adjusted,
                    "above_95": int((z > Z95).sum()),
                    "below_95": int((z < -Z95).sum()),
                    "above_95_adjusted": int(((g.mean_risk - centre) / se_adj > Z95).sum()),
                    "below_95_adjusted": int(((g.mean_risk - centre) / se_adj < -Z95).sum()),
                }
            )
    return pd.concat(cells, ignore_index=True), pd.DataFrame(levels)


def reference_tier_shares(hospitals: pd.DataFrame, tiers: list[str]) -> pd.DataFrame:
    """Per score x income tier, from one row per hospital x score (risk_score, income_tier,
    measures_worse, measures_counted, median_household_income): the share scored with statsmodels'
    Wilson interval; the share of measures rated worse with its cluster-robust variance (statsmodels
    OLS of the 0/1 measure ratings on a constant, clustered by hospital), the design effect (>= 1),
    Wilson at the effective n; against the last (highest) tier the difference in points with
    Newcombe's method 10 interval and the ratio with a log interval; the gap of mean scores."""
    rows = []
    for score, d in hospitals.groupby("score_name"):
        if d.risk_score.count() < 2:
            continue
        sd = d.risk_score.std(ddof=1)  # over every scored hospital, as national_sd_risk
        d = d.dropna(subset=["income_tier"])
        by = {}
        for tier in tiers:
            t = d[d.income_tier == tier]
            s = t.dropna(subset=["risk_score"])
            s = s[s.measures_counted > 0]
            y, m = s.measures_worse.to_numpy(int), s.measures_counted.to_numpy(int)
            ratings = np.concatenate([np.r_[np.ones(a), np.zeros(b - a)] for a, b in zip(y, m)])
            fit = sm.OLS(ratings, np.ones(len(ratings))).fit(
                cov_type="cluster", cov_kwds={"groups": np.repeat(np.arange(len(m)), m)}
            )
            p, var = float(fit.params[0]), float(fit.bse[0] ** 2)
            deff = max(1.0, var / (p * (1 - p) / m.sum()))
            neff = m.sum() / deff
            lo, hi = proportion_confint(p * neff, neff, alpha=0.05, method="wilson")
            slo, shi = proportion_confint(s.shape[0], len(t), alpha=0.05, method="wilson")
            scores = t.risk_score.dropna()
            by[tier] = {
                "score_name": score,
                "income_tier": tier,
                "hospitals": len(t),
                "scored_hospitals": len(scores),
                "share_scored": len(scores) / len(t),
                "share_scored_lower_95": slo,
                "share_scored_upper_95": shi,
                "mean_risk": scores.mean(),
                "se_risk": scores.std(ddof=1) / np.sqrt(len(scores)),
                "share_measures_worse": p,
                "variance": var,
                "share_measures_worse_design_effect": deff,
                "share_measures_worse_effective_n": neff,
                "share_measures_worse_lower_95": lo,
                "share_measures_worse_upper_95": hi,
            }
        top = by[tiers[-1]]
        for tier in tiers:
            r = by[tier]
            gap = r["mean_risk"] - top["mean_risk"]
            gap_se = np.hypot(r["se_risk"], top["se_risk"])
            diff = r["share_measures_worse"] - top["share_measures_worse"]
            below = np.hypot(
                r["share_measures_worse"] - r["share_measures_worse_lower_95"],
                top["share_measures_worse_upper_95"] - top["share_measures_worse"],
            )
            above = np.hypot(
                r["share_measures_worse_upper_95"] - r["share_measures_worse"],
                top["share_measures_worse"] - top["share_measures_worse_lower_95"],
            )
            ratio = r["share_measures_worse"] / top["share_measures_worse"]
            log_se = np.sqrt(
                r["variance"] / r["share_measures_worse"] ** 2 + top["variance"] / top["share_measures_worse"] ** 2
            )
            last = tier == tiers[-1]
            rows.append(
                {
                    **r,
                    "gap_in_hospital_sd": gap / sd,
                    "gap_in_hospital_sd_lower_95": np.nan if last else (gap - Z95 * gap_se) / sd,
                    "share_worse_difference_pp": 100 * diff,
                    "share_worse_difference_lower_95": np.nan if last else 100 * (diff - below),
                    "share_worse_difference_upper_95": np.nan if last else 100 * (diff + above),
                    "share_worse_ratio": ratio,
                    "share_worse_ratio_lower_95": np.nan if last else ratio * np.exp(-Z95 * log_se),
                    "share_worse_ratio_upper_95": np.nan if last else ratio * np.exp(Z95 * log_se),
                }
            )
    return pd.DataFrame(rows)


TIER_COLUMNS = [
    "hospitals",
    "scored_hospitals",
    "share_scored",
    "share_scored_lower_95",
    "share_scored_upper_95",
    "mean_risk",
    "share_measures_worse",
    "share_measures_worse_design_effect",
    "share_measures_worse_effective_n",
    "share_measures_worse_lower_95",
    "share_measures_worse_upper_95",
    "gap_in_hospital_sd",
    "gap_in_hospital_sd_lower_95",
    "share_worse_difference_pp",
    "share_worse_difference_lower_95",
    "share_worse_difference_upper_95",
    "share_worse_ratio",
    "share_worse_ratio_lower_95",
    "share_worse_ratio_upper_95",
]


def assert_tiers_match(mart: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Every tier figure of the mart against the reference: relative 1e-9 (both are double
    arithmetic on the same integers; the order of operations differs)."""
    got = mart.set_index(["score_name", "income_tier"])
    for _, r in reference.iterrows():
        row = got.loc[(r.score_name, r.income_tier)]
        for col in TIER_COLUMNS:
            if pd.isna(r[col]):
                assert pd.isna(row[col]), (r.score_name, r.income_tier, col, row[col])
            else:
                assert row[col] == pytest.approx(r[col], rel=1e-9, abs=1e-12), (r.score_name, r.income_tier, col)


def assert_funnel_matches(mart: pd.DataFrame, cells: pd.DataFrame, levels: pd.DataFrame) -> None:
    """The mart's dispersion statistics, limits, positions and hotspots against reference_funnel.
    The mart tests I phi by the Wilson-Hilferty approximation to chi-square; the reference uses
    scipy's exact distribution, so the two decisions are required to agree unless the exact p is
    within 0.005 of 5% (where the reference then follows the mart's decision)."""
    for _, lv in levels.iterrows():
        level = mart[(mart.score_name == lv.score_name) & (mart.is_state_total == lv.is_state_total)]
        scored = level[level.scored_hospitals > 0]
        assert (scored.dispersion_cells == lv.cells).all()
        assert scored.dispersion_phi.iloc[0] == pytest.approx(lv.phi, rel=1e-9)
        assert scored.tau_squared.iloc[0] == pytest.approx(lv.tau_squared, rel=1e-9, abs=1e-15)
        # Wilson-Hilferty: ((X / k)^(1/3) - (1 - 2 / 9k)) / sqrt(2 / 9k), X = I phi, k = I - 1; near
        # the decision it is the exact chi-square test's normal deviate to within 0.05.
        k = lv.cells - 1
        wh = ((lv.cells * lv.phi / k) ** (1 / 3) - (1 - 2 / (9 * k))) / np.sqrt(2 / (9 * k))
        assert scored.dispersion_z.iloc[0] == pytest.approx(wh, rel=1e-9)
        if stats.norm.isf(lv.p_value) < 4:
            assert wh == pytest.approx(stats.norm.isf(lv.p_value), abs=0.05)
        if abs(lv.p_value - 0.05) > 0.005:
            assert bool(scored.is_overdispersed.iloc[0]) == lv.is_overdispersed, (lv.score_name, lv.p_value)
        else:
            continue  # too close to call for the approximation: positions are checked on the others
        assert (scored.is_worse_95 == (scored.z_score > Z95)).all()
        assert (scored.is_worse_95_adjusted == (scored.z_score_adjusted > Z95)).all()
        ref = cells[(cells.score_name == lv.score_name) & (cells.is_state_total == lv.is_state_total)]
        merged = level.merge(ref, on=["state_code", "income_tier"], suffixes=("", "_ref"))
        assert len(merged) == len(level) == len(ref)
        assert (merged.hospitals == merged.hospitals_ref).all()
        assert (merged.scored_hospitals == merged.scored_hospitals_ref).all()
        for col in (
            "mean_risk",
            "z_score",
            "funnel_upper_95",
            "funnel_lower_95",
            "funnel_upper_95_adjusted",
            "funnel_lower_95_adjusted",
            "funnel_upper_99_8_adjusted",
            "funnel_lower_99_8_adjusted",
        ):
            np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-9, atol=1e-12, err_msg=col)
        assert (merged.funnel_position == merged.funnel_position_ref).all()
        assert (merged.is_hotspot == merged.is_hotspot_ref).all()
        expected = "adjusted for overdispersion" if lv.is_overdispersed else "unadjusted"
        assert level.position_limits.str.startswith(expected).all()


def test_regression_matches_the_package_and_an_independent_fit(clean_build):
    scores = clean_build.df("select * from marts.hospital_scores")
    mart = clean_build.df("select * from marts.hospital_income_regression")

    def plain(df: pd.DataFrame) -> pd.DataFrame:  # one missing-value marker for pandas and DuckDB frames
        return df.astype(object).where(df.notna(), None)

    pd.testing.assert_frame_equal(plain(income_regression(scores)), plain(mart), check_dtype=False)
    for score, d in scores.groupby("score_name"):
        d = d.dropna(subset=["risk_score", "median_household_income"])
        d = d[~d.is_income_coded.astype(bool)]
        x = np.column_stack([np.ones(len(d)), np.log(d.median_household_income)])
        beta, *_ = np.linalg.lstsq(x, d.risk_score.to_numpy(), rcond=None)
        resid = d.risk_score.to_numpy() - x @ beta
        h = np.einsum("ij,jk,ik->i", x, np.linalg.inv(x.T @ x), x)
        bread = np.linalg.inv(x.T @ x)
        hc3 = bread @ (x.T * (resid / (1 - h)) ** 2) @ x @ bread
        m = mart[mart.score_name == score]
        row = m[(m.model_name == "log_income") & (m.term == "log_income")].iloc[0]
        assert row.estimate == pytest.approx(beta[1], abs=1e-9)
        assert row.std_error == pytest.approx(np.sqrt(hc3[1, 1]), rel=1e-9)
        for tier, grp in d.groupby("income_tier"):
            t = m[(m.row_type == "trend") & (m.income_tier == tier)].set_index("term").estimate
            fit = sm.OLS(grp.risk_score, sm.add_constant(grp.median_household_income / 1000)).fit()
            assert t["income_thousands"] == pytest.approx(fit.params.iloc[1], abs=1e-9)


def test_a_score_with_too_few_hospitals_gets_a_row_saying_why_not_an_exception(clean_build):
    scores = clean_build.df("select * from marts.hospital_scores")
    few = scores[scores.score_name == "measure_score"].dropna(subset=["risk_score"]).head(5)
    out = income_regression(pd.concat([few, scores[scores.score_name == "hgi_group_score"]]))
    m = out[out.score_name == "measure_score"]
    assert set(m.row_type) == {"no_estimate"} and m.no_estimate_reason.str.contains("too few hospitals").all()
    assert (out[out.score_name == "hgi_group_score"].row_type == "coefficient").any()


def test_a_control_level_held_by_one_hospital_is_left_out_of_the_controls_model_not_given_a_hc3_of_0_over_0(
    clean_build,
):
    scores = clean_build.df("select * from marts.hospital_scores")
    scores = scores[scores.score_name == "hgi_group_score"].reset_index(drop=True)
    usable = scores.dropna(subset=["risk_score", "median_household_income"])
    usable = usable[~usable.is_income_coded.astype(bool)]
    lone = usable.index[0]
    scores.loc[lone, "hospital_ownership"] = "Only one"  # a level of one hospital, as Tribal on the 2025 CMS file
    usable = scores.loc[usable.index]
    out = income_regression(scores)
    m = out[out.model_name == "log_income_controls"].set_index("term")
    assert "hospital_ownership=Only one" not in set(m[m.row_type == "coefficient"].index)
    gone = m.loc["hospital_ownership=Only one"]
    assert gone.row_type == "no_estimate" and gone.n == 1 and "leverage 1" in gone.no_estimate_reason
    assert (m.leverage_one_excluded == 1).all()
    coef = m[m.row_type == "coefficient"]
    assert np.isfinite(coef.std_error).all() and (coef.n == len(usable) - 1).all()
    # Independent: the same controls by hand (OLS, and HC3 from the hat matrix) without that hospital.
    x, y = _controls_design(usable.drop(index=lone))
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    h = np.einsum("ij,jk,ik->i", x, bread, x)
    hc3 = bread @ (x.T * (resid / (1 - h)) ** 2) @ x @ bread
    assert coef.loc["log_income", "estimate"] == pytest.approx(beta[0], abs=1e-9)
    assert coef.loc["log_income", "std_error"] == pytest.approx(np.sqrt(hc3[0, 0]), rel=1e-9)
    # With the hospital and its own dummy kept, OLS gives the same estimate: the dummy absorbs it,
    # at leverage 1.
    x_all, y_all = _controls_design(usable)
    beta_all, *_ = np.linalg.lstsq(x_all, y_all, rcond=None)
    assert beta_all[0] == pytest.approx(beta[0], abs=1e-9)
    assert np.einsum("ij,jk,ik->i", x_all, np.linalg.pinv(x_all.T @ x_all), x_all).max() == pytest.approx(1)


def _controls_design(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """log income, a dummy per non-reference type and ownership (reference: the most common level),
    emergency services and an intercept; constant and duplicate columns dropped."""
    parts = [pd.Series(np.log(d.median_household_income.astype(float)), name="log_income")]
    for col in ("hospital_type", "hospital_ownership"):
        values = d[col].fillna("(missing)")
        parts.append(pd.get_dummies(values, dtype=float).drop(columns=values.value_counts().index[0]))
    parts.append(d.has_emergency_services.fillna(False).astype(float))
    x = pd.concat(parts, axis=1)
    x = x.loc[:, x.std() > 0]
    x = x.loc[:, ~x.T.duplicated()].assign(intercept=1.0)
    return x.to_numpy(), d.risk_score.to_numpy(dtype=float)


def test_coded_incomes_are_left_out_of_the_regression_unless_the_var_puts_them_back(clean_build):
    from health_equity.stats.hospital_regression import RegressionConfig

    scores = clean_build.df("select * from marts.hospital_scores")
    scores = scores[scores.score_name == "hgi_group_score"].copy()
    # Mark ten more scored hospitals with an income as Census-coded: coded ones leave the default
    # fit only.
    usable = scores.dropna(subset=["risk_score", "median_household_income"])
    pick = usable[~usable.is_income_coded.astype(bool)].index[:10]
    scores.loc[pick, "is_income_coded"] = True
    coded = int(scores.loc[usable.index, "is_income_coded"].astype(bool).sum())
    assert coded >= 10
    default = income_regression(scores)
    back = income_regression(scores, RegressionConfig.from_mapping({"include_coded_incomes": "true"}))

    def fit(frame):
        return frame[(frame.model_name == "log_income") & (frame.term == "log_income")].iloc[0]

    assert fit(back).n - fit(default).n == coded
    assert fit(default).coded_incomes_excluded == coded and fit(back).coded_incomes_excluded == 0
    assert bool(fit(back).includes_coded_incomes) and not bool(fit(default).includes_coded_incomes)


def test_distinct_columns_keeps_what_pandas_transposed_duplicated_keeps():
    rng = np.random.default_rng(3)
    base = pd.DataFrame(rng.integers(0, 2, size=(500, 4)).astype(float), columns=list("abcd"))
    frame = base.assign(e=base["b"], f=-0.0 * base["a"], g=0.0 * base["a"], h=base["d"] + 1e-12, i=base["a"])
    kept = distinct_columns(frame)
    assert list(kept.columns) == list(frame.loc[:, ~frame.T.duplicated()].columns)
    # The repeats of b, of the zero column and of a are gone; a near-repeat is not a repeat.
    assert list(kept.columns) == ["a", "b", "c", "d", "f", "h"]
