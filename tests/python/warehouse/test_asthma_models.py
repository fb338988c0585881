"""Rate ratio models on generator data with known truth, through the real dbt build: the fits
against independent ones, the planted effects recovered, the model choice and the forest plot.
The cluster tests are in test_asthma_clusters.py, which shares the helpers here."""

from __future__ import annotations

import hashlib
import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import NO_UNIT_TESTS, dbt
from scipy import stats

from generators import asthma
from health_equity.outputs import report
from health_equity.stats import rates as R

DEMO_SALT = "health-equity-demo-salt"


def node_config(build, model: str, key: str) -> dict:
    """A model's config as the build passed it (the dbt vars, rendered into the model's config)."""
    manifest = json.loads((build.db.parent / "target" / "manifest.json").read_text())
    return manifest["nodes"][f"model.health_equity.{model}"]["config"][key]


def rate_config(build) -> R.RateModelConfig:
    return R.RateModelConfig.from_mapping(node_config(build, "int_asthma_admission_rate_ratios", "rate_model"))


def planted_phenotypes(build) -> pd.DataFrame:
    truth = build.truth["asthma"]["patient_phenotype"]
    keys = [hashlib.sha256(f"{DEMO_SALT}|{i}".encode()).hexdigest() for i in truth["patient_id"]]
    return pd.DataFrame({"patient_key": keys, "phenotype": truth["phenotype"]})


def test_collapsed_cell_fit_in_the_mart_equals_a_patient_level_fit(clean_build):
    patients = clean_build.df("select * from marts.asthma_patients")
    clusters = clean_build.df("select * from marts.asthma_patient_clusters")
    frame = R.model_frame(patients, clusters)
    ref = R.reference_levels(frame, rate_config(clean_build))
    frame = R.model_population(frame, "cluster_adjusted")
    assert len(frame) == (patients.merge(clusters[clusters.is_clustered]).followup_person_years > 0).sum()
    levels = {c: sorted(frame[c].unique()) for c in R.CATEGORICAL}
    x = R.design(frame, R.MODELS["cluster_adjusted"], levels, ref)
    fit = sm.GLM(frame[R.OUTCOME], x, family=sm.families.Poisson(), offset=np.log(frame[R.EXPOSURE])).fit(tol=1e-12)
    mart = clean_build.df(
        "select * from intermediate.int_asthma_admission_rate_ratios"
        " where model_name = 'cluster_adjusted' and model_family = 'poisson'"
    )
    names = np.where(mart.term.isin(["intercept", R.BASELINE]), mart.term, mart.term + "=" + mart.level)
    np.testing.assert_allclose(mart.estimate, fit.params[names], rtol=0, atol=1e-8)
    np.testing.assert_allclose(mart.std_error, fit.bse[names], rtol=0, atol=1e-8)


DEMOGRAPHIC_TERMS = ("imd_quintile", "ethnicity_group", "age_band", "sex")


def test_the_total_model_is_fitted_on_every_patient_with_follow_up(medium_build):
    """The total effect does not depend on whether a patient had enough baseline to be clustered:
    the total model is fitted on every patient with follow-up person-time, the cluster models on
    those of them with a cluster, and the marts say so (model_population) and count each model's
    own patients and admissions (exact in the intermediate model, rounded in the marts)."""
    patients = medium_build.df("select * from marts.asthma_patients where followup_person_years > 0")
    clusters = medium_build.df("select * from marts.asthma_patient_clusters")
    followed = patients.merge(clusters, on="patient_key")
    clustered = followed[followed.is_clustered]
    assert 0 < len(clustered) < len(followed)
    expected = {
        "total": (len(followed), followed.followup_emergency_admissions.sum(), R.EVERY_PATIENT),
        "cluster_adjusted": (len(clustered), clustered.followup_emergency_admissions.sum(), R.CLUSTERED_PATIENTS),
        "original_notebook": (len(clustered), clustered.followup_emergency_admissions.sum(), R.CLUSTERED_PATIENTS),
    }
    columns = "model_name, model_family, n, events, model_population"
    exact = medium_build.df(f"select distinct {columns} from intermediate.int_asthma_admission_rate_ratios")
    published = medium_build.df(f"select distinct {columns} from marts.asthma_admission_rate_ratios")
    diagnostics = medium_build.df(
        f"select {columns} from marts.asthma_model_diagnostics where model_type = 'rate ratio'"
    )
    for table in (exact, published, diagnostics):
        assert len(table) == 6 and set(table.model_name) == set(expected)
    for row in exact.itertuples():
        assert (row.n, row.events, row.model_population) == expected[row.model_name], row
    for table in (published, diagnostics):
        for row in table.itertuples():
            n, events, population = expected[row.model_name]
            assert (row.n, row.events) == (round(n / 5) * 5, round(events / 5) * 5), row
            assert row.model_population == population


