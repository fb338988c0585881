"""health_equity.stats.rates, nb_quadrature and rate_rows on simulated data with known answers (no warehouse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

from health_equity.stats import nb_quadrature as Q
from health_equity.stats import rates as R

# The project's settings are dbt vars (rate_model_*, rate_ratio_reference); these tests state theirs.
REFERENCE = {"imd_quintile": "5", "ethnicity_group": "White", "age_band": "18-54", "sex": "M"}
CFG = R.RateModelConfig(lr_test_level=0.05, min_patients=100, reference=REFERENCE)
FLAT = {"lr_test_level": 0.05, "min_patients": 100, **{f"reference_{k}": v for k, v in REFERENCE.items()}}


def simulate(n=20_000, alpha=0.0, seed=0, base=0.05):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "patient_key": [f"p{i}" for i in range(n)],
            "imd_quintile": rng.integers(1, 6, n),
            "ethnicity_group": rng.choice(
                ["White", "Asian/Asian British", "Black/Black British"], n, p=[0.8, 0.1, 0.1]
            ),
            "age_band": rng.choice(["0-4", "5-17", "18-54", "55+"], n),
            "sex": rng.choice(["M", "F"], n),
            "baseline_emergency_admissions": rng.poisson(0.2, n),
            # Whole days, as the warehouse counts follow-up: a full year or a part of it.
            "followup_person_years": np.where(rng.random(n) < 0.8, 366, rng.integers(18, 366, n)) / 365.25,
        }
    )
    clusters = pd.DataFrame({"patient_key": df.patient_key, "cluster_id": rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])})
    clusters["cluster_label"] = clusters.cluster_id.map({1: "low", 2: "mid", 3: "high"})
    irr = {"imd": {1: 2.0, 2: 1.6, 3: 1.3, 4: 1.1, 5: 1.0}, "cluster": {1: 1.0, 2: 3.0, 3: 6.0}}
    mu = (
        base
        * df.imd_quintile.map(irr["imd"])
        * clusters.cluster_id.map(irr["cluster"])
        * np.where(df.sex == "F", 1.2, 1.0)
        * df.followup_person_years
    )
    frailty = rng.gamma(1 / alpha, alpha, n) if alpha > 0 else 1.0
    df["followup_emergency_admissions"] = rng.poisson(mu * frailty)
    return df, clusters, irr


def prepared(df, clusters, model="cluster_adjusted"):
    frame = R.model_frame(df, clusters)
    ref = R.reference_levels(frame, CFG)
    levels = {c: sorted(frame[c].unique()) for c in R.CATEGORICAL}
    return frame, ref, levels, R.MODELS[model]


def test_the_models_are_the_three_named_questions():
    assert R.MODELS["total"] == ["imd_quintile", "ethnicity_group", "age_band", "sex"]
    assert set(R.MODELS["cluster_adjusted"]) == {"cluster", *R.MODELS["total"], R.BASELINE}
    assert R.MODELS["original_notebook"] == ["cluster", R.BASELINE]
    assert set(R.MODEL_QUESTIONS) == set(R.MODELS)


def test_collapsed_cells_equal_the_patient_level_poisson_fit():
    df, clusters, _ = simulate()
    frame, ref, levels, cov = prepared(df, clusters)
    cells = R.fit_poisson_cells(frame, cov, levels, ref)
    x = R.design(frame, cov, levels, ref)
    patient = sm.GLM(frame[R.OUTCOME], x, family=sm.families.Poisson(), offset=np.log(frame[R.EXPOSURE])).fit()
    assert len(R.collapse(frame, cov)) < len(frame) / 5
    np.testing.assert_allclose(cells.params, patient.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(cells.bse, patient.bse, rtol=0, atol=1e-8)
    # Fit statistics on weighted unique rows equal the patient-level ones.
    rows = R.unique_rows(frame, cov)
    assert rows.weight.sum() == len(frame) and len(rows) < len(frame)
    stats_ = R.patient_fit_stats(rows, R.design(rows, cov, levels, ref), cells.params, "poisson", None)
    assert stats_["pearson_chi2"] == pytest.approx(patient.pearson_chi2, rel=1e-9)
    assert stats_["log_likelihood"] == pytest.approx(patient.llf, rel=1e-9)
    assert stats_["aic"] == pytest.approx(patient.aic, rel=1e-9)


def test_negative_binomial_on_weighted_unique_rows_equals_statsmodels_patient_level_fit():
    df, clusters, _ = simulate(n=8_000, alpha=0.8, base=0.8, seed=5)
    frame, ref, levels, cov = prepared(df, clusters, "total")
    rows = R.unique_rows(frame, cov)
    nb = Q.fit_negative_binomial(
        rows, R.design(rows, cov, levels, ref), start=np.zeros(len(R.design(rows, cov, levels, ref).columns))
    )
    x = R.design(frame, cov, levels, ref)
    offset = np.log(frame[R.EXPOSURE])
    ref_fit = sm.NegativeBinomial(frame[R.OUTCOME], x, offset=offset, loglike_method="nb2").fit(
        disp=0, method="newton", maxiter=100, tol=1e-12
    )
    assert nb.alpha == pytest.approx(ref_fit.params["alpha"], rel=1e-5)
    np.testing.assert_allclose(nb.result.params, ref_fit.params[x.columns], rtol=0, atol=1e-5)
    np.testing.assert_allclose(nb.result.bse, ref_fit.bse[x.columns], rtol=1e-2)
    assert nb.log_likelihood == pytest.approx(ref_fit.llf, abs=1e-6)
    # The GLM at the estimated alpha (what statsmodels reports for a fixed alpha) has the same SEs.
    glm = sm.GLM(frame[R.OUTCOME], x, family=sm.families.NegativeBinomial(alpha=nb.alpha), offset=offset).fit(tol=1e-12)
    np.testing.assert_allclose(nb.result.bse, glm.bse, rtol=1e-6)
    # The profile-likelihood CI: logL drops by chi2_1(0.95)/2 at each limit, computed by statsmodels.
    for limit in nb.alpha_ci:
        at = sm.GLM(frame[R.OUTCOME], x, family=sm.families.NegativeBinomial(alpha=limit), offset=offset)
        llf = at.fit(tol=1e-12).llf
        assert 2 * (nb.log_likelihood - llf) == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-4)


def test_negative_binomial_alpha_is_the_root_of_the_profile_score_whatever_the_row_order():
    df, clusters, _ = simulate(n=8_000, alpha=0.8, base=0.8, seed=5)
    frame, ref, levels, cov = prepared(df, clusters, "total")
    rows = R.unique_rows(frame, cov)

    def fit(r):
        x = R.design(r, cov, levels, ref)
        return Q.fit_negative_binomial(r, x, start=np.zeros(len(x.columns))), x

    nb, x = fit(rows)
    shuffled, _ = fit(rows.sample(frac=1.0, random_state=3).reset_index(drop=True))
    assert shuffled.alpha == pytest.approx(nb.alpha, rel=1e-10)
    # The analytic score agrees with a central difference of the log-likelihood in log(alpha)...
    y, w = rows[R.OUTCOME].to_numpy(float), rows["weight"].to_numpy(float)
    mu = np.exp(x.to_numpy(float) @ nb.result.params.to_numpy() + np.log(rows[R.EXPOSURE].to_numpy(float)))
    for a in (0.3, nb.alpha, 2.0):
        h = 1e-5
        numeric = (Q.nb2_loglik(y, mu, a * np.exp(h), w) - Q.nb2_loglik(y, mu, a * np.exp(-h), w)) / (2 * h)
        assert Q.nb2_score_log_alpha(y, mu, a, w) == pytest.approx(numeric, rel=1e-5, abs=1e-4)
    # ...and vanishes at the estimate, relative to its size one step of 1e-3 in log(alpha) away.
    away = abs(Q.nb2_score_log_alpha(y, mu, nb.alpha * np.exp(1e-3), w))
    assert abs(Q.nb2_score_log_alpha(y, mu, nb.alpha, w)) < 1e-6 * away


def test_lr_test_recomputed_from_an_independent_scipy_likelihood():
    # Small NB frame with a known answer: maximise the NB2 likelihood written with scipy.stats.nbinom
    # (mean mu, size 1/alpha) over (beta, log alpha) directly, and the Poisson one with poisson.logpmf.
    rng = np.random.default_rng(11)
    n = 3_000
    x1 = rng.integers(0, 2, n)
    t = rng.uniform(0.5, 1.5, n)
    y = rng.poisson(0.6 * np.exp(0.7 * x1) * t * rng.gamma(2.0, 0.5, n))  # alpha = 0.5
    df = pd.DataFrame(
        {
            "patient_key": [f"p{i}" for i in range(n)],
            "imd_quintile": np.where(x1 == 1, "1", "5"),
            "ethnicity_group": "White",
            "age_band": "18-54",
            "sex": "M",
            "baseline_emergency_admissions": 0,
            "followup_person_years": t,
            "followup_emergency_admissions": y,
        }
    )
    clusters = pd.DataFrame({"patient_key": df.patient_key, "cluster_id": 1, "cluster_label": "all"})
    out = R.rate_ratios(df, clusters, CFG)
    tot = out[(out.model_name == "total") & (out.model_family == "negative_binomial")]

    def nb_negll(theta):
        mu = np.exp(theta[0] + theta[1] * x1) * t
        a = np.exp(theta[2])
        return -stats.nbinom.logpmf(y, 1 / a, 1 / (1 + a * mu)).sum()

    def pois_negll(theta):
        return -stats.poisson.logpmf(y, np.exp(theta[0] + theta[1] * x1) * t).sum()

    nb = optimize.minimize(
        nb_negll, [0.0, 0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20_000}
    )
    po = optimize.minimize(pois_negll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10})
    lr = 2 * (po.fun - nb.fun)
    assert tot.lr_statistic.iloc[0] == pytest.approx(lr, abs=1e-3)
    assert tot.lr_p_value.iloc[0] == pytest.approx(0.5 * stats.chi2.sf(lr, 1), rel=1e-3)
    assert tot.alpha.iloc[0] == pytest.approx(np.exp(nb.x[2]), rel=1e-3)
    irr = tot[tot.term == "imd_quintile"].irr.iloc[0]
    assert irr == pytest.approx(np.exp(nb.x[1]), rel=1e-4)
    assert tot.is_primary.all() and (tot.chosen_family == "negative_binomial").all()
    assert tot.alpha_ci_lower.iloc[0] < 0.5 < tot.alpha_ci_upper.iloc[0]


def test_boundary_corrected_p_is_half_the_chi2_1_tail():
    # chi2(1) exceeds 2.7055 with probability 0.10, so the mixture gives 0.05; 3.8415 gives 0.025.
    assert R.lr_test(1.35277, 0.0)[1] == pytest.approx(0.05, abs=1e-5)
    assert R.lr_test(-10.0 + 3.8415 / 2, -10.0) == pytest.approx((3.8415, 0.025), abs=1e-5)
    assert R.lr_test(-5.0, -5.0) == (0.0, 1.0)  # no improvement: Poisson
    assert R.lr_test(-5.0 - 1e-9, -5.0) == (0.0, 1.0)  # optimiser noise is clipped at 0


def test_poisson_recovers_planted_rate_ratios_and_the_lr_test_keeps_it_without_overdispersion():
    df, clusters, irr = simulate(n=60_000)
    out = R.rate_ratios(df, clusters, CFG)
    assert set(out.model_name) == {"total", "cluster_adjusted", "original_notebook"}
    adj = out[out.model_name == "cluster_adjusted"]
    assert set(adj.model_family) == {"poisson", "negative_binomial"}
    assert (adj.chosen_family == "poisson").all() and adj.lr_p_value.iloc[0] >= 0.05
    assert adj[adj.model_family == "poisson"].is_primary.all()
    assert not adj[adj.model_family == "negative_binomial"].is_primary.any()
    assert adj.dispersion.iloc[0] < 1.1 and adj.alpha_ci_lower.iloc[0] == 0.0
    imd = adj[(adj.term == "imd_quintile") & (adj.model_family == "poisson")].set_index("level")
    for q in range(1, 5):
        assert imd.loc[str(q), "ci_lower"] < irr["imd"][q] < imd.loc[str(q), "ci_upper"]
    cl = adj[(adj.term == "cluster") & (adj.model_family == "poisson")].set_index("level")
    assert cl.loc["2: mid", "ci_lower"] < 3.0 < cl.loc["2: mid", "ci_upper"]
    # The largest cluster is the reference by default.
    assert (cl.reference_level == "1: low").all()


def test_overdispersion_makes_the_negative_binomial_primary_and_estimates_alpha():
    df, clusters, irr = simulate(n=30_000, alpha=0.8, base=0.8, seed=3)
    out = R.rate_ratios(df, clusters, CFG)
    adj = out[out.model_name == "cluster_adjusted"]
    nb = adj[adj.model_family == "negative_binomial"]
    assert nb.is_primary.all() and not adj[adj.model_family == "poisson"].is_primary.any()
    assert nb.lr_p_value.iloc[0] < 1e-10
    assert nb.alpha_ci_lower.iloc[0] < 0.8 < nb.alpha_ci_upper.iloc[0]
    assert nb.dispersion.iloc[0] == pytest.approx(1.0, abs=0.1)  # NB variance fits
    assert nb.negative_binomial_aic.iloc[0] < nb.poisson_aic.iloc[0]
    imd = nb[nb.term == "imd_quintile"].set_index("level")
    covered = sum(imd.loc[str(q), "ci_lower"] < irr["imd"][q] < imd.loc[str(q), "ci_upper"] for q in range(1, 5))
    assert covered >= 3
    # NB CIs are wider than the (overconfident) Poisson ones.
    pois = adj[(adj.model_family == "poisson") & (adj.term == "imd_quintile")]
    assert (nb[nb.term == "imd_quintile"].std_error.to_numpy() > pois.std_error.to_numpy()).all()


def test_too_few_patients_or_no_events_write_a_row_that_says_why():
    df, clusters, _ = simulate(n=40)
    out = R.rate_ratios(df, clusters, CFG)
    assert len(out) == 6 and (out.term == "no estimate").all() and not out.is_primary.any()
    assert out.estimate_status.str.contains("40 patients in the model, fewer than min_patients").all()
    assert out.irr.isna().all()
    df, clusters, _ = simulate(n=500)
    df["followup_emergency_admissions"] = 0
    out = R.rate_ratios(df, clusters, CFG)
    assert len(out) == 6 and out.estimate_status.str.contains("no follow-up emergency admissions").all()
    # A model whose design cannot be estimated (no patient had a baseline admission) says so and
    # the model without that covariate is still estimated.
    df, clusters, _ = simulate(n=3000, base=0.3)
    df["baseline_emergency_admissions"] = 0
    out = R.rate_ratios(df, clusters, CFG)
    status = out.groupby("model_name").estimate_status.first()
    assert status["total"] == "estimated"
    for m in ("cluster_adjusted", "original_notebook"):
        assert status[m].startswith("not estimated: fit failed (the design has") and "rank" in status[m]


def test_references_are_configurable_and_checked():
    df, clusters, _ = simulate(n=5000)
    cfg = R.RateModelConfig.from_mapping(
        {**FLAT, "reference_imd_quintile": 1, "lr_test_level": "0.01", "min_patients": "10"}
    )
    out = R.rate_ratios(df, clusters, cfg)
    assert (out[out.term == "imd_quintile"].reference_level == "1").all()
    assert (out[out.term == "imd_quintile"].irr < 1).all()
    assert out.lr_test_level.iloc[0] == 0.01 and cfg.min_patients == 10
    with pytest.raises(ValueError, match="reference level 'Martian'"):
        R.rate_ratios(df, clusters, R.RateModelConfig.from_mapping({**FLAT, "reference_ethnicity_group": "Martian"}))
    with pytest.raises(KeyError, match="followup_person_years"):
        R.rate_ratios(df.drop(columns="followup_person_years"), clusters, CFG)


def test_same_input_gives_identical_output():
    df, clusters, _ = simulate(n=5000, alpha=0.8, base=0.8)
    pd.testing.assert_frame_equal(R.rate_ratios(df, clusters, CFG), R.rate_ratios(df, clusters, CFG))


def test_weighted_model_rows_give_the_patient_level_fit_and_are_far_fewer():
    """The weighted rows (what int_asthma_rate_model_rows holds) are an exact reduction: every
    model fitted from them equals the same model fitted on one row per patient."""
    df, clusters, _ = simulate(n=20_000, alpha=0.8, base=0.8, seed=7)
    rows = R.model_rows(df, clusters)
    assert rows.weight.sum() == len(df) and len(rows) < len(df) / 2
    assert list(rows.columns) == [*R.ROW_COLUMNS, "weight"]
    weighted = R.weighted_frame(rows)
    patient = R.model_frame(df, clusters)
    ref = R.reference_levels(patient, CFG)
    assert R.reference_levels(weighted, CFG) == ref
    levels = {c: sorted(patient[c].unique()) for c in R.CATEGORICAL}
    for name, covariates in R.MODELS.items():
        a = R.fit_model(patient, name, covariates, levels, ref, CFG)
        b = R.fit_model(weighted, name, covariates, levels, ref, CFG)
        assert (a.n == len(df)).all() and (b.n == len(df)).all()
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12)


def test_model_rows_in_any_order_give_identical_output():
    df, clusters, _ = simulate(n=5000, alpha=0.8, base=0.8, seed=2)
    rows = R.model_rows(df, clusters)
    shuffled = rows.sample(frac=1, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(R.fit_rate_ratios(rows, CFG), R.fit_rate_ratios(shuffled, CFG), check_exact=True)


def test_the_project_settings_have_no_defaults_in_the_package():
    with pytest.raises(TypeError):
        R.RateModelConfig()
    with pytest.raises(KeyError, match="lr_test_level, min_patients"):
        R.RateModelConfig.from_mapping({f"reference_{k}": v for k, v in REFERENCE.items()})
    with pytest.raises(ValueError, match="no reference level for sex"):
        R.RateModelConfig.from_mapping({k: v for k, v in FLAT.items() if k != "reference_sex"})
    cfg = R.RateModelConfig.from_mapping({**FLAT, "lr_test_level": "0.01"})
    assert (cfg.lr_test_level, cfg.min_patients, cfg.reference) == (0.01, 100, REFERENCE)


def test_gauss_rule_reproduces_the_power_sums_and_gives_few_points_back_exactly():
    rng = np.random.default_rng(3)
    days = rng.integers(1, 367, 500)
    for order in (1, 2, 3, 6):
        sums = [int(np.sum(days.astype(object) ** k)) for k in range(2 * order)]
        nodes, weights = Q.gauss_rule(sums)
        assert len(nodes) == order and (weights > 0).all()
        for k in range(2 * order):  # the rule's own power sums are the points' (degree 2K - 1)
            np.testing.assert_allclose(np.sum(weights * nodes**k), float(sums[k]), rtol=1e-11)
    # Three distinct lengths (with repeats) under a six-node rule: the points and their counts.
    few = np.array([366] * 40 + [200] * 3 + [17])
    nodes, weights = Q.gauss_rule([int(np.sum(few.astype(object) ** k)) for k in range(12)])
    np.testing.assert_allclose(nodes, [17, 200, 366], rtol=1e-12)
    np.testing.assert_allclose(weights, [1, 3, 40], rtol=1e-10)


def test_quadrature_cells_give_the_patient_level_fit_from_far_fewer_rows():
    """The cells of int_asthma_rate_model_rows (one per covariates x count, with power sums of
    follow-up days) give the exact patient-level fit (weighted rows of identical patients, no
    quadrature) to 1e-7, though many cells hold more distinct follow-up lengths than nodes. The
    quadrature error grows with alpha x rate (log(1 + alpha mu) bends more over a year): here
    alpha 0.8 and rates up to ~3 a year, far above the asthma data's (~0.05), where it is ~1e-12."""
    df, clusters, _ = simulate(n=20_000, alpha=0.8, base=0.2, seed=7)
    cells = Q.model_cells(df, clusters, nodes=6, days_per_year=365.25)
    exact_rows = R.model_rows(df, clusters)
    assert cells.weight.sum() == len(df) and len(cells) < len(exact_rows)
    frame = R.model_frame(df, clusters)
    distinct = frame.groupby(R.CELL_KEYS, observed=True)[R.EXPOSURE].nunique()
    assert (distinct > 6).sum() > 100
    quadrature = R.fit_rate_ratios(cells, CFG)
    exact = R.fit_rate_ratios(exact_rows, CFG)
    assert (quadrature.estimate_status == "estimated").all()
    pd.testing.assert_frame_equal(quadrature, exact, check_exact=False, rtol=1e-7, atol=1e-8)
    # Shuffled cells: the same table to the last bit.
    shuffled = cells.sample(frac=1, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(R.fit_rate_ratios(shuffled, CFG), quadrature, check_exact=True)


def test_model_cells_need_whole_days_and_every_power_sum():
    df, clusters, _ = simulate(n=500, seed=4)
    with pytest.raises(ValueError, match="whole days"):
        Q.model_cells(df.assign(followup_person_years=df.followup_person_years + 1e-3), clusters, 6, 365.25)
    cells = Q.model_cells(df, clusters, nodes=3, days_per_year=365.25)
    with pytest.raises(KeyError, match="power_sum"):
        R.fit_rate_ratios(cells.drop(columns=f"{R.POWER_SUM}5"), CFG)
    with pytest.raises(KeyError, match=R.SUM_LOG):
        R.fit_rate_ratios(cells.drop(columns=R.SUM_LOG), CFG)


def without_clusters(df, clusters, share, seed=0):
    """The clusters table with ``share`` of the patients left unclustered, as
    asthma_patient_clusters leaves them: no cluster_id, the reason as the label. Which patients is
    made to depend on deprivation and admissions, so that a model fitted on the clustered patients
    only gives different IRRs from one fitted on everyone."""
    rng = np.random.default_rng(seed)
    p = share * (0.5 + (df.imd_quintile == 1) + 0.5 * (df.followup_emergency_admissions > 0)).to_numpy()
    out = clusters.copy()
    unclustered = rng.random(len(df)) < p
    out["cluster_id"] = out.cluster_id.astype(float).where(~unclustered)
    out.loc[unclustered, "cluster_label"] = "not clustered: under 0.25 baseline person-years"
    return out, unclustered


def test_the_total_model_fits_every_patient_and_the_cluster_models_only_the_clustered():
    df, clusters, _ = simulate(n=20_000, alpha=0.8, base=0.2, seed=9)
    partial, unclustered = without_clusters(df, clusters, 0.1)
    assert 0.05 < unclustered.mean() < 0.2
    out = R.rate_ratios(df, partial, CFG)
    assert (out.estimate_status == "estimated").all()
    by_model = out.groupby("model_name")[["n", "events", "model_population"]].first()
    assert by_model.loc["total", "n"] == len(df)
    assert by_model.loc["total", "events"] == df.followup_emergency_admissions.sum()
    for m in ("cluster_adjusted", "original_notebook"):
        assert by_model.loc[m, "n"] == (~unclustered).sum()
        assert by_model.loc[m, "events"] == df.followup_emergency_admissions[~unclustered].sum()
        assert by_model.loc[m, "model_population"] == R.CLUSTERED_PATIENTS
    assert by_model.loc["total", "model_population"] == R.EVERY_PATIENT
    # The total model is the patient-level fit on everyone (statsmodels), not on the clustered.
    frame = R.model_frame(df, partial)
    assert len(frame) == len(df) and frame.cluster.isna().sum() == unclustered.sum()
    levels = {c: sorted(frame[c].dropna().unique()) for c in R.CATEGORICAL}
    ref = R.reference_levels(frame, CFG)
    total = out[(out.model_name == "total") & (out.model_family == "poisson")]
    names = np.where(total.term == "intercept", "intercept", total.term + "=" + total.level)

    def poisson(rows, covariates):
        x = R.design(rows, covariates, levels, ref)
        glm = sm.GLM(rows[R.OUTCOME], x, family=sm.families.Poisson(), offset=np.log(rows[R.EXPOSURE]))
        return glm.fit(tol=1e-12).params

    everyone = poisson(frame, R.MODELS["total"])
    np.testing.assert_allclose(total.estimate, everyone[names], rtol=0, atol=1e-8)
    clustered_only = poisson(frame[~unclustered], R.MODELS["total"])
    # ...which differs from the fit on the clustered patients far beyond that tolerance.
    assert np.max(np.abs(everyone[names] - clustered_only[names])) > 0.01
    # The cluster-adjusted model: the fit on the clustered patients.
    adjusted = out[(out.model_name == "cluster_adjusted") & (out.model_family == "poisson")]
    names = np.where(adjusted.term.isin(["intercept", R.BASELINE]), adjusted.term, adjusted.term + "=" + adjusted.level)
    population = R.model_population(frame, "cluster_adjusted")
    assert len(population) == (~unclustered).sum() and population.cluster.notna().all()
    expected = poisson(population, R.MODELS["cluster_adjusted"])
    np.testing.assert_allclose(adjusted.estimate, expected[names], rtol=0, atol=1e-8)
    # The same from the weighted rows and from the quadrature cells (what the warehouse reads),
    # in any order.
    rows = R.model_rows(df, partial)
    assert rows.weight.sum() == len(df) and rows.cluster_id.isna().any()
    pd.testing.assert_frame_equal(R.fit_rate_ratios(rows, CFG), out)
    cells = Q.model_cells(df, partial, nodes=6, days_per_year=365.25)
    assert cells.weight.sum() == len(df) and (cells.cluster_label[cells.cluster_id.isna()] != "").all()
    from_cells = R.fit_rate_ratios(cells, CFG)
    pd.testing.assert_frame_equal(from_cells, out, check_exact=False, rtol=1e-7, atol=1e-8)
    shuffled = cells.sample(frac=1, random_state=2).reset_index(drop=True)
    pd.testing.assert_frame_equal(R.fit_rate_ratios(shuffled, CFG), from_cells, check_exact=True)


def test_without_any_cluster_the_total_model_is_still_estimated():
    df, clusters, _ = simulate(n=5_000, seed=4)
    none = clusters.assign(cluster_id=np.nan, cluster_label="not clustered: no k could be fitted")
    out = R.rate_ratios(df, none, CFG)
    status = out.groupby("model_name").estimate_status.first()
    assert status["total"] == "estimated"
    assert (out[out.model_name == "total"].n == len(df)).all()
    for m in ("cluster_adjusted", "original_notebook"):
        assert status[m] == "not estimated: no patient with follow-up person-time has a utilisation cluster"
        assert (out[out.model_name == m].n == 0).all()
    # A patient absent from the clusters table counts as one without a cluster.
    out = R.rate_ratios(df, clusters.iloc[: len(df) // 2], CFG)
    assert (out[out.model_name == "total"].n == len(df)).all()
    assert (out[out.model_name == "cluster_adjusted"].n == len(df) // 2).all()
