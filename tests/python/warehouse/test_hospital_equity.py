"""U.S. hospital equity through the real dbt build: real layouts, income matching, scores and the
hospital marts, checked against independent computations (stats/test_hospital_regression.py)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import NO_UNIT_TESTS, dbt
from stats.test_hospital_regression import (
    GI,
    assert_funnel_matches,
    assert_tiers_match,
    reference_funnel,
    reference_tier_shares,
)
from statsmodels.stats.proportion import proportion_confint


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
        st = st_all[st_all.score_name == score]
        for _, r in st[st.is_state_total].iterrows():
            sub = he[he.state_code == r.state_code]
            assert r.hospitals == len(sub) and r.scored_hospitals == sub.risk_score.count()
        mid = st[(st.income_tier == "Mid") & st.is_hotspot].state_code
        assert set(mid) == set(st[st.has_mid_tier_hotspot].state_code)


def test_state_funnel_overdispersion_limits_and_hotspots_match_spiegelhalter(clean_build):
    """Dispersion (phi, tau^2, the test), both sets of limits, positions and hotspots of every cell
    against the reference written from Spiegelhalter (2005) with numpy and scipy."""
    scores = clean_build.df("select * from marts.hospital_scores")
    mart = clean_build.df("select * from marts.hospital_state_performance")
    cells, levels = reference_funnel(scores)
    assert len(levels) == 4  # two scores x two levels
    assert_funnel_matches(mart, cells, levels)
    # Without overdispersion nothing is widened; with it, tau^2 > 0 and every adjusted limit is wider.
    for _, lv in mart.groupby(["score_name", "is_state_total"]):
        lv = lv[lv.scored_hospitals > 0]
        if lv.is_overdispersed.iloc[0]:
            assert lv.tau_squared.iloc[0] > 0
            assert (lv.funnel_upper_95_adjusted > lv.funnel_upper_95).all()
            assert (lv.funnel_lower_95_adjusted < lv.funnel_lower_95).all()
        np.testing.assert_allclose(lv.funnel_se_adjusted**2, lv.funnel_se**2 + lv.tau_squared, rtol=1e-12)


def test_state_rows_say_which_to_sum_and_the_tiers_add_up_to_the_total(clean_build):
    """No double counting: the total rows are marked, and per score and state the tier rows hold
    the total's hospitals exactly once."""
    st = clean_build.df("select * from marts.hospital_state_performance")
    assert (st.is_state_total == (st.income_tier == "All")).all()
    assert set(st.cell_level) == {"state", "state x income tier"}
    he = clean_build.df("select count(*) as n from marts.hospital_equity").n.iloc[0]
    for _, s in st.groupby("score_name"):
        assert s[s.is_state_total].hospitals.sum() == he == s[~s.is_state_total].hospitals.sum()
        tiers = s[~s.is_state_total].groupby("state_code")[["hospitals", "scored_hospitals"]].sum()
        total = s[s.is_state_total].set_index("state_code")[["hospitals", "scored_hospitals"]]
        pd.testing.assert_frame_equal(tiers.sort_index(), total.sort_index(), check_names=False)
    # The minimum-count rule and the selection note.
    few = st[(st.scored_hospitals > 0) & (st.scored_hospitals < 5)]
    assert len(few) and not few.is_hotspot.any() and few.cell_note.str.startswith("fewer than 5").all()
    minority = st[(st.scored_hospitals >= 5) & (2 * st.scored_hospitals < st.hospitals)]
    assert minority.cell_note.str.contains("a minority", regex=False).all()
    np.testing.assert_allclose(st.share_scored, st.scored_hospitals / st.hospitals, rtol=1e-12)


def test_tier_shares_gaps_and_their_intervals_match_an_independent_computation(clean_build):
    """Share scored (Wilson), share of measures rated worse with a cluster-robust interval
    (statsmodels' clustered OLS variance, design effect, Wilson at the effective n), its difference
    (Newcombe) and ratio to the highest tier, and the gap in hospital SDs."""
    scores = clean_build.df("select * from marts.hospital_scores")
    mart = clean_build.df("select * from marts.hospital_income_tiers")
    reference = reference_tier_shares(scores, ["Low", "Mid", "High"])
    assert set(reference.score_name) == {"hgi_group_score", "measure_score"}
    assert_tiers_match(mart, reference)
    # Measures of one hospital go together: the design effect is above 1 and the interval is wider
    # than the one that treats every measure as independent.
    for _, r in mart[mart.measures_counted > 0].iterrows():
        naive = proportion_confint(r.measures_worse, r.measures_counted, alpha=0.05, method="wilson")
        assert r.share_measures_worse_upper_95 - r.share_measures_worse_lower_95 >= naive[1] - naive[0] - 1e-12
    assert (mart.share_measures_worse_design_effect > 1).any()
    high = mart[mart.income_tier == "High"]
    assert (high.share_worse_difference_pp == 0).all() and high.share_worse_difference_lower_95.isna().all()
    assert "gap_to_highest_tier_pct" not in mart.columns


