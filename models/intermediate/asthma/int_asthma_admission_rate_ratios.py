"""Rate ratios of follow-up emergency asthma admissions, as fitted (exact counts; the mart
asthma_admission_rate_ratios publishes them under the disclosure policy): the total,
cluster-adjusted and original-notebook models, each as Poisson and negative binomial, the family chosen by a
boundary-corrected likelihood-ratio test. The total model is fitted on every patient with
follow-up person-time, the models with the cluster term on those with a cluster (column
model_population; n and events are each model's own). Reads the cells of
int_asthma_rate_model_rows (one per combination of covariates and admission counts, with exact
power sums of follow-up days; their number does not grow with the patients). Thin: see
health_equity.stats.rates."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.rates import RateModelConfig, fit_rate_ratios

# One row per cell (the model's unique_combination test).
CELL_KEY = [
    "cluster_id",
    "cluster_label",
    "imd_quintile",
    "ethnicity_group",
    "age_band",
    "sex",
    "baseline_emergency_admissions",
    "followup_emergency_admissions",
]


def model(dbt, session):
    dbt.config(materialized="table")
    rows = to_pandas(dbt.ref("int_asthma_rate_model_rows"), order_by=CELL_KEY)
    return fit_rate_ratios(rows, RateModelConfig.from_mapping(dbt.config.get("rate_model")))