def test_the_generators_simulation_is_what_the_warehouse_counts_and_fits(clean_build):
    """generators.asthma.simulate_followup, the data the truth checks fit the total model on
    (test_generated_extracts at 1M patients, benchmarks/validate_truth.py over seeds), gives every patient
    of the default build exactly the covariates, person-time and follow-up admissions the
    warehouse gives them from the CLI's files; and the total model fitted on it is the
    warehouse's."""
    manifest = clean_build.manifest
    sim = pd.DataFrame(asthma.simulate_followup(manifest["seed"], manifest["patients"]))
    sim["patient_key"] = [hashlib.sha256(f"{DEMO_SALT}|{i}".encode()).hexdigest() for i in sim.patient_id]
    warehouse = clean_build.df(
        "select p.patient_key, p.imd_quintile, p.ethnicity_group, p.age_band, p.sex,"
        " p.followup_emergency_admissions, t.baseline_days, t.followup_days"
        " from marts.asthma_patients p inner join intermediate.int_asthma_person_time t using (patient_key)"
    )
    both = sim.merge(warehouse, on="patient_key", suffixes=("", "_warehouse"))
    assert len(both) == len(sim) == len(warehouse) == manifest["patients"]
    for c in ["imd_quintile", "ethnicity_group", "age_band", "sex", "baseline_days", "followup_days"]:
        assert (both[c].astype(str) == both[f"{c}_warehouse"].astype(str)).all(), c
    counted = both.followup_emergency_admissions == both.followup_emergency_admissions_warehouse
    assert counted.all() and both.followup_emergency_admissions.sum() > 100
    # The total model on the simulation, by the package, is the warehouse's fit.
    patients = pd.DataFrame(
        {
            "patient_key": sim.patient_key,
            **{c: sim[c] for c in R.DEMOGRAPHIC},
            R.BASELINE: 0,
            R.OUTCOME: sim.followup_emergency_admissions,
            R.EXPOSURE: sim.followup_days / 365.25,
        }
    )
    no_clusters = pd.DataFrame({"patient_key": pd.Series(dtype=str), "cluster_id": [], "cluster_label": []})
    fitted = R.rate_ratios(patients, no_clusters, rate_config(clean_build))
    fitted = fitted[fitted.model_name == "total"].reset_index(drop=True)
    db = clean_build.df(
        "select * from intermediate.int_asthma_admission_rate_ratios where model_name = 'total'"
        " order by model_family desc, term, level"
    )
    fitted = fitted.sort_values(["model_family", "term", "level"], ascending=[False, True, True])
    pd.testing.assert_frame_equal(fitted.reset_index(drop=True), db, check_dtype=False, rtol=1e-8)


