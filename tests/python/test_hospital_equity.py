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


def expected_normalised_slope(build) -> float:
    """The planted latent slope carried through the warehouse's own (published) linear maps:
    score_m = rate_m (1 + cv (loading * latent + noise)) is standardised within measure (SD_m),
    averaged over the hospital's measures, then divided by its type's SD. So d(risk)/d(latent) for
    a hospital = mean over its measures of cv * loading * rate_m / SD_m, over SD_type."""
    t = build.truth["hospitals"]
    model = t["measure_score_model"]
    stats = build.df("select * from intermediate.int_hospitals_measure_stats").set_index("measure_id")
    scores = build.df(
        "select facility_id, measure_id from staging.stg_cms__complications_and_deaths where score is not null"
    )
    he = build.df("select facility_id, type_sd_measure_score from marts.hospital_equity where is_scored")
    s = scores.merge(he, on="facility_id")
    s["d"] = (
        model["cv"]
        * model["loading"]
        * stats.loc[s.measure_id, "national_rate"].to_numpy()
        / stats.loc[s.measure_id, "measure_sd"].to_numpy()
    )
    per_hospital = s.groupby("facility_id").d.mean() / s.groupby("facility_id").type_sd_measure_score.first()
    return t["income_slope"] * per_hospital.mean()


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


def test_fitted_income_slope_contains_the_planted_slope_and_has_its_sign(clean_build):
    reg = clean_build.df("select * from marts.hospital_income_regression").set_index(["model_name", "term"])
    row = reg.loc[("log_income", "log_income")]
    planted = expected_normalised_slope(clean_build)
    assert clean_build.truth["hospitals"]["income_slope"] < 0 and planted < 0
    assert row.ci_lower <= planted <= row.ci_upper, (planted, row.ci_lower, row.ci_upper)
    assert row.estimate < 0 and row.ci_upper < 0
    assert reg.loc[("log_income_controls", "log_income")].ci_upper < 0


def test_regression_matches_the_package_and_an_independent_fit(clean_build):
    he = clean_build.df("select * from marts.hospital_equity")
    mart = clean_build.df("select * from marts.hospital_income_regression")
    pd.testing.assert_frame_equal(income_regression(he), mart, check_dtype=False)
    d = he.dropna(subset=["clinical_risk_score", "median_household_income"])
    x = np.column_stack([np.ones(len(d)), np.log(d.median_household_income)])
    beta, *_ = np.linalg.lstsq(x, d.clinical_risk_score.to_numpy(), rcond=None)
    resid = d.clinical_risk_score.to_numpy() - x @ beta
    h = np.einsum("ij,jk,ik->i", x, np.linalg.inv(x.T @ x), x)
    bread = np.linalg.inv(x.T @ x)
    hc3 = bread @ (x.T * (resid / (1 - h)) ** 2) @ x @ bread
    row = mart[(mart.model_name == "log_income") & (mart.term == "log_income")].iloc[0]
    assert row.estimate == pytest.approx(beta[1], abs=1e-9)
    assert row.std_error == pytest.approx(np.sqrt(hc3[1, 1]), rel=1e-9)
    for tier, grp in d.groupby("income_tier"):
        t = mart[(mart.row_type == "trend") & (mart.income_tier == tier)].set_index("term").estimate
        fit = sm.OLS(grp.clinical_risk_score, sm.add_constant(grp.median_household_income / 1000)).fit()
        assert t["income_thousands"] == pytest.approx(fit.params.iloc[1], abs=1e-9)


def test_tiers_and_states_match_an_independent_aggregation(clean_build):
    he = clean_build.df("select * from marts.hospital_equity")
    tiers = clean_build.df("select * from marts.hospital_income_tiers").set_index("income_tier")
    g = he.dropna(subset=["income_tier"]).groupby("income_tier").clinical_risk_score
    np.testing.assert_allclose(tiers.loc[g.mean().index, "mean_risk"], g.mean(), rtol=1e-9)
    gap = tiers.loc["Low", "mean_risk"] - tiers.loc["High", "mean_risk"]
    assert tiers.loc["Low", "gap_to_highest_tier"] == pytest.approx(gap, abs=1e-12)
    assert gap > 0  # planted: lower income, higher risk
    national = he.clinical_risk_score.mean()
    st = clean_build.df("select * from marts.hospital_state_performance")
    for _, r in st[st.income_tier == "All"].sample(10, random_state=1).iterrows():
        sub = he[he.state_code == r.state_code]
        assert r.hospitals == len(sub)
        scored = sub.clinical_risk_score.dropna()
        assert r.is_hotspot == bool(len(scored) >= 5 and scored.mean() > national)
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
        {"raw_dir": str(raw)},
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
    original = clean_build.df("select facility_id, income_match_method, clinical_risk_score from marts.hospital_equity")
    rebuilt = con.sql("select facility_id, income_match_method, clinical_risk_score from marts.hospital_equity").df()
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
    unknown = [f for f in faults if f["kind"] == "unknown_code"]
    assert (q.quarantine_reason == "unknown code: Measure ID").sum() == len(unknown)
    rec = faulty_build.df("select * from marts.data_quality_reconciliation")
    assert rec.is_reconciled.all()
