"""Each patient's utilisation cluster: the nearest centroid of the fit int_asthma_cluster_selection
chose (k-means is not fitted again here). Thin: the logic and its tests live in
health_equity.clusters."""

from health_equity.clusters import patient_clusters


def model(dbt, session):
    dbt.config(materialized="table")
    selection = dbt.ref("int_asthma_cluster_selection").df()
    patients = dbt.ref("asthma_patients").df()
    return patient_clusters(patients, selection)
