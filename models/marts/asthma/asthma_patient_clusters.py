"""Each patient's utilisation cluster, fitted with the k that int_asthma_cluster_selection chose.
Thin: the logic and its tests live in health_equity.clusters."""

from health_equity.clusters import ClusterConfig, chosen_k, patient_clusters


def model(dbt, session):
    dbt.config(materialized="table")
    selection = dbt.ref("int_asthma_cluster_selection").df()
    k = chosen_k(selection)  # None when too few patients to fit any k: all stay unclustered
    patients = dbt.ref("asthma_patients").df()
    return patient_clusters(patients, k, ClusterConfig.from_mapping(dbt.config.get("clustering")))