def test_total_model_recovers_the_planted_total_effects(medium_build):
    """The `total` model's demographic IRRs against the total (marginal) IRRs truth.json derives.

    13 terms: IMD (4), ethnicity (5), age band (3), sex (1). With nominal 95% CIs the expected
    coverage is 12.35 of 13 and P(10 or fewer) is about 3%, so two misses are allowed; and every
    estimate must lie within a Bonferroni-simultaneous 99% interval (|z| < 3.36 for 13), which
    the conditional IRRs (IMD 2.0/1.7/1.45/1.2) or the cluster-adjusted estimates would fail.
    (benchmarks/validate_truth.py checks the coverage over seeds, test_generated_extracts the truth at
    1M patients.)"""
    planted = medium_build.truth["asthma"]["total_effect_irr"]
    rr = medium_build.df("select * from marts.asthma_admission_rate_ratios where is_primary")
    total = rr[(rr.model_name == "total") & rr.term.isin(DEMOGRAPHIC_TERMS)]
    assert len(total) == 13 and sorted(total[total.term == "imd_quintile"].level) == ["1", "2", "3", "4"]
    truth = np.array([planted[t][lv] for t, lv in zip(total.term, total.level)])
    covered = ((total.ci_lower <= truth) & (truth <= total.ci_upper)).sum()
    assert covered >= 11, total.assign(planted=truth)
    z = np.abs(np.log(total.irr) - np.log(truth)) / total.std_error
    assert (z < stats.norm.ppf(1 - 0.01 / 26)).all(), total.assign(planted=truth, z=z)
    # The inequality estimate is the total effect: larger than the within-cluster effect; the most
    # deprived fifth's total IRR is about 2.5 (the figure), the conditional one 2.0.
    imd = total[total.term == "imd_quintile"].set_index("level").irr
    adjusted = rr[(rr.model_name == "cluster_adjusted") & (rr.term == "imd_quintile")].set_index("level").irr
    assert (imd > adjusted[imd.index]).all()
    assert planted["imd_quintile"]["1"] == pytest.approx(2.49, abs=0.01) and imd["1"] > 2.2
    # Age band and sex are drawn independently of deprivation and phenotype: total = planted.
    asthma = medium_build.truth["asthma"]
    assert planted["age_band"] == asthma["emergency_admission_irr"]["age_band"]


def test_cluster_adjusted_model_estimates_a_within_cluster_effect(medium_build):
    """`cluster_adjusted` conditions on clusters built from baseline utilisation (exacerbations,
    admissions), which the planted IMD, ethnicity and age effects also drive. Its demographic
    IRRs are therefore neither the planted conditional IRRs (the clusters only approximate the
    phenotype, and conditioning on them also takes out part of the direct effects: at 100k the
    55+ IRR is about 2.7 against 2.92 planted) nor the total ones. What holds: the deprivation
    IRRs are above 1, rise with deprivation and lie nearer the conditional (within-phenotype)
    IRRs than the total ones; the cluster terms order as the phenotypes do."""
    asthma = medium_build.truth["asthma"]
    conditional = asthma["emergency_admission_irr"]["imd_quintile"]
    total = asthma["total_effect_irr"]["imd_quintile"]
    rr = medium_build.df(
        "select * from marts.asthma_admission_rate_ratios where model_name = 'cluster_adjusted' and is_primary"
    )
    imd = rr[rr.term == "imd_quintile"].set_index("level").irr
    assert (imd > 1).all() and imd["1"] > imd["2"] > imd["3"] > imd["4"]
    for q in ["1", "2", "3", "4"]:
        assert abs(np.log(imd[q] / conditional[q])) < abs(np.log(imd[q] / total[q])), (q, imd[q])
    cl = rr[rr.term == "cluster"].set_index("level").irr
    assert (cl > 1).all() and cl.idxmax().endswith("high utilisation")
    q = rr.model_question.iloc[0]
    assert "Within-cluster" in q and "on the path" in q


