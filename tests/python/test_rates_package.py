"""health_equity.rates on simulated data with known answers (no warehouse needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from health_equity import rates as R


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
            "followup_person_years": np.where(rng.random(n) < 0.8, 366 / 365.25, rng.uniform(0.05, 1, n)),
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


def test_collapsed_cells_equal_the_patient_level_poisson_fit():
    df, clusters, _ = simulate()
    frame = R.model_frame(df, clusters)
    ref = R.reference_levels(frame, R.RateModelConfig())
    levels = {c: sorted(frame[c].unique()) for c in R.CATEGORICAL}
    cov = R.MODELS["adjusted"]
    cells = R.fit_poisson_cells(frame, cov, levels, ref)
    x = R.design(frame, cov, levels, ref)
    patient = sm.GLM(frame[R.OUTCOME], x, family=sm.families.Poisson(), offset=np.log(frame[R.EXPOSURE])).fit()
    assert len(R.collapse(frame, cov)) < len(frame) / 5
    np.testing.assert_allclose(cells.params, patient.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(cells.bse, patient.bse, rtol=0, atol=1e-8)
    stats = R.patient_fit_stats(frame, x, cells.params, "poisson", None)
    assert stats["pearson_chi2"] == pytest.approx(patient.pearson_chi2, rel=1e-9)
    assert stats["log_likelihood"] == pytest.approx(patient.llf, rel=1e-9)
    assert stats["aic"] == pytest.approx(patient.aic, rel=1e-9)


def test_poisson_recovers_planted_rate_ratios_and_stays_poisson_without_overdispersion():
    df, clusters, irr = simulate(n=60_000)
    out = R.rate_ratios(df, clusters)
    adj = out[(out.model_name == "adjusted")]
    assert set(adj.model_family) == {"poisson"} and adj.is_primary.all()
    assert adj.dispersion.iloc[0] < 1.1
    imd = adj[adj.term == "imd_quintile"].set_index("level")
    for q in range(1, 5):
        assert imd.loc[str(q), "ci_lower"] < irr["imd"][q] < imd.loc[str(q), "ci_upper"]
    cl = adj[adj.term == "cluster"].set_index("level")
    assert cl.loc["2: mid", "ci_lower"] < 3.0 < cl.loc["2: mid", "ci_upper"]
    # The largest cluster is the reference by default.
    assert (cl.reference_level == "1: low").all()


def test_overdispersion_switches_to_a_negative_binomial_that_estimates_alpha():
    df, clusters, irr = simulate(n=30_000, alpha=0.8, base=0.8, seed=3)
    out = R.rate_ratios(df, clusters)
    adj = out[out.model_name == "adjusted"]
    assert set(adj.model_family) == {"poisson", "negative_binomial"}
    nb = adj[adj.model_family == "negative_binomial"]
    assert nb.is_primary.all() and not adj[adj.model_family == "poisson"].is_primary.any()
    assert adj[adj.model_family == "poisson"].poisson_dispersion.iloc[0] > 1.5
    assert nb.alpha.iloc[0] == pytest.approx(0.8, abs=0.12)
    assert nb.dispersion.iloc[0] == pytest.approx(1.0, abs=0.1)  # NB variance fits
    imd = nb[nb.term == "imd_quintile"].set_index("level")
    covered = sum(imd.loc[str(q), "ci_lower"] < irr["imd"][q] < imd.loc[str(q), "ci_upper"] for q in range(1, 5))
    assert covered >= 3
    # NB CIs are wider than the (overconfident) Poisson ones.
    pois = adj[(adj.model_family == "poisson") & (adj.term == "imd_quintile")]
    assert (nb[nb.term == "imd_quintile"].std_error.to_numpy() > pois.std_error.to_numpy()).all()


def test_references_are_configurable_and_checked():
    df, clusters, _ = simulate(n=5000)
    cfg = R.RateModelConfig.from_mapping({"reference_imd_quintile": 1, "dispersion_threshold": "2.5"})
    out = R.rate_ratios(df, clusters, cfg)
    assert (out[out.term == "imd_quintile"].reference_level == "1").all()
    assert (out[out.term == "imd_quintile"].irr < 1).all()
    assert out.dispersion_threshold.iloc[0] == 2.5
    with pytest.raises(ValueError, match="reference level 'Martian'"):
        R.rate_ratios(df, clusters, R.RateModelConfig.from_mapping({"reference_ethnicity_group": "Martian"}))
    with pytest.raises(KeyError, match="followup_person_years"):
        R.rate_ratios(df.drop(columns="followup_person_years"), clusters)


def test_same_input_gives_identical_output():
    df, clusters, _ = simulate(n=5000, alpha=0.8, base=0.8)
    pd.testing.assert_frame_equal(R.rate_ratios(df, clusters), R.rate_ratios(df, clusters))
