"""k-means model selection over the configured k range (silhouette; stability for the chosen k),
fitted on the sample of int_asthma_cluster_sample (at most var cluster_sample_size patients,
whatever the size of the register): each k is fitted once and its centroids recorded with the
standardisation, for asthma_patient_clusters to assign every patient in SQL. Thin: the logic and
its tests live in health_equity.stats.clusters."""

import health_equity.engine.stack  # noqa: F401  (first: the statistics stack, imported once; see its docstring)
from health_equity.engine.relations import to_pandas
from health_equity.stats.clusters import ClusterConfig, sampled_selection


def model(dbt, session):
    dbt.config(materialized="table")
    sample = to_pandas(dbt.ref("int_asthma_cluster_sample"), order_by=["patient_key"])
    population = to_pandas(dbt.ref("int_asthma_cluster_population"))
    return sampled_selection(sample, population, ClusterConfig.from_mapping(dbt.config.get("clustering")))
