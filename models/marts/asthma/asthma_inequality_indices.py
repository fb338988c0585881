"""SII and RII of each asthma outcome across IMD quintiles (PHE method), from the exact values,
withheld for an outcome with a quintile the published asthma_inequalities suppresses. Thin: the
logic and its tests live in health_equity.stats.inequality."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.inequality import quintile_measure, sii_by_outcome

KEY = ["dimension", "group_value", "outcome"]


def model(dbt, session):
    dbt.config(materialized="table")
    rates = to_pandas(dbt.ref("int_asthma_inequality_rates"), order_by=KEY)
    published = to_pandas(dbt.ref("asthma_inequalities"), order_by=KEY)
    indices = sii_by_outcome(rates, published=published)
    indices["deprivation_measure"] = quintile_measure(published)
    return indices
