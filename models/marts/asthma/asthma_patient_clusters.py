"""Each patient's utilisation cluster: the nearest centroid of the fit int_asthma_cluster_selection
chose (k-means is not fitted again here). Thin: the logic and its tests live in
health_equity.clusters."""

from health_equity.clusters import patient_clusters
from health_equity.relations import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    selection = to_pandas(dbt.ref("int_asthma_cluster_selection"))
    patients = to_pandas(dbt.ref("asthma_patients"))
    return patient_clusters(patients, selection)
