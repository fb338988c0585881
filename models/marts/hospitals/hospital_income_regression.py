"""OLS of normalised clinical risk on log ZIP income (alone and with controls, HC3), per-tier
trend lines and correlations. Thin: the logic and its tests live in health_equity.hospital_regression."""

from health_equity.hospital_regression import income_regression


def model(dbt, session):
    dbt.config(materialized="table")
    return income_regression(dbt.ref("hospital_equity").df())
