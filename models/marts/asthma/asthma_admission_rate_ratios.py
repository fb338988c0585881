"""Rate ratios of follow-up emergency asthma admissions: the total, cluster-adjusted and
original-notebook models, each as Poisson and negative binomial, the family chosen by a
boundary-corrected likelihood-ratio test. Reads the weighted model rows of
int_asthma_rate_model_rows (bounded by the combinations of covariate values, not by the number
of patients). Thin: see health_equity.rates."""

from health_equity.rates import RateModelConfig, fit_rate_ratios
from health_equity.relations import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    rows = to_pandas(dbt.ref("int_asthma_rate_model_rows"))
    return fit_rate_ratios(rows, RateModelConfig.from_mapping(dbt.config.get("rate_model")))