def _simulated_admissions(truth: dict, frame: pd.DataFrame, replicates: int, seed: int = 0) -> pd.DataFrame:
    """Follow-up admissions drawn afresh from the generator's planted law for the mart's patients
    (their planted phenotype, covariates and person-time): rate = base x IRRs x P(admission per
    exacerbation) x gamma frailty (truth frailty_alpha), plus Binomial(admissions, p_readmit_30d)
    readmissions. A deterministic Monte Carlo of the process, without its seasonality and edge
    rules (a readmission needs 30 days left to fall in)."""
    irr = truth["emergency_admission_irr"]
    rate = (
        truth["base_exacerbation_rate_per_person_year"]
        * truth["p_admit_per_exacerbation"]
        * frame.phenotype.map(irr["phenotype"])
        * frame.imd_quintile.map(irr["imd_quintile"])
        * frame.ethnicity_group.map(irr["ethnicity_group"])
        * frame.age_band.map(irr["age_band"])
        * frame.sex.map(irr["sex"])
        * frame[R.EXPOSURE]
    ).to_numpy()
    a, p = truth["frailty_alpha"], truth["p_readmit_30d"]
    rng = np.random.default_rng(seed)
    sims = []
    for _ in range(replicates):
        admissions = rng.poisson(rate * rng.gamma(1 / a, a, len(frame)))
        sims.append(frame.assign(**{R.OUTCOME: (admissions + rng.binomial(admissions, p)).astype(float)}))
    return pd.concat(sims, ignore_index=True)


def test_lr_test_picks_the_negative_binomial_and_alpha_matches_the_planted_dispersion(medium_build):
    """At 100k patients the boundary-corrected LR test picks the negative binomial for every model.

    The planted frailty (alpha 0.5) is the dispersion of exacerbations given phenotype. Admission
    counts given only the demographics also mix over the three phenotypes and add 30-day
    readmissions (a compound count), so the alpha the `total` model should estimate is what the
    same NB2 fit gives on admissions drawn from the planted law: its 95% CI must cover that
    (4 simulated replicates of the cohort: Monte Carlo SE about half the CI's). A check on the
    simulation itself: with readmissions and phenotype mixing taken out (phenotype-adjusted model,
    readmission probability 0) the same fit returns the planted frailty."""
    diag = medium_build.df("select * from marts.asthma_model_diagnostics where model_type = 'rate ratio'")
    assert len(diag) == 6 and set(diag.model_name) == {"total", "cluster_adjusted", "original_notebook"}
    assert (diag.chosen_family == "negative_binomial").all() and (diag.lr_p_value < 1e-50).all()
    assert (diag.is_primary == (diag.model_family == "negative_binomial")).all()
    assert (diag.negative_binomial_aic < diag.poisson_aic).all()
    nb_total = diag[(diag.model_name == "total") & (diag.model_family == "negative_binomial")].iloc[0]
    # The LR statistic is twice the log-likelihood gap of the two families' fits.
    ll = (
        medium_build.df(
            "select distinct model_family, log_likelihood from marts.asthma_admission_rate_ratios"
            " where model_name = 'total'"
        )
        .set_index("model_family")
        .log_likelihood
    )
    assert nb_total.lr_statistic == pytest.approx(2 * (ll["negative_binomial"] - ll["poisson"]), rel=1e-9)
    assert nb_total.lr_p_value == pytest.approx(0.5 * stats.chi2.sf(nb_total.lr_statistic, 1), rel=1e-9)

    patients = medium_build.df("select * from marts.asthma_patients")
    clusters = medium_build.df("select * from marts.asthma_patient_clusters")
    # In key order: the seeded simulation below draws patient by patient, so a row order that a
    # parallel scan may change would change its draws.
    frame = (
        R.model_frame(patients, clusters)
        .merge(planted_phenotypes(medium_build), on="patient_key")
        .sort_values("patient_key", kind="mergesort")
        .reset_index(drop=True)
    )
    exact = medium_build.df(
        "select distinct n from intermediate.int_asthma_admission_rate_ratios where model_name = 'total'"
    )
    assert [len(frame)] == exact.n.tolist() and nb_total.n == round(len(frame) / 5) * 5
    cfg = rate_config(medium_build)
    ref = R.reference_levels(frame, cfg)
    levels = {c: sorted(frame[c].unique()) for c in R.DEMOGRAPHIC}
    truth = medium_build.truth["asthma"]
    sim = _simulated_admissions(truth, frame, replicates=4)
    implied = R.fit_model(sim, "total", R.MODELS["total"], levels, ref, cfg).alpha.iloc[0]
    assert nb_total.alpha_ci_lower <= implied <= nb_total.alpha_ci_upper, (implied, nb_total)
    assert implied > 1.5 * truth["frailty_alpha"]  # not the exacerbation frailty

    # The simulation's own check: frailty only, phenotype as the cluster term.
    sim = _simulated_admissions(truth | {"p_readmit_30d": 0.0}, frame, replicates=4, seed=1)
    sim["cluster"] = sim["phenotype"]
    levels["cluster"] = sorted(sim.cluster.unique())
    ref["cluster"] = "controlled"
    fit = R.fit_model(sim, "cluster_adjusted", ["cluster", *R.DEMOGRAPHIC], levels, ref, cfg)
    assert fit.alpha_ci_lower.iloc[0] <= truth["frailty_alpha"] <= fit.alpha_ci_upper.iloc[0]


