"""Rate ratios of follow-up emergency asthma admissions: the total, cluster-adjusted and
original-notebook models, each as Poisson and negative binomial, the family chosen by a
boundary-corrected likelihood-ratio test. Thin: see health_equity.rates."""

from health_equity.rates import RateModelConfig, rate_ratios


def model(dbt, session):
    dbt.config(materialized="table")
    patients = dbt.ref("asthma_patients").df()
    clusters = dbt.ref("asthma_patient_clusters").df()
    return rate_ratios(patients, clusters, RateModelConfig.from_mapping(dbt.config.get("rate_model")))
