"""k-means model selection over the configured k range (silhouette; stability for the chosen k):
each k is fitted once and its centroids recorded, for asthma_patient_clusters to assign with.
Thin: the logic and its tests live in health_equity.clusters."""

from health_equity.clusters import ClusterConfig, cluster_selection
from health_equity.relations import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    patients = to_pandas(dbt.ref("asthma_patients"))
    return cluster_selection(patients, ClusterConfig.from_mapping(dbt.config.get("clustering")))
