"""Each patient's utilisation cluster, fitted with the k that int_asthma_cluster_selection chose.
Thin: the logic and its tests live in health_equity.clusters."""

from health_equity.clusters import ClusterConfig, patient_clusters


def model(dbt, session):
    dbt.config(materialized="table")
    selection = dbt.ref("int_asthma_cluster_selection").df()
    k = int(selection.loc[selection["is_chosen"], "k"].iloc[0])
    patients = dbt.ref("int_asthma_patient_utilisation").df()
    return patient_clusters(patients, k, ClusterConfig.from_mapping(dbt.config.get("clustering")))
