"""The asthma measures: every asthma outcome recomputed independently.

Known answers first (Wilson, Byars, funnel limits, the DSR with its variance for recurrent
events), then the warehouse figures recomputed from patient-level rows and the raw extract,
the must-show gradients at 100,000 patients.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import dbt
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from health_equity.stats import measures

ESP = pd.read_csv("seeds/reference/ref_esp2013_weights.csv").set_index("esp_age_band")
Z = 1.959963984540054


# --- known answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 412), (3, 2000)])
def test_wilson_matches_statsmodels(x, n):
    lo, hi = measures.wilson(x, n)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12) and hi == pytest.approx(ref_hi, abs=1e-12)


def test_wilson_zero_of_ten_known_answer():
    # Newcombe (1998) example: 0/10 has Wilson limits 0 and 0.2775.
    lo, hi = measures.wilson(0, 10)
    assert lo == pytest.approx(0, abs=1e-12) and hi == pytest.approx(0.2775, abs=5e-5)
    with pytest.raises(ValueError):
        measures.wilson(11, 10)


@pytest.mark.parametrize("o", [10, 25, 100, 1000])
def test_byars_is_close_to_exact_poisson_limits(o):
    lo, hi = measures.byars(o)
    exact_lo = stats.chi2.ppf(0.025, 2 * o) / 2
    exact_hi = stats.chi2.ppf(0.975, 2 * (o + 1)) / 2
    assert lo == pytest.approx(exact_lo, rel=0.01) and hi == pytest.approx(exact_hi, rel=0.01)
    assert measures.byars(0)[0] == 0


def test_crude_rate_limits_are_exact_below_10_events_and_byars_from_10():
    o = np.arange(0, 15)
    lo, hi = measures.crude_rate_limits(o)
    exact_lo = np.where(o > 0, stats.chi2.ppf(0.025, 2 * np.maximum(o, 1)) / 2, 0)
    exact_hi = stats.chi2.ppf(0.975, 2 * (o + 1)) / 2
    blo, bhi = measures.byars(o)
    assert lo[:10] == pytest.approx(exact_lo[:10], abs=1e-12) and hi[:10] == pytest.approx(exact_hi[:10], abs=1e-12)
    assert lo[10:] == pytest.approx(blo[10:], abs=1e-12) and hi[10:] == pytest.approx(bhi[10:], abs=1e-12)
    # Byars is visibly off at 1 event (why PHE switches below 10): the lower limit 0.0203 vs 0.0253.
    assert abs(blo[1] - exact_lo[1]) > 0.004


def test_the_warehouse_macro_gives_the_same_crude_rate_limits(tmp_path):
    """macros/asthma/measures.sql poisson_limit_95, compiled and run by dbt on DuckDB, against scipy."""
    sql = (
        "select o, {{ poisson_limit_95('o', 'lower') }} as lower_limit, {{ poisson_limit_95('o', 'upper') }} "
        "as upper_limit, {{ poisson_limit_method() }} as method from range(0, 15) as t (o) order by o"
    )
    r = dbt(["show", "--inline", sql, "--output", "json", "--limit", "20"], tmp_path / "w.duckdb", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    shown = json.loads(r.stdout[r.stdout.index("{\n") :])["show"]
    got = pd.DataFrame(shown).sort_values("o")
    lo, hi = measures.crude_rate_limits(got.o.to_numpy())
    assert got.lower_limit.to_numpy() == pytest.approx(lo, rel=1e-13, abs=1e-15)
    assert got.upper_limit.to_numpy() == pytest.approx(hi, rel=1e-13)
    assert set(got.method) == {"exact Poisson limits below 10 events, Byars approximation from 10 (PHE)"}


def test_funnel_limits_are_where_the_wilson_interval_reaches_the_average():
    avg, n = 0.086, np.array([50.0, 200, 1000, 10000])
    for conf in (0.95, 0.998):
        lo, hi = measures.funnel_limits(avg, n, conf)
        z = stats.norm.ppf(1 - (1 - conf) / 2)
        # A proportion on the upper limit has its Wilson lower limit exactly at the average...
        assert measures.wilson(hi * n, n, conf)[0] == pytest.approx(np.full(4, avg), abs=1e-12)
        # ...which is the score test: average +/- z sqrt(p(1-p)/n).
        assert hi == pytest.approx(avg + z * np.sqrt(avg * (1 - avg) / n), abs=1e-12)
        assert lo == pytest.approx(np.maximum(0, avg - z * np.sqrt(avg * (1 - avg) / n)), abs=1e-12)


def test_dsr_known_answer_full_standard_and_recurrent_events():
    # Band 20-24 (weight 6000): 2 person-years, one person with 2 events, one with none.
    # Band 70-74 (weight 5000): 1 person-year, one person with 1 event. W = 100,000 (all 19 bands).
    ev = pd.DataFrame({"band": ["20-24", "20-24", "70-74"], "events": [2, 0, 1]})
    pt = pd.Series({"20-24": 2.0, "70-74": 1.0})
    w = ESP["esp_weight"]
    assert w.sum() == 100_000
    dep = measures.dsr(ev, pt, w)
    ind = measures.dsr(ev, pt, w, independent_events=True)
    assert dep["dsr"] == pytest.approx(110.0, abs=1e-12)  # (6000*2/2 + 5000*1/1) / 100000 * 1000
    assert ind["variance"] == pytest.approx(4300.0, abs=1e-9)  # (6000^2*2/4 + 5000^2*1/1) / 1e10 * 1e6
    assert dep["variance"] == pytest.approx(6100.0, abs=1e-9)  # the 2-event person counts 2^2 = 4
    lo, hi = measures.byars(3)
    assert dep["lower"] == pytest.approx(110 + math.sqrt(6100 / 3) * (lo - 3), abs=1e-9)
    assert dep["upper"] == pytest.approx(110 + math.sqrt(6100 / 3) * (hi - 3), abs=1e-9)
    # With at most one event per person the two variances agree.
    single = pd.DataFrame({"band": ["20-24", "20-24", "70-74"], "events": [1, 1, 1]})
    assert measures.dsr(single, pt, w)["variance"] == pytest.approx(
        measures.dsr(single, pt, w, independent_events=True)["variance"], abs=1e-12
    )


# --- the warehouse, recomputed -----------------------------------------------------------------


def _birthday(dob: dt.date, year: int) -> dt.date:
    if dob.month == 2 and dob.day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return dt.date(year, 2, 28)
    return dt.date(year, dob.month, dob.day)


def _age(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - (day < _birthday(dob, day.year))


@functools.cache  # a pandas lookup per day of every sampled patient is most of the test's time
def _band(age: int) -> str:
    return ESP.index[(ESP.age_lower <= age) & (age <= ESP.age_upper)][0]


def test_lexis_person_time_matches_a_day_by_day_count_from_the_raw_extract(clean_build):
    raw = pd.read_parquet(clean_build.raw_dir / "patients.parquet").astype({"patient_id": str})
    raw["patient_key"] = [
        hashlib.sha256(f"health-equity-demo-salt|{i.strip()}".encode()).hexdigest() for i in raw.patient_id
    ]
    dob = dict(zip(raw.patient_key, pd.to_datetime(raw.date_of_birth).dt.date))
    pt = clean_build.df("select * from intermediate.int_asthma_person_time where person_years > 0")
    seg = clean_build.df(
        "select patient_key, esp_age_band, observed_days as days from intermediate.int_asthma_person_time_by_age_band"
    )
    crossers = seg.groupby("patient_key").size().loc[lambda s: s > 1].index
    assert len(crossers) > 100  # people do age across a band boundary during the study
    sample = pt[pt.patient_key.isin(crossers)].head(400)
    sample = pd.concat([sample, pt[~pt.patient_key.isin(crossers)].head(100)])
    expected = {}
    for r in sample.itertuples():
        day, end = r.observation_start_date.date(), r.observation_end_date.date()
        while day <= end:
            key = (r.patient_key, _band(_age(dob[r.patient_key], day)))
            expected[key] = expected.get(key, 0) + 1
            day += dt.timedelta(days=1)
    got = seg[seg.patient_key.isin(sample.patient_key)].set_index(["patient_key", "esp_age_band"])["days"].to_dict()
    assert got == expected
    # Every patient's bands add up to their person-years.
    total = seg.groupby("patient_key")["days"].sum() / 365.25
    merged = pt.set_index("patient_key")["person_years"].to_frame().join(total)
    assert np.allclose(merged.person_years, merged.days, atol=1e-12)


def _patient_events(build, outcome: str) -> pd.DataFrame:
    """Events per patient x age band, assigned by the event date, recomputed in pandas."""
    seg = build.df("select * from intermediate.int_asthma_person_time_by_age_band")
    ev = build.df(
        "select patient_key, event_date, amount from intermediate.int_asthma_patient_events "
        f"where measure = '{outcome}'"
    )
    j = ev.merge(seg, on="patient_key")
    j = j[(j.event_date >= j.segment_start_date) & (j.event_date <= j.segment_end_date)]
    counts = j.groupby(["patient_key", "esp_age_band"])["amount"].sum().rename("events").reset_index()
    return seg.merge(counts, on=["patient_key", "esp_age_band"], how="left").fillna({"events": 0})


@pytest.mark.parametrize("outcome", ["emergency_admissions", "exacerbations"])
def test_dsr_with_recurrent_event_ci_recomputed_from_patient_rows(clean_build, outcome):
    pe = _patient_events(clean_build, outcome)
    pts = clean_build.df("select patient_key, imd_quintile, ethnicity_group from marts.asthma_patients")
    pe = pe.merge(pts, on="patient_key")
    rates = clean_build.df(
        f"select * from intermediate.int_asthma_inequality_rates where outcome = '{outcome}'"
    ).set_index(["dimension", "group_value"])
    checked = 0
    for dim in ["imd_quintile", "ethnicity_group"]:
        for group, sub in pe.groupby(dim):
            res = measures.dsr(
                sub.rename(columns={"esp_age_band": "band"})[["band", "events"]],
                sub.groupby("esp_age_band")["person_years"].sum(),
                ESP["esp_weight"],
            )
            row = rates.loc[(dim, str(group))]
            assert row.measure_type == "rate per 1,000 person-years"
            assert row.numerator == res["events"] and row.denominator == pytest.approx(sub.person_years.sum())
            assert row.dsr_per_1000 == pytest.approx(res["dsr"], rel=1e-9)
            assert row.dsr_standard_error == pytest.approx(res["standard_error"], rel=1e-9)
            assert row.dsr_lower_95 == pytest.approx(res["lower"], rel=1e-9)
            assert row.dsr_upper_95 == pytest.approx(res["upper"], rel=1e-9)
            assert row.indicator_value == row.dsr_per_1000
            # Emergency admissions recur within a person: the honest interval is wider.
            assert row.dsr_standard_error > row.dsr_standard_error_independent
            checked += 1
    assert checked >= 10


def test_an_age_band_publishes_its_age_specific_rate_not_a_dsr(clean_build):
    # Standardising one age band to the whole ESP 2013 would give the band's share of the
    # standard population times its rate (for 0-4, about a tenth of its crude rate): not a rate
    # of the group. An age band's indicator is its crude (age-specific) rate, with no DSR.
    rows = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where dimension = 'age_band' "
        "and measure_type like 'rate%'"
    )
    assert len(rows) == 8 and rows.dsr_per_1000.isna().all() and rows.dsr_lower_95.isna().all()
    assert (rows.indicator_value == rows.crude_rate_per_1000).all()
    assert (rows.indicator_lower_95 == rows.crude_rate_lower_95).all()
    assert set(rows.indicator_unit) == {"per 1,000 person-years, age-specific (crude)"}
    assert rows.indicator_standard_error.to_numpy() == pytest.approx(
        np.sqrt(rows.events) / rows.person_years.to_numpy() * 1000, rel=1e-12
    )
    lo, hi = measures.crude_rate_limits(rows.events.to_numpy())
    assert rows.crude_rate_lower_95.to_numpy() == pytest.approx(lo / rows.person_years.to_numpy() * 1000, rel=1e-12)
    assert rows.crude_rate_upper_95.to_numpy() == pytest.approx(hi / rows.person_years.to_numpy() * 1000, rel=1e-12)
    # Every other breakdown keeps the DSR as its indicator.
    other = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where dimension != 'age_band' "
        "and measure_type like 'rate%'"
    )
    assert (other.indicator_value == other.dsr_per_1000).all() and other.dsr_per_1000.notna().all()
    mart = clean_build.df(
        "select * from marts.asthma_inequalities where dimension = 'age_band' and measure_type like 'rate%' "
        "and not is_suppressed"
    )
    assert len(mart) > 0 and mart.dsr_per_1000.isna().all() and not mart.is_dsr_suppressed.any()
    assert (mart.indicator_value == mart.crude_rate_per_1000).all()


def test_percentage_rows_carry_no_event_count(clean_build):
    rows = clean_build.df(
        "select * from marts.asthma_inequalities where measure_type not like 'rate%' and not is_suppressed"
    )
    assert len(rows) > 0 and rows.events.isna().all() and rows.numerator.notna().all()


def test_readmissions_recomputed_from_spells_and_each_patients_own_observation(clean_build):
    spells = clean_build.df(
        "select * from intermediate.int_asthma_admission_spells "
        "where admission_method = 'emergency' and is_asthma_spell order by patient_key, spell_start_date, spell_number"
    )
    pt = clean_build.df(
        "select patient_key, observation_start_date, observation_end_date from intermediate.int_asthma_person_time"
    )
    deaths = clean_build.df("select patient_key, death_date from staging.stg_asthma__patients")
    s = spells.merge(pt, on="patient_key").merge(deaths, on="patient_key")
    s["next_start"] = s.groupby("patient_key")["spell_start_date"].shift(-1)
    observed_after = (s.observation_end_date - s.spell_end_date).dt.days
    died_within = (
        (s.death_date == s.observation_end_date)
        & (s.death_date > s.spell_end_date)
        & ((s.death_date - s.spell_end_date).dt.days <= 30)
    )
    in_obs = (s.spell_end_date >= s.observation_start_date) & (s.spell_end_date <= s.observation_end_date)
    s["index"] = ~s.died_in_spell & in_obs & ((observed_after >= 30) | died_within)
    s["readmitted"] = s["index"] & ((s.next_start - s.spell_end_date).dt.days.between(0, 30))
    assert (s["index"] != in_obs).any()  # the own-observation rule does exclude someone
    pts = clean_build.df("select patient_key, imd_quintile from marts.asthma_patients")
    by = s[s["index"]].merge(pts, on="patient_key").groupby("imd_quintile")["readmitted"].agg(["sum", "size"])
    rates = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where outcome = 'readmissions_30d'"
    ).set_index(["dimension", "group_value"])
    overall = rates.loc[("all_patients", "All patients")]
    assert overall.numerator == s["readmitted"].sum() and overall.denominator == s["index"].sum()
    avg = overall.numerator / overall.denominator
    for q, r in by.iterrows():
        row = rates.loc[("imd_quintile", str(q))]
        assert row.measure_type == "percentage of index discharges" and row.ci_method == "Wilson score"
        assert (row.numerator, row.denominator) == (r["sum"], r["size"])
        lo, hi = measures.wilson(r["sum"], r["size"])
        assert row.proportion_pct == pytest.approx(100 * r["sum"] / r["size"], abs=1e-9)
        assert (row.proportion_lower_95, row.proportion_upper_95) == pytest.approx((100 * lo, 100 * hi), abs=1e-9)
        for conf, col in [(0.95, "95"), (0.998, "998")]:
            flo, fhi = measures.funnel_limits(avg, r["size"], conf)
            assert row[f"funnel_lower_{col}"] == pytest.approx(100 * flo, abs=1e-9)
            assert row[f"funnel_upper_{col}"] == pytest.approx(100 * fhi, abs=1e-9)


def test_saba_over_reliance_is_a_percentage_of_assessable_patients(clean_build):
    pts = clean_build.df("select * from marts.asthma_patients")
    rates = clean_build.df(
        "select * from intermediate.int_asthma_inequality_rates where outcome = 'saba_over_reliance' "
        "and dimension = 'sex'"
    ).set_index("group_value")
    assessable = pts[pts.followup_person_years >= 0.5]
    for sex, sub in assessable.groupby("sex"):
        over = int((sub.followup_saba_canisters / sub.followup_person_years >= 3).sum())
        row = rates.loc[sex]
        assert row.measure_type == "percentage of patients" and pd.isna(row.person_years)
        assert (row.numerator, row.denominator) == (over, len(sub))
        assert row.denominator < row.patients  # not everyone is assessable
        lo, hi = measures.wilson(over, len(sub))
        assert row.indicator_lower_95 == pytest.approx(100 * lo, abs=1e-9)
        assert row.indicator_upper_95 == pytest.approx(100 * hi, abs=1e-9)


# --- must show on the medium build (100,000 patients once MEDIUM is raised; passes at 60,000 too)


def test_readmission_share_has_no_imd_gradient_while_admissions_have_a_steep_one(medium_build):
    # Planted: one 30-day readmission probability for every quintile, and no other readmissions
    # (truth.json: readmission_note). At 100,000 patients the readmission SII's CI contains 0 while
    # the emergency admission rate's does not.
    truth = medium_build.truth["asthma"]
    assert isinstance(truth["p_readmit_30d"], float) and truth["readmission_refractory_days"] > 30
    idx = medium_build.df("select * from marts.asthma_inequality_indices").set_index("outcome")
    readm, adm = idx.loc["readmissions_30d"], idx.loc["emergency_admissions"]
    assert readm.measure_type == "percentage of index discharges"
    assert adm.measure_type == "rate per 1,000 person-years"
    assert adm.sii_upper < 0 and adm.sii_ci_excludes_zero  # higher in the most deprived (PHE sign)
    assert adm.interpretation.startswith("most deprived vs least deprived: ")
    assert adm.most_minus_least_deprived == pytest.approx(-adm.sii)
    assert readm.sii_lower <= 0 <= readm.sii_upper and not readm.sii_ci_excludes_zero, (
        readm.sii_lower,
        readm.sii_upper,
    )
    # The readmission gradient is far weaker than the admission gradient it used to re-count.
    assert readm.most_to_least_deprived_ratio_upper < adm.most_to_least_deprived_ratio_lower
    q = medium_build.df(
        "select * from marts.asthma_inequalities where dimension = 'imd_quintile' and outcome = 'readmissions_30d'"
    )
    assert len(q) == 5 and (q.funnel_position.str.startswith("within")).all()  # no quintile off the funnel
    # The old measure (readmissions per person-year of the whole register) shows a steep gradient.
    adm_q = medium_build.df(
        "select group_value, person_years from marts.asthma_inequalities "
        "where dimension = 'imd_quintile' and outcome = 'emergency_admissions'"
    )
    old = q.merge(adm_q, on="group_value", suffixes=("", "_register")).set_index("group_value")
    per_py = old.numerator / old.person_years_register
    assert per_py.loc["1"] / per_py.loc["5"] > 2 * old.loc["1", "proportion_pct"] / old.loc["5", "proportion_pct"]
