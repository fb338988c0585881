"""The real `dbt build` on small generated data: contract, reconciliation, statistics, privacy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import build
from markupsafe import escape

from health_equity.stats import measures

CONTRACT = {
    "asthma_patients": [
        "patient_key",
        "age_band",
        "sex",
        "ethnicity_group",
        "imd_quintile",
        "person_years",
        "baseline_gp_asthma_visits",
        "followup_asthma_reviews",
        "followup_outpatient_appointments",
        "followup_prescriptions",
        "followup_saba_prescriptions",
        "followup_ics_prescriptions",
        "followup_ocs_prescriptions",
        "followup_exacerbations",
        "baseline_emergency_admissions",
        "followup_emergency_admissions",
        "followup_readmissions_30d",
    ],
    "asthma_inequalities": [
        "dimension",
        "group_value",
        "outcome",
        "events",
        "person_years",
        "crude_rate_per_1000",
        "dsr_per_1000",
        "dsr_lower_95",
        "dsr_upper_95",
        "is_suppressed",
        "suppression_reason",
    ],
    "asthma_inequality_indices": ["outcome", "sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"],
}


def test_dbt_build_succeeds_and_publishes_the_contract(clean_build):
    assert "Completed successfully" in clean_build.result.stdout
    cols = clean_build.df("select table_name, column_name from information_schema.columns where table_schema='marts'")
    for mart, needed in CONTRACT.items():
        have = set(cols.loc[cols.table_name == mart, "column_name"])
        assert set(needed) <= have, (mart, set(needed) - have)
    ref = clean_build.query("select count(*) from information_schema.tables where table_schema = 'reference'")
    assert ref[0][0] >= 9


def test_every_patient_is_kept_and_rows_reconcile(clean_build):
    n = clean_build.manifest["files"]["patients"]["rows"]
    assert clean_build.query("select count(*) from marts.asthma_patients")[0][0] == n
    rec = clean_build.df("select * from marts.data_quality_reconciliation")
    assert rec["is_reconciled"].all()
    for _, r in rec.iterrows():
        assert r.rows_read == clean_build.manifest["files"][r.extract_name]["rows"]
    assert rec["rows_quarantined"].sum() == 0  # clean data: nothing to quarantine


@pytest.mark.parametrize("quintile", ["1", "5"])
def test_crude_rate_recomputed_from_patient_rows_and_the_mart_publishes_the_dsr(clean_build, quintile):
    # The DSR itself (Lexis split, full ESP 2013, recurrent-event CI) is recomputed from patient
    # rows in test_measures.py.
    pts = clean_build.df("select * from marts.asthma_patients")
    sub = pts[pts.imd_quintile == int(quintile)]
    events = sub.baseline_emergency_admissions + sub.followup_emergency_admissions
    row = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where dimension = 'imd_quintile' "
        f"and group_value = '{quintile}' and outcome = 'emergency_admissions'"
    ).iloc[0]
    assert row.numerator == events.sum()
    assert row.crude_rate_per_1000 == pytest.approx(events.sum() / sub.person_years.sum() * 1000, abs=1e-9)
    mart = clean_build.df(
        "select * from marts.asthma_inequalities where dimension = 'imd_quintile' "
        f"and group_value = '{quintile}' and outcome = 'emergency_admissions'"
    ).iloc[0]
    # The DSR is published exact; its interval and the crude rate's come from the count rounded
    # to the nearest 5 (the disclosure policy), so that they cannot give the exact count back.
    assert mart.dsr_per_1000 == pytest.approx(row.dsr_per_1000, abs=1e-9)
    rounded = round(events.sum() / 5) * 5
    assert mart.numerator == rounded
    lower, upper = measures.byars(rounded)  # the DSR's Dobson interval uses Byars at every count
    crude_upper = measures.crude_rate_limits(rounded)[1]
    se = row.dsr_standard_error
    assert mart.dsr_lower_95 == pytest.approx(row.dsr_per_1000 + se / np.sqrt(rounded) * (lower - rounded), abs=1e-9)
    assert mart.crude_rate_upper_95 == pytest.approx(crude_upper / row.person_years * 1000, rel=1e-9)
    assert mart.crude_rate_per_1000 == pytest.approx(rounded / row.person_years * 1000, rel=1e-9)


def test_sii_and_rii_match_an_independent_statsmodels_wls(clean_build):
    rates = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where dimension = 'imd_quintile' "
        "and outcome = 'emergency_admissions' order by group_value"
    )
    n = rates.person_years.to_numpy()
    share = n / n.sum()
    ridit = np.cumsum(share) - share / 2
    fit = sm.WLS(rates.dsr_per_1000.to_numpy(), sm.add_constant(ridit), weights=share).fit()
    idx = clean_build.df("select * from marts.asthma_inequality_indices where outcome = 'emergency_admissions'").iloc[0]
    assert idx.sii == pytest.approx(fit.params[1], abs=1e-9)
    assert idx.rii == pytest.approx((fit.params[0] + fit.params[1]) / fit.params[0], abs=1e-9)
    assert idx.sii_lower < idx.sii < idx.sii_upper


def test_imd_gradient_in_emergency_admissions_points_the_planted_way(clean_build):
    # Planted: higher rates and more high-utiliser phenotypes in more deprived quintiles.
    assert clean_build.truth["asthma"]["emergency_admission_irr"]["imd_quintile"]["1"] > 1
    r = clean_build.df(
        "select group_value, crude_rate_per_1000 from marts.asthma_inequalities "
        "where dimension = 'imd_quintile' and outcome = 'emergency_admissions'"
    ).set_index("group_value")
    assert r.loc["1", "crude_rate_per_1000"] > r.loc["5", "crude_rate_per_1000"]
    idx = clean_build.df("select * from marts.asthma_inequality_indices where outcome = 'emergency_admissions'").iloc[0]
    assert idx.sii_upper < 0 and idx.rii < 1  # worse in deprived areas: SII negative (PHE orientation)


def test_small_counts_are_suppressed_in_the_mart(clean_build):
    m = clean_build.df("select * from marts.asthma_inequalities")
    raw = clean_build.df("select * from intermediate.int_asthma_inequality_rates")
    j = m.merge(raw, on=["dimension", "group_value", "outcome"], suffixes=("", "_raw"))
    small = j.numerator_raw <= 7  # the default policy: counts of 7 or fewer redacted, others rounded to 5
    assert small.any()
    assert j.loc[small, "numerator"].isna().all() and j.loc[small, "crude_rate_per_1000"].isna().all()
    assert j.loc[j.numerator_raw < 10, "dsr_per_1000"].isna().all()
    shown = ~j.is_suppressed
    assert (j.loc[shown, "numerator"] == (j.loc[shown, "numerator_raw"] / 5).round() * 5).all()
    assert (abs(j.loc[shown, "numerator"] - j.loc[shown, "numerator_raw"]) <= 2).all()
    assert j.loc[~shown, "numerator"].isna().all()
    # events are a rate's count: the same as its numerator where shown, and absent from percentages.
    rate = j.measure_type.str.startswith("rate")
    assert (j.loc[shown & rate, "events"] == j.loc[shown & rate, "numerator"]).all()
    assert j.loc[~rate, "events"].isna().all() and j.loc[~rate, "events_raw"].isna().all()


def test_no_direct_identifier_reaches_a_mart(clean_build):
    cols = {
        c
        for (c,) in clean_build.query(
            "select distinct column_name from information_schema.columns where table_schema = 'marts'"
        )
    }
    assert not cols & {
        "patient_id",
        "nhs_number",
        "given_name",
        "family_name",
        "address_line_1",
        "postcode",
        "date_of_birth",
        "town",
    }
    keys = clean_build.df("select patient_key from marts.asthma_patients limit 5").patient_key
    assert keys.str.fullmatch(r"[0-9a-f]{64}").all()
    nhs = pd.read_parquet(clean_build.raw_dir / "patients.parquet", columns=["nhs_number", "patient_id"]).astype(str)
    marts = clean_build.df("select * from marts.asthma_patients").astype(str)
    assert not marts.isin(set(nhs.nhs_number) | set(nhs.patient_id)).any().any()


def test_a_register_of_100_patients_builds_and_its_small_numbers_give_no_0_over_0(tmp_path):
    """A small extract (one practice's register) builds: a group with no index discharges has a
    denominator of 0 and no proportion or interval, not a failed test or a 0/0."""
    b = build(tmp_path, "--patients", "100", "--hospitals", "50", "--seed", "3", "--quiet")
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    empty = b.df("select * from intermediate.int_asthma_inequality_rates where denominator = 0")
    assert len(empty) > 0 and (empty.numerator == 0).all()
    assert empty[["proportion_pct", "proportion_lower_95", "proportion_upper_95"]].isna().all().all()
    shown = b.df("select * from marts.asthma_inequalities where denominator = 0 and not is_suppressed")
    assert shown.empty  # in the mart such a group is a small count, suppressed with its reason
    # With a handful of events the indices say what they can: no "nan times", no ratio outside its
    # interval, a note wherever the RII or the ratio's interval is missing.
    idx = b.df("select * from marts.asthma_inequality_indices")
    assert not idx.interpretation.str.contains("nan|inf").any()
    ranged = idx.dropna(subset=["most_to_least_deprived_ratio_lower"])
    assert (ranged.most_to_least_deprived_ratio_lower <= ranged.most_to_least_deprived_ratio).all()
    assert (ranged.most_to_least_deprived_ratio <= ranged.most_to_least_deprived_ratio_upper).all()
    missing = idx[idx.most_to_least_deprived_ratio_lower.isna()]
    assert len(missing) > 0 and missing.note.notna().all()
    # and the report's SII chart says which outcomes it leaves out or shows without an interval
    from health_equity.outputs import report

    out = tmp_path / "report.html"
    assert report.main(["--db", str(b.db), "--out", str(out)]) == 0
    page = out.read_text()
    assert "Not shown, or shown without an interval: " in page
    # as the report's templates write text (Jinja autoescape, markupsafe)
    assert all(str(escape(note)) in page for note in missing.note)


def test_saba_over_reliance_never_rests_on_a_single_canister(clean_build):
    # The reason half a year of follow-up is enough (doc block saba_over_reliance): from 0.5
    # person-years, one canister annualises to at most 2, under the SABINA threshold of 3.
    p = clean_build.df("select * from marts.asthma_patients")
    assessable = p[p.is_saba_assessable]
    assert (assessable.followup_person_years >= 0.5).all() and not p[~p.is_saba_assessable].followup_person_years.ge(
        0.5
    ).any()
    flagged = assessable[assessable.is_saba_over_reliant_3]
    assert len(flagged) > 0 and (flagged.followup_saba_canisters >= 2).all()
    assert (assessable[assessable.is_saba_over_reliant_12].followup_saba_canisters >= 7).all()
    assert p[~p.is_saba_assessable].is_saba_over_reliant_3.isna().all()


def test_each_group_is_compared_with_all_patients_the_fingertips_way(clean_build):
    m = clean_build.df("select * from marts.asthma_inequalities")
    overall = m[m.dimension == "all_patients"].set_index("outcome")
    rows = m[(m.dimension != "all_patients") & m.indicator_lower_95.notna()]
    assert len(rows) > 20 and set(rows.compared_with_all_patients) == {"higher", "similar", "lower"}
    for r in rows.itertuples():
        age_rate = r.dimension == "age_band" and r.measure_type.startswith("rate")
        ref = overall.loc[r.outcome, "crude_rate_per_1000" if age_rate else "indicator_value"]
        assert r.comparator_value == pytest.approx(ref, rel=1e-12)
        want = "higher" if r.indicator_lower_95 > ref else "lower" if r.indicator_upper_95 < ref else "similar"
        assert r.compared_with_all_patients == want, r
    assert m[m.indicator_lower_95.isna() | (m.dimension == "all_patients")].compared_with_all_patients.isna().all()
    assert set(m.polarity) == {"higher is worse"}
