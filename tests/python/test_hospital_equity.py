"""U.S. hospital equity through the real dbt build: real layouts, income matching, scores, OLS."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import dbt

from health_equity.hospital_regression import income_regression

GI = "Hospital_General_Information.csv"


def test_every_hospital_of_the_extract_is_in_hospital_equity(clean_build):
    n = clean_build.manifest["files"]["Hospital_General_Information"]["rows"]
    he = clean_build.df("select * from marts.hospital_equity")
    assert len(he) == n and he.facility_id.is_unique
    ids = pd.read_csv(clean_build.raw_dir / GI, dtype=str)["Facility ID"]
    assert set(he.facility_id) == set(ids)
    # Hospitals without enough measures stay, flagged, with no score.
    unscored = he[~he.is_scored]
    assert len(unscored) > 0 and unscored.clinical_risk_score.isna().all() and unscored.score_flag.notna().all()
    assert set(he.loc[he.hospital_type == "Psychiatric", "is_scored"]) == {False}


def test_every_score_tracks_the_planted_latent_risk_and_the_planted_income_slope(clean_build):
    """The generator plants a latent risk per hospital (higher = worse) that falls with income; each
    score must rank hospitals like the latent risk, and its income slope must have the planted sign."""
    latent = pd.DataFrame(clean_build.truth["hospitals"]["hospital_latent_risk"])
    assert clean_build.truth["hospitals"]["income_slope"] < 0
    he = clean_build.df("select * from marts.hospital_equity").merge(latent, on="facility_id")
    for score in ("hgi_group_score", "measure_score"):
        rho = he[[score, "latent_risk"]].dropna().corr(method="spearman").iloc[0, 1]
        assert rho > 0.7, (score, rho)  # measured: 0.81 and 0.95 on the default data
    reg = clean_build.df("select * from marts.hospital_income_regression")
    reg = reg.set_index(["score_name", "model_name", "term"])
    for score in ("hgi_group_score", "measure_score"):
        for model in ("log_income", "log_income_no_territories", "log_income_controls"):
            row = reg.loc[(score, model, "log_income")]
            assert row.estimate < 0 and row.ci_upper < 0, (score, model, row.estimate, row.ci_upper)


def test_the_headline_is_the_general_information_score_and_every_score_sits_side_by_side(clean_build):
    he = clean_build.df("select * from marts.hospital_equity")
    np.testing.assert_array_equal(he.clinical_risk_score.to_numpy(), he.hgi_group_score.to_numpy())
    for mart in ("hospital_income_tiers", "hospital_state_performance", "hospital_income_regression"):
        m = clean_build.df(f"select score_name, is_headline from marts.{mart}")
        assert set(m.score_name) == {"hgi_group_score", "measure_score"}, mart
        assert set(m[m.is_headline].score_name) == {"hgi_group_score"}, mart


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


def test_tiers_and_states_match_an_independent_aggregation(clean_build):
    scores = clean_build.df("select * from marts.hospital_scores")
    tiers_all = clean_build.df("select * from marts.hospital_income_tiers")
    st_all = clean_build.df("select * from marts.hospital_state_performance")
    for score, he in scores.groupby("score_name"):
        tiers = tiers_all[tiers_all.score_name == score].set_index("income_tier")
        g = he.dropna(subset=["income_tier"]).groupby("income_tier").risk_score
        np.testing.assert_allclose(tiers.loc[g.mean().index, "mean_risk"], g.mean(), rtol=1e-9)
        gap = tiers.loc["Low", "mean_risk"] - tiers.loc["High", "mean_risk"]
        assert tiers.loc["Low", "gap_to_highest_tier"] == pytest.approx(gap, abs=1e-12)
        assert gap > 0 and tiers.loc["Low", "gap_lower_95"] > 0  # planted: lower income, higher risk
        scored = he.risk_score.dropna()
        national, sd = scored.mean(), scored.std(ddof=1)
        st = st_all[st_all.score_name == score]
        for _, r in st[st.income_tier == "All"].iterrows():
            sub = he[he.state_code == r.state_code]
            assert r.hospitals == len(sub)
            s = sub.risk_score.dropna()
            upper = national + 1.959963984540054 * sd / np.sqrt(len(s)) if len(s) else np.nan
            assert r.is_worse_95 == bool(len(s) and s.mean() > upper)
            assert r.is_hotspot == bool(len(s) >= 5 and s.mean() > upper)
        mid = st[(st.income_tier == "Mid") & st.is_hotspot].state_code
        assert set(mid) == set(st[st.has_mid_tier_hotspot].state_code)


def _rebuild_with(clean_build, tmp_path, transform) -> duckdb.DuckDBPyConnection:
    raw = tmp_path / "raw"
    shutil.copytree(clean_build.raw_dir, raw)
    gi = pd.read_csv(raw / GI, dtype=str, keep_default_na=False)
    transform(gi).to_csv(raw / GI, index=False)
    r = dbt(
        ["build", "--select", "+hospital_equity+", "--exclude", "resource_type:unit_test"],
        tmp_path / "w.duckdb",
        tmp_path,
        # A generated file edited on purpose is "supplied": mixing it with generated ones is intended.
        {"raw_dir": str(raw), "allow_mixed_origins": True},
    )
    assert r.returncode == 0, r.stdout[-3000:]
    return duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)


def test_match_rate_stays_high_when_zips_and_ids_lost_their_leading_zeros(clean_build, tmp_path):
    def strip(gi):
        assert gi["ZIP Code"].str.startswith("0").any()
        return gi.assign(
            **{"ZIP Code": gi["ZIP Code"].str.lstrip("0"), "Facility ID": gi["Facility ID"].str.lstrip("0")}
        )

    con = _rebuild_with(clean_build, tmp_path, strip)
    rates = con.sql("select * from marts.hospital_income_match_rates").df()
    assert rates.overall_match_rate.iloc[0] > 0.95
    original = clean_build.df(
        "select facility_id, income_match_method, clinical_risk_score, measure_score from marts.hospital_equity"
    )
    rebuilt = con.sql(
        "select facility_id, income_match_method, clinical_risk_score, measure_score from marts.hospital_equity"
    ).df()
    pd.testing.assert_frame_equal(
        original.sort_values("facility_id").reset_index(drop=True),
        rebuilt.sort_values("facility_id").reset_index(drop=True),
    )


def test_the_older_39_column_cms_layout_builds_the_same_marts(clean_build, tmp_path):
    def add_column(gi):
        gi.insert(12, "Meets criteria for promoting interoperability of EHRs", "Y")
        return gi

    con = _rebuild_with(clean_build, tmp_path, add_column)
    original = clean_build.df("select * from marts.hospital_equity order by facility_id")
    rebuilt = con.sql("select * from marts.hospital_equity order by facility_id").df()
    pd.testing.assert_frame_equal(original, rebuilt)


def test_hospital_faults_are_quarantined_or_repaired(faulty_build):
    faults = [f for f in faulty_build.manifest["faults"] if f["file"].startswith(("Hospital", "Complications"))]
    assert {f["kind"] for f in faults} >= {"duplicate_id", "null_key", "zip_lost_leading_zero", "unknown_code"}
    q = faulty_build.df("select * from staging.stg_hospitals__quarantine")
    he = faulty_build.df("select * from marts.hospital_equity").set_index("facility_id")
    raw = pd.read_csv(faulty_build.raw_dir / GI, dtype=str, keep_default_na=False)
    for f in faults:
        if f["file"] != "Hospital_General_Information":
            continue
        row = raw.iloc[f["row"] - 1]
        if f["kind"] == "zip_lost_leading_zero":
            assert he.loc[row["Facility ID"], "zip_code"] == f["original"]
        elif f["kind"] == "whitespace_case":
            assert he.loc[row["Facility ID"], "state_code"] == f["original"]
        elif f["kind"] == "duplicate_id":
            assert (q.record_key == row["Facility ID"]).sum() == 2
    # A measure id the seed does not list is kept and counted, not quarantined, and never scored.
    unknown = [f for f in faults if f["kind"] == "unknown_code" and f["column"] == "Measure ID"]
    assert unknown
    cov = faulty_build.df("select * from marts.hospital_measure_coverage").set_index("measure_id")
    for code in {f["injected"] for f in unknown}:
        assert not cov.loc[code, "in_reference_seed"] and not cov.loc[code, "used_in_score"]
    assert cov.loc[~cov.in_reference_seed, "rows_read"].sum() == len(unknown)
    assert not (q.quarantine_reason == "unknown code: Measure ID").any()
    rec = faulty_build.df("select * from marts.data_quality_reconciliation")
    assert rec.is_reconciled.all()


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
    from health_equity.hospital_regression import RegressionConfig

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


def test_the_headline_score_is_a_var(clean_build, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(clean_build.db, db)
    r = dbt(
        ["run", "--select", "int_hospitals_scores+"],
        db,
        tmp_path,
        {"raw_dir": str(clean_build.raw_dir), "headline_score": "measure_score"},
    )
    assert r.returncode == 0, r.stdout[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        he = con.sql("select clinical_risk_score, measure_score, headline_score_name from marts.hospital_equity").df()
        tiers = con.sql("select score_name from marts.hospital_income_tiers where is_headline").df()
    np.testing.assert_array_equal(he.clinical_risk_score.to_numpy(), he.measure_score.to_numpy())
    assert set(he.headline_score_name) == {"measure_score"} and set(tiers.score_name) == {"measure_score"}


def test_the_python_regression_mart_has_the_types_a_contract_would_enforce(clean_build):
    """dbt contracts do not apply to Python models: the types are checked here instead."""
    types = dict(
        clean_build.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'hospital_income_regression'"
        )
    )
    expected = {
        **dict.fromkeys(
            ["score_name", "score_label", "row_type", "model_name", "income_tier", "term", "covariance_type", "x_unit"],
            "VARCHAR",
        ),
        "no_estimate_reason": "VARCHAR",
        **dict.fromkeys(["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "r_squared"], "DOUBLE"),
        **dict.fromkeys(["n", "coded_incomes_excluded", "leverage_one_excluded"], "BIGINT"),
        **dict.fromkeys(["is_headline", "includes_territories", "includes_coded_incomes"], "BOOLEAN"),
    }
    assert types == expected