def test_score_coverage_shows_who_the_means_describe(clean_build):
    scores = clean_build.df("select * from marts.hospital_scores")
    cov = clean_build.df("select * from marts.hospital_score_coverage")
    assert set(cov.breakdown) == {"all hospitals", "income tier", "hospital type", "income tier x hospital type"}
    for (score, breakdown), c in cov.groupby(["score_name", "breakdown"]):
        d = scores[scores.score_name == score].assign(income_tier=lambda f: f.income_tier.fillna("Unmatched"))
        assert c.hospitals.sum() == len(d) and c.scored_hospitals.sum() == d.risk_score.count(), breakdown
        keys = {
            "all hospitals": [],
            "income tier": ["income_tier"],
            "hospital type": ["hospital_type"],
            "income tier x hospital type": ["income_tier", "hospital_type"],
        }[breakdown]
        if not keys:
            continue
        g = d.groupby(keys).risk_score.agg(["size", "count", "mean"])
        got = c.set_index(keys).loc[g.index]
        assert (got.hospitals == g["size"]).all() and (got.scored_hospitals == g["count"]).all()
        np.testing.assert_allclose(got.mean_risk, g["mean"], rtol=1e-9)
        lo, hi = proportion_confint(g["count"], g["size"], alpha=0.05, method="wilson")
        np.testing.assert_allclose(got.share_scored_lower_95, lo, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(got.share_scored_upper_95, hi, rtol=1e-9)
    # The tier mart's selection columns are the coverage mart's income-tier rows.
    tiers = clean_build.df("select * from marts.hospital_income_tiers")
    by_tier = cov[cov.breakdown == "income tier"].set_index(["score_name", "income_tier"])
    for _, t in tiers.iterrows():
        c = by_tier.loc[(t.score_name, t.income_tier)]
        assert (c.hospitals, c.scored_hospitals) == (t.hospitals, t.scored_hospitals)
        assert c.share_scored_lower_95 == pytest.approx(t.share_scored_lower_95, rel=1e-12)


def test_the_income_slope_is_also_given_per_doubling_of_income(clean_build):
    reg = clean_build.df("select * from marts.hospital_income_regression")
    slope = (reg.row_type == "coefficient") & (reg.term == "log_income")
    assert slope.sum() >= 6  # three models x two scores
    for col, base in (
        ("estimate_per_doubling", "estimate"),
        ("ci_lower_per_doubling", "ci_lower"),
        ("ci_upper_per_doubling", "ci_upper"),
    ):
        np.testing.assert_allclose(reg.loc[slope, col], reg.loc[slope, base] * np.log(2), rtol=1e-12)
        assert reg.loc[~slope, col].isna().all(), col
    # What it means: the fitted difference between a hospital and one in a ZIP with twice the income.
    scores = clean_build.df("select * from marts.hospital_scores where score_name = 'hgi_group_score'")
    d = scores.dropna(subset=["risk_score", "median_household_income"])
    d = d[~d.is_income_coded.astype(bool)]
    fit = sm.OLS(d.risk_score, sm.add_constant(np.log(d.median_household_income))).fit()
    row = reg[slope & (reg.score_name == "hgi_group_score") & (reg.model_name == "log_income")].iloc[0]
    x = np.array([[1.0, np.log(40_000.0)], [1.0, np.log(80_000.0)]])
    assert row.estimate_per_doubling == pytest.approx(float(np.diff(x @ fit.params.to_numpy())[0]), rel=1e-9)
    assert row.ci_upper_per_doubling < 0  # planted: richer ZIP, better score


def _rebuild_with(clean_build, tmp_path, transform) -> duckdb.DuckDBPyConnection:
    raw = tmp_path / "raw"
    shutil.copytree(clean_build.raw_dir, raw)
    gi = pd.read_csv(raw / GI, dtype=str, keep_default_na=False)
    transform(gi).to_csv(raw / GI, index=False)
    r = dbt(
        ["build", "--select", "+hospital_equity+", *NO_UNIT_TESTS],
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
    # ...and its rows are counted where they ended: excluded after staging, with the reason, not used.
    outcomes = faulty_build.df(
        "select * from marts.data_quality_row_outcomes where extract_name = 'Complications_and_Deaths-Hospital'"
    ).set_index("outcome")
    reason = "excluded after staging: measure not in ref_cms_complication_measures (kept, not scored)"
    # (an injected unknown measure on a row quarantined for another reason, such as a hospital the
    # General Information file lacks, stays counted as quarantined)
    staged_unknown = faulty_build.query(
        "select count(*) from staging.stg_cms__complications_and_deaths where not is_known_measure"
    )[0][0]
    assert 0 < staged_unknown <= len(unknown)
    assert outcomes.loc[reason, "row_count"] == staged_unknown
    assert outcomes.loc[reason, "pipeline_stage"] == "excluded after staging"
    assert (
        outcomes.loc["used", "row_count"]
        == faulty_build.query("select count(*) from staging.stg_cms__complications_and_deaths where is_known_measure")[
            0
        ][0]
    )
    rec = faulty_build.df("select * from marts.data_quality_reconciliation").set_index("extract_name")
    assert rec.is_reconciled.all()
    assert rec.loc["Complications_and_Deaths-Hospital", "rows_excluded_after_staging"] == staged_unknown


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
        **dict.fromkeys(["estimate_per_doubling", "ci_lower_per_doubling", "ci_upper_per_doubling"], "DOUBLE"),
        **dict.fromkeys(["n", "coded_incomes_excluded", "leverage_one_excluded"], "BIGINT"),
        **dict.fromkeys(["is_headline", "includes_territories", "includes_coded_incomes"], "BOOLEAN"),
    }
    assert types == expected
