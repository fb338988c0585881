"""Rate ratios of follow-up emergency asthma admissions (Poisson GLM with a person-time offset;
negative binomial beside it when overdispersed). Thin: see health_equity.rates."""

from health_equity.rates import RateModelConfig, rate_ratios


def model(dbt, session):
    dbt.config(materialized="table")
    patients = dbt.ref("asthma_patients").df()
    clusters = dbt.ref("asthma_patient_clusters").df()
    return rate_ratios(patients, clusters, RateModelConfig.from_mapping(dbt.config.get("rate_model")))
