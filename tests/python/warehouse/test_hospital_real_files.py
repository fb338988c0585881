"""The hospital analysis on the real public CMS and Census files (tests/fixtures/real), as a user
with the General Information and ACS files and no Complications file runs it.

An independent pandas computation from the raw files (below, sharing no code with the warehouse)
reproduces the headline score's tier means, the income slope and the state funnel flags to 1e-9.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import MAKE_BUILD, REPO, dbt, generate
from stats.test_hospital_regression import (
    assert_funnel_matches,
    assert_tiers_match,
    reference_funnel,
    reference_tier_shares,
)
from statsmodels.stats.proportion import proportion_confint

from health_equity.outputs import report

REAL = REPO / "tests" / "fixtures" / "real"
ACS = REAL / "ACSDT5Y2020.B19013-Data.csv"
LAYOUTS = {
    "2025": REAL / "Hospital_General_Information_2025.csv",
    "2024-02": REAL / "Hospital_General_Information_2024-02.csv",
}
HOSPITAL_SELECTION = ["build", "--select", "source:hospitals_raw+", "data_provenance"]
Z95, Z998 = 1.959963984540054, 3.090232306167813
WEIGHT = 0.22  # star-rating weight of each outcome group (equal, so it cancels in the mean)


def real_vars(asthma_raw: Path, hgi: Path, complications: Path, **extra) -> dict:
    return {
        "raw_dir": str(asthma_raw),
        "hospital_general_information_path": str(hgi),
        "acs_income_path": str(ACS),
        "complications_and_deaths_path": str(complications),
        **extra,
    }


@pytest.fixture(scope="session")
def asthma_raw(tmp_path_factory) -> Path:
    """Generated asthma extracts (the hospital files come from tests/fixtures/real)."""
    raw = tmp_path_factory.mktemp("real_asthma") / "raw"
    gen = generate(raw, "--patients", "2000", "--hospitals", "600", "--seed", "11", "--quiet")
    assert gen.returncode == 0, gen.stderr
    return raw


@pytest.fixture(scope="session")
def real_2025(tmp_path_factory, asthma_raw):
    """The whole `dbt build` with the real 2025 General Information file, the real ACS file and no
    Complications file."""
    work = tmp_path_factory.mktemp("real_2025")
    db = work / "w.duckdb"
    r = dbt(MAKE_BUILD, db, work, real_vars(asthma_raw, LAYOUTS["2025"], work / "no-such-file.csv"))
    assert r.returncode == 0, r.stdout[-5000:]
    return db


@pytest.fixture(scope="session")
def real_layout(request, tmp_path_factory, asthma_raw, real_2025):
    """The hospital marts rebuilt for one real layout on a copy of the full 2025 warehouse."""
    layout = request.param
    if layout == "2025":
        return layout, real_2025
    work = tmp_path_factory.mktemp(f"real_{layout}")
    db = work / "w.duckdb"
    shutil.copy(real_2025, db)
    r = dbt(HOSPITAL_SELECTION, db, work, real_vars(asthma_raw, LAYOUTS[layout], work / "none.csv"))
    assert r.returncode == 0, r.stdout[-5000:]
    return layout, db


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


# ----------------------------------------------------------------------- independent computation
def independent_hgi_scores(hgi_path: Path) -> pd.DataFrame:
    """The General Information group score and ZIP income of every hospital, from the raw files
    with pandas only: group value (worse - better) / measures, groups with >= 3 measures,
    standardised nationally, equal star-rating weights over the groups a hospital has, >= 2 groups
    one of them mortality or safety."""
    gi = pd.read_csv(hgi_path, dtype=str, keep_default_na=False)
    out = pd.DataFrame(
        {
            "facility_id": gi["Facility ID"].str.strip().str.upper().str.zfill(6),
            "state_code": gi["State"].str.strip().str.upper(),
            "zip": gi["ZIP Code"].str.strip().str.split("-").str[0].str.zfill(5),
            "hospital_type": gi["Hospital Type"].str.strip(),
        }
    )
    z = {}
    out["measures_counted"], out["measures_worse"] = 0, 0
    for code, label in (("MORT", "MORT"), ("Safety", "Safety"), ("READM", "READM")):
        num = lambda c: pd.to_numeric(gi[c].str.strip(), errors="coerce")  # noqa: E731
        facility = num(f"Count of Facility {label} Measures")
        worse, better = num(f"Count of {label} Measures Worse"), num(f"Count of {label} Measures Better")
        value = (worse - better) / facility
        counted = (facility >= 3) & worse.notna() & better.notna()
        v = value.where(counted)
        z[code] = (v - v.mean()) / v.std(ddof=1)
        # The measures behind the score: those of the counted groups, and how many are rated worse.
        out["measures_counted"] += facility.where(counted, 0).astype(int)
        out["measures_worse"] += worse.where(counted, 0).astype(int)
    zf = pd.DataFrame(z)
    n_groups = zf.notna().sum(axis=1)
    outcome = zf[["MORT", "Safety"]].notna().any(axis=1)
    score = (zf * WEIGHT).sum(axis=1, min_count=1) / (zf.notna() * WEIGHT).sum(axis=1)
    out["score"] = score.where((n_groups >= 2) & outcome)

    acs = pd.read_csv(ACS, dtype=str, keep_default_na=False)
    acs = acs[acs["GEO_ID"] != "Geography"]
    e = acs["B19013_001E"].str.strip()
    coded = e.str.endswith("+") | (e.str.endswith("-") & (e != "-"))
    income = pd.to_numeric(e.str.rstrip("+-").str.replace(",", ""), errors="coerce").where(e != "-")
    zcta = pd.DataFrame({"zip": acs["GEO_ID"].str[-5:], "zcta_income": income, "coded": coded})
    zip3 = zcta.dropna(subset=["zcta_income"]).groupby(zcta["zip"].str[:3]).zcta_income.median()
    out = out.merge(zcta, on="zip", how="left")
    out["income"] = out.zcta_income.fillna(out.zip.str[:3].map(zip3))
    out["coded"] = out.zcta_income.notna() & out.coded.fillna(False).astype(bool)
    tier = pd.cut(out.income, [0, 50_000, 100_000, np.inf], right=False, labels=["Low", "Mid", "High"])
    out["tier"] = tier.astype(object).where(tier.notna(), None)
    return out


def as_hospital_scores(ind: pd.DataFrame) -> pd.DataFrame:
    """The independent frame in the shape the reference computations of test_hospital_regression take."""
    return ind.rename(columns={"score": "risk_score", "tier": "income_tier"}).assign(score_name="hgi_group_score")


# ----------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_every_hospital_of_the_real_file_is_kept_and_matched(real_layout):
    layout, db = real_layout
    raw_ids = set(pd.read_csv(LAYOUTS[layout], dtype=str)["Facility ID"].str.zfill(6))
    he = query(db, "select * from marts.hospital_equity")
    assert set(he.facility_id) == raw_ids and he.facility_id.is_unique
    matched = (he.income_match_method != "unmatched").mean()
    assert matched >= 0.99, matched
    # The headline is the General Information score; the Complications score says why it is missing.
    assert (he.headline_score_name == "hgi_group_score").all()
    np.testing.assert_array_equal(he.clinical_risk_score.to_numpy(), he.hgi_group_score.to_numpy())
    assert he.measure_score.isna().all()
    assert he.measure_score_reason.str.startswith("no data: the complications_and_deaths file is absent").all()
    prov = query(db, "select * from marts.data_provenance").set_index("extract_name")
    assert prov.loc["hospital_general_information", "origin"] == "supplied"
    assert prov.loc["hospital_general_information", "rows_read"] == len(raw_ids)
    assert prov.loc["complications_and_deaths", "origin"] == "absent"
    assert prov.loc["acs_median_household_income", "vintage"] == "ACS 5-year estimates 2016-2020"
    # The reconciliation names the file actually read, not a fixed label.
    rec = query(db, "select * from marts.data_quality_reconciliation").set_index("extract_name")
    assert rec.loc["Hospital_General_Information", "file_path"] == str(LAYOUTS[layout])
    assert rec.loc["Hospital_General_Information", "rows_read"] == len(raw_ids) and rec.is_reconciled.all()


@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_headline_tiers_slope_and_state_flags_equal_an_independent_computation(real_layout):
    layout, db = real_layout
    ind = independent_hgi_scores(LAYOUTS[layout])
    he = query(db, "select facility_id, clinical_risk_score, median_household_income from marts.hospital_equity")
    merged = he.merge(ind, on="facility_id")
    assert len(merged) == len(ind)
    np.testing.assert_allclose(merged.clinical_risk_score, merged.score, rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged.median_household_income, merged.income, rtol=0, atol=1e-6)

    tiers = query(db, "select * from marts.hospital_income_tiers where is_headline").set_index("income_tier")
    means = ind.dropna(subset=["tier"]).groupby("tier", observed=True).score.mean()
    for tier, mean in means.items():
        assert tiers.loc[tier, "mean_risk"] == pytest.approx(mean, abs=1e-9)
    assert tiers.loc["Low", "gap_to_highest_tier"] == pytest.approx(means["Low"] - means["High"], abs=1e-9)

    d = ind.dropna(subset=["score", "income"])
    d = d[(d.income > 0) & ~d.coded]
    x = np.column_stack([np.ones(len(d)), np.log(d.income)])
    beta, *_ = np.linalg.lstsq(x, d.score.to_numpy(), rcond=None)
    reg = query(db, "select * from marts.hospital_income_regression where is_headline")
    row = reg[(reg.model_name == "log_income") & (reg.term == "log_income")].iloc[0]
    assert row.estimate == pytest.approx(beta[1], abs=1e-9)
    with_income = ind.dropna(subset=["score", "income"])
    assert row.n == len(d) and row.coded_incomes_excluded == int(with_income.coded.sum())
    # On the real files the signal the original dashboard claimed holds: lower income, higher risk.
    assert row.estimate < 0 and row.ci_upper < 0
    assert tiers.loc["Low", "mean_risk"] > tiers.loc["High", "mean_risk"]

    states = query(db, "select * from marts.hospital_state_performance where is_headline and income_tier = 'All'")
    scored = ind.dropna(subset=["score"])
    centre, sd = scored.score.mean(), scored.score.std(ddof=1)
    for _, s in states.iterrows():
        sub = scored[scored.state_code == s.state_code].score
        if len(sub) == 0:
            assert pd.isna(s.mean_risk) and not s.is_worse_95
            continue
        assert s.mean_risk == pytest.approx(sub.mean(), abs=1e-9)
        assert s.funnel_upper_95 == pytest.approx(centre + Z95 * sd / np.sqrt(len(sub)), abs=1e-9)
        assert bool(s.is_worse_95) == bool(sub.mean() > centre + Z95 * sd / np.sqrt(len(sub)))
        assert bool(s.is_worse_99_8) == bool(sub.mean() > centre + Z998 * sd / np.sqrt(len(sub)))
    assert states.is_worse_95.any()


@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_every_standard_error_on_the_real_file_is_finite_and_a_level_of_one_hospital_is_left_out_by_name(real_layout):
    """The 2025 file has one Tribal hospital with a group score: in the controls model its own dummy
    would fit it exactly (leverage 1), where HC3 is 0/0. It is left out with a row saying so."""
    layout, db = real_layout
    reg = query(db, "select * from marts.hospital_income_regression")
    coef = reg[reg.row_type != "no_estimate"]
    assert len(coef) > 20 and np.isfinite(coef[["estimate", "std_error", "ci_lower", "ci_upper"]]).all().all()
    scores = query(db, "select * from marts.hospital_scores where risk_score is not null")
    for _, gone in reg[(reg.row_type == "no_estimate") & reg.term.notna()].iterrows():
        control, level = gone.term.split("=", 1)
        same = scores[(scores.score_name == gone.score_name) & (scores[control] == level)]
        assert gone.model_name == "log_income_controls" and len(same) == gone.n == 1, gone.term
        assert "leverage 1" in gone.no_estimate_reason
    if layout == "2025":
        lone = reg[(reg.score_name == "hgi_group_score") & (reg.term == "hospital_ownership=Tribal")]
        assert list(lone.row_type) == ["no_estimate"]
        controls = reg[(reg.score_name == "hgi_group_score") & (reg.model_name == "log_income_controls")]
        assert (controls.leverage_one_excluded == 1).all()


def test_the_score_follows_the_cms_star_ratings_on_the_real_file(real_2025):
    """External validity: the published overall star rating (CMS's own summary) falls as the
    headline score rises."""
    by_star = query(
        real_2025,
        "select overall_rating, avg(clinical_risk_score) as m from marts.hospital_equity "
        "where overall_rating is not null group by 1 order by 1",
    )
    assert list(by_star.overall_rating) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(by_star.m.to_numpy()) < 0), by_star


def test_report_on_the_real_files_shows_origin_and_both_scores(real_2025, tmp_path):
    out = tmp_path / "report.html"
    assert report.main(["--db", str(real_2025), "--out", str(out)]) == 0
    page = out.read_text()
    assert "hospital_general_information</b>: Hospital_General_Information_2025.csv, supplied" in page
    assert "ACS 5-year estimates 2016-2020" in page
    assert "Not supplied (optional): complications_and_deaths" in page
    assert "no estimate: no hospital has this score" in page
    assert 'class="banner"' not in page


def _rebuild(real_2025, asthma_raw, tmp_path, complications: Path, **extra) -> tuple[Path, str, str]:
    """The hospital models rebuilt on a copy of the real warehouse; the report must render. The
    warehouse, the report page and what dbt printed."""
    db = tmp_path / "w.duckdb"
    shutil.copy(real_2025, db)
    r = dbt(HOSPITAL_SELECTION, db, tmp_path, real_vars(asthma_raw, LAYOUTS["2025"], complications, **extra))
    assert r.returncode == 0, r.stdout[-5000:]
    out = tmp_path / "report.html"
    assert report.main(["--db", str(db), "--out", str(out)]) == 0
    return db, out.read_text(), r.stdout


def test_a_header_only_complications_file_builds_with_the_score_null_and_a_reason(real_2025, asthma_raw, tmp_path):
    header = (asthma_raw / "Complications_and_Deaths-Hospital.csv").read_text().splitlines()[0]
    cd = tmp_path / "Complications_and_Deaths-Hospital.csv"
    cd.write_text(header + "\n")
    db, _, printed = _rebuild(real_2025, asthma_raw, tmp_path, cd)
    he = query(db, "select * from marts.hospital_equity")
    assert he.measure_score.isna().all() and he.hgi_group_score.notna().any()
    assert he.measure_score_reason.str.startswith("no data: the complications_and_deaths file is absent").all()
    reg = query(db, "select * from marts.hospital_income_regression where score_name = 'measure_score'")
    assert list(reg.row_type) == ["no_estimate"] and reg.no_estimate_reason.notna().all()
    # An empty extract is said: a row in the data-quality marts and a warning in the build output.
    empty = query(db, "select * from marts.data_quality_empty_inputs")
    assert empty[["extract_name", "input_kind", "rows_read"]].values.tolist() == [
        ["Complications_and_Deaths-Hospital", "extract", 0]
    ]
    assert empty.empty_reason[0].startswith("no data rows read")
    assert "WARNING: empty input: extract Complications_and_Deaths-Hospital, extract" in printed


def test_an_all_not_available_complications_file_builds_with_the_score_null(real_2025, asthma_raw, tmp_path):
    header = pd.read_csv(asthma_raw / "Complications_and_Deaths-Hospital.csv", dtype=str, nrows=0).columns
    ids = pd.read_csv(LAYOUTS["2025"], dtype=str)["Facility ID"].head(300)
    measures = pd.read_csv(REPO / "seeds" / "reference" / "ref_cms_complication_measures.csv").measure_id
    cd = pd.DataFrame(
        [{c: "Not Available" for c in header} | {"Facility ID": i, "Measure ID": m} for i in ids for m in measures]
    )
    path = tmp_path / "cd_all_na.csv"
    cd.to_csv(path, index=False)
    db, _, printed = _rebuild(real_2025, asthma_raw, tmp_path, path)
    he = query(db, "select * from marts.hospital_equity")
    assert he.measure_score.isna().all() and he.hgi_group_score.notna().any()
    assert he.measure_score_reason.str.startswith("no data: no usable value").all()
    cov = query(db, "select * from marts.hospital_measure_coverage")
    assert (cov[cov.in_reference_seed].rows_with_score == 0).all()
    # Not quietly: a warning in the build output and a row in the data-quality marts, once for
    # the whole file (not once per measure).
    empty = query(db, "select * from marts.data_quality_empty_inputs where extract_family = 'hospitals'")
    assert empty[["extract_name", "input_kind", "input_name", "rows_read"]].values.tolist() == [
        ["Complications_and_Deaths-Hospital", "score", "complications and deaths score (every measure)", len(cd)]
    ]
    assert (
        f"WARNING: empty input: extract Complications_and_Deaths-Hospital, score complications and deaths score "
        f"(every measure) ({len(cd)} rows read): no row of the file has a reported score"
    ) in printed


def test_real_general_information_with_a_generated_complications_file_stops_naming_both(
    real_2025, asthma_raw, tmp_path
):
    generated = asthma_raw / "Complications_and_Deaths-Hospital.csv"
    r = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, real_vars(asthma_raw, LAYOUTS["2025"], generated))
    assert r.returncode != 0
    message = r.stdout
    assert "Mixed data origins in hospitals_raw" in message
    assert str(LAYOUTS["2025"]) in message and str(generated) in message
    assert "allow_mixed_origins" in message
    # Allowed on purpose, it builds and the report carries a banner naming the mix. (Half the
    # generated file's rows belong to hospitals the real file does not have: the whole-extract
    # guard would stop that too, so this test lifts it as well.)
    _, page, _ = _rebuild(real_2025, asthma_raw, tmp_path, generated, allow_mixed_origins=True, max_quarantined_share=1)
    assert 'class="banner">Mixed data' in page


@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_selection_shares_of_measures_and_gaps_on_the_real_file_equal_an_independent_computation(real_layout):
    """Who the tier means describe (share scored; critical access hospitals scored of all), the
    share of measures rated worse with its clustered interval, its difference and ratio to the
    highest tier, and the gap in hospital SDs, from the raw files (statsmodels for the clustered
    variance and the Wilson intervals)."""
    layout, db = real_layout
    hospitals = as_hospital_scores(independent_hgi_scores(LAYOUTS[layout]))
    tiers = query(db, "select * from marts.hospital_income_tiers where is_headline")
    assert_tiers_match(tiers, reference_tier_shares(hospitals, ["Low", "Mid", "High"]))
    assert "gap_to_highest_tier_pct" not in tiers.columns
    # The selection differs by tier: the richer the ZIP, the larger the share of hospitals scored.
    t = tiers.set_index("income_tier")
    assert t.loc["Low", "share_scored"] < t.loc["Mid", "share_scored"] < t.loc["High", "share_scored"]
    assert (t.share_measures_worse_design_effect > 1).all()
    cov = query(db, "select * from marts.hospital_score_coverage where is_headline and breakdown = 'hospital type'")
    cov = cov.set_index("hospital_type")
    for kind, g in hospitals.groupby("hospital_type"):
        assert (cov.loc[kind, "hospitals"], cov.loc[kind, "scored_hospitals"]) == (len(g), g.risk_score.count()), kind
        lo, hi = proportion_confint(g.risk_score.count(), len(g), alpha=0.05, method="wilson")
        assert cov.loc[kind, "share_scored_lower_95"] == pytest.approx(lo, abs=1e-12), kind
        assert cov.loc[kind, "share_scored_upper_95"] == pytest.approx(hi, abs=1e-12), kind
    # Most critical access hospitals have too few measures to be scored.
    assert cov.loc["Critical Access Hospitals", "share_scored"] < 0.5


@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_state_funnel_overdispersion_on_the_real_file_equals_an_independent_computation(real_layout):
    """Spiegelhalter's overdispersion check and the adjusted limits from the raw files: the states
    vary far more than chance allows, and the widened limits leave fewer cells outside."""
    layout, db = real_layout
    hospitals = as_hospital_scores(independent_hgi_scores(LAYOUTS[layout]))
    cells, levels = reference_funnel(hospitals)
    states = query(db, "select * from marts.hospital_state_performance where is_headline")
    assert_funnel_matches(states, cells, levels)
    level = levels.set_index("is_state_total")
    assert level.loc[True, "is_overdispersed"] and level.loc[True, "p_value"] < 1e-4
    for total in (True, False):
        lv = level.loc[total]
        if lv.is_overdispersed:
            assert lv.above_95_adjusted + lv.below_95_adjusted < lv.above_95 + lv.below_95
    # No double counting: the tier rows and the total rows each count every hospital once.
    n = len(hospitals)
    assert states[states.is_state_total].hospitals.sum() == n == states[~states.is_state_total].hospitals.sum()


@pytest.mark.parametrize("real_layout", ["2025", "2024-02"], indirect=True)
def test_income_slope_per_doubling_on_the_real_file_equals_an_independent_hc3_fit(real_layout):
    layout, db = real_layout
    ind = independent_hgi_scores(LAYOUTS[layout])
    d = ind.dropna(subset=["score", "income"])
    d = d[(d.income > 0) & ~d.coded]
    x = np.column_stack([np.ones(len(d)), np.log(d.income)])
    y = d.score.to_numpy()
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    h = np.einsum("ij,jk,ik->i", x, bread, x)
    hc3 = bread @ (x.T * ((y - x @ beta) / (1 - h)) ** 2) @ x @ bread
    se = np.sqrt(hc3[1, 1])
    reg = query(db, "select * from marts.hospital_income_regression where is_headline")
    row = reg[(reg.model_name == "log_income") & (reg.term == "log_income")].iloc[0]
    assert row.estimate_per_doubling == pytest.approx(beta[1] * np.log(2), rel=1e-9)
    assert row.ci_lower_per_doubling == pytest.approx((beta[1] - Z95 * se) * np.log(2), rel=1e-9)
    assert row.ci_upper_per_doubling == pytest.approx((beta[1] + Z95 * se) * np.log(2), rel=1e-9)
    assert row.ci_upper_per_doubling < 0


def test_the_report_reads_at_a_glance_on_the_real_cms_files(real_2025, tmp_path):
    """The browser checks of test_report.py on the real-file build: the hospital section rests
    on the supplied CMS file (no synthetic banner), the asthma section on generated extracts (one)."""
    from outputs.test_report import check_report

    got = check_report(real_2025, "real", tmp_path, {"asthma"})
    hospital_files = next(o for o in got["origins"] if o["section"] == "hospitals")["files"]
    assert any("Hospital_General_Information_2025.csv" in f and "supplied" in f for f in hospital_files)
    assert any(h["area"] == "hospitals" for h in got["headlines"])


def test_supplied_patients_with_the_public_demo_salt_stop_the_build_until_a_secret_salt_is_set(asthma_raw, tmp_path):
    """The real CMS files and a supplied patients extract: with the demo salt anyone who knows a
    patient's extract id could compute their pseudonymous key, so the build stops before staging,
    naming HEALTH_EQUITY_SALT and printing no salt. With a secret salt set, it builds."""
    import hashlib
    import re

    from conftest import TEST_SALT

    raw = tmp_path / "raw"
    shutil.copytree(asthma_raw, raw)
    # Without the generator's manifest every asthma file is supplied, as a real extract is.
    (raw / "manifest.json").unlink()
    db = tmp_path / "w.duckdb"
    settings = real_vars(raw, LAYOUTS["2025"], tmp_path / "no-complications.csv")
    r = dbt(MAKE_BUILD, db, tmp_path, settings)
    assert r.returncode != 0
    assert f"The patients extract {raw}/patients.parquet is supplied" in r.stdout
    assert "Set a secret salt in the environment variable HEALTH_EQUITY_SALT" in r.stdout
    assert "health-equity-demo-salt" not in r.stdout
    assert "START sql" not in r.stdout  # stopped before staging: nothing built
    r = dbt(MAKE_BUILD, db, tmp_path, settings, salt=TEST_SALT)
    assert r.returncode == 0, r.stdout[-3000:]
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert TEST_SALT not in r.stdout and TEST_SALT not in log
    keys = set(query(db, "select patient_key from marts.asthma_patients").patient_key)
    ids = pd.read_parquet(raw / "patients.parquet", columns=["patient_id"]).patient_id.astype(str)
    salted = {hashlib.sha256(f"{TEST_SALT}|{i}".encode()).hexdigest() for i in ids}
    public = {hashlib.sha256(f"health-equity-demo-salt|{i}".encode()).hexdigest() for i in ids}
    assert keys and keys <= salted and not keys & public
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
