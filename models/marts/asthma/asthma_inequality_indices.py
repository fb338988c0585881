"""SII and RII of each asthma outcome across IMD quintiles (PHE method). Thin: the logic and its
tests live in health_equity.inequality."""

from health_equity.inequality import sii_by_outcome


def model(dbt, session):
    dbt.config(materialized="table")
    rates = dbt.ref("int_asthma_inequality_rates").df()
    return sii_by_outcome(rates)
