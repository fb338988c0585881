"""The chosen k-means fit of int_asthma_cluster_selection in long form, one row per cluster x
feature (at most cluster_k_max x features rows): what asthma_patient_clusters assigns with in
SQL, without reading list columns. Thin: health_equity.stats.clusters.chosen_centroids."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.clusters import chosen_centroids


def model(dbt, session):
    dbt.config(materialized="table")
    return chosen_centroids(to_pandas(dbt.ref("int_asthma_cluster_selection"), order_by=["k"]))