def test_a_model_without_enough_patients_says_why_and_the_build_goes_on(clean_build, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(clean_build.db, db)
    r = dbt(
        ["build", "--select", "int_asthma_admission_rate_ratios+", *NO_UNIT_TESTS],
        db,
        tmp_path,
        {"raw_dir": str(clean_build.raw_dir), "rate_model_min_patients": 10**9},
    )
    assert r.returncode == 0, r.stdout[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        rr = con.sql("select * from marts.asthma_admission_rate_ratios").df()
        diag = con.sql("select * from marts.asthma_model_diagnostics where model_type = 'rate ratio'").df()
    assert len(rr) == 6 and (rr.term == "no estimate").all() and rr.irr.isna().all()
    assert rr.estimate_status.str.fullmatch(
        r"not estimated: \d+ patients in the model, fewer than min_patients \(1000000000\)"
    ).all()
    assert len(diag) == 6 and not diag.is_primary.any()


def test_forest_plot_leads_with_the_total_model_and_offers_the_others(clean_build):
    rr = clean_build.df("select * from marts.asthma_admission_rate_ratios")
    with duckdb.connect(str(clean_build.db), read_only=True) as con:
        settings = report.Settings.from_warehouse(con)
    chart = report.forest_plot(rr, settings)
    # The caption dates the follow-up from the build's vars, not from a copy in the report.
    assert f"follow-up ({settings.followup_years})" in chart.caption
    traces = chart.figure.data
    assert [t.name.rsplit(", ", 1)[0] for t in traces] == list(report.FOREST_MODELS.values())
    assert traces[0].visible is True and all(t.visible is False for t in traces[1:])
    # The headline view lists the total model's rows only: none empty, each named for a reader.
    layout = chart.figure.layout.yaxis
    assert len(layout.tickvals) == len(traces[0].x) and None not in traces[0].y
    assert "IMD quintile 1 (most deprived) vs 5 (least deprived)" in layout.ticktext
    assert not any("cluster" in t for t in layout.ticktext)
    total = rr[(rr.model_name == "total") & rr.is_primary & (rr.term != "intercept")]
    np.testing.assert_allclose(sorted(traces[0].x), sorted(total.irr))
    assert traces[0].name.endswith(total.model_family.iloc[0].replace("_", " "))
    buttons = chart.figure.layout.updatemenus[0].buttons
    assert [b.args[0]["visible"] for b in buttons] == [
        [True, False, False],
        [False, True, False],
        [False, False, True],
        [True, True, True],
    ]
    assert "total-effect" in chart.caption
