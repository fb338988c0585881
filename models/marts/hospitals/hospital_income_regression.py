"""OLS of every hospital score on log ZIP income (all, without territories, with controls; HC3),
per-tier trend lines and correlations. Thin: the logic and its tests live in
health_equity.stats.hospital_regression."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.hospital_regression import RegressionConfig, income_regression


def model(dbt, session):
    dbt.config(materialized="table")
    scores = to_pandas(dbt.ref("hospital_scores"), order_by=["facility_id", "score_name"])
    return income_regression(scores, RegressionConfig.from_mapping(dbt.config.get("regression")))
