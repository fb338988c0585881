"""SII and RII of each asthma outcome across IMD quintiles (PHE method), from the exact values,
withheld for an outcome with a quintile the published asthma_inequalities suppresses. Thin: the
logic and its tests live in health_equity.stats.inequality."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.inequality import sii_by_outcome

KEY = ["dimension", "group_value", "outcome"]


def model(dbt, session):
    dbt.config(materialized="table")
    rates = to_pandas(dbt.ref("int_asthma_inequality_rates"), order_by=KEY)
    published = to_pandas(dbt.ref("asthma_inequalities"), order_by=KEY)
    indices = sii_by_outcome(rates, published=published)
    indices["deprivation_measure"] = quintile_measure(published)
    return indices


def quintile_measure(published):
    """What the quintiles measure, as asthma_inequalities labels its imd_quintile groups (one label
    per build; doc omop_deprivation): the measure of the quintile groups, else (no patient has a
    quintile) the name of the "not available" group, which says why."""
    imd = published[published.dimension == "imd_quintile"]
    available = imd[~imd.group_value.str.startswith("not available")]
    labels = sorted(set((available if len(available) else imd).deprivation_measure.dropna()))
    if len(labels) > 1:
        raise ValueError(f"asthma_inequalities labels its IMD quintile groups with more than one measure: {labels}")
    return labels[0] if labels else None
