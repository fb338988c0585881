"""Rate ratios of follow-up emergency asthma admissions: the total, cluster-adjusted and
original-notebook models, each as Poisson and negative binomial, the family chosen by a
boundary-corrected likelihood-ratio test. Thin: see health_equity.rates."""

from health_equity.rates import RateModelConfig, rate_ratios
from health_equity.relations import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    patients = to_pandas(dbt.ref("asthma_patients"))
    clusters = to_pandas(dbt.ref("asthma_patient_clusters"))
    return rate_ratios(patients, clusters, RateModelConfig.from_mapping(dbt.config.get("rate_model")))
