"""Asthma section, utilisation clusters: the cluster profile chart."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.helpers import OKABE_ITO, Chart, layout, mart_rows
from health_equity.outputs.report.settings import Settings

CLUSTER_TABLE = [
    "cluster_id", "cluster_label", "patients", "clustered_patients", "share_of_clustered",
    "share_of_clustered_lower_95", "share_of_clustered_upper_95", "followup_emergency_admissions",
    "followup_person_years", "followup_emergency_admissions_per_1000",
    "followup_emergency_admissions_per_1000_lower_95", "followup_emergency_admissions_per_1000_upper_95",
    "mean_baseline_gp_asthma_visits_per_year", "mean_baseline_asthma_reviews_per_year",
    "mean_baseline_outpatient_appointments_per_year", "mean_baseline_prescriptions_per_year",
    "mean_baseline_saba_canisters_per_year", "mean_baseline_ocs_prescriptions_per_year",
    "mean_baseline_exacerbations_per_year", "mean_baseline_emergency_admissions_per_year",
    "mean_baseline_readmissions_30d_per_year", "disclosure_action",
]  # fmt: skip


def cluster_profiles(profiles: pd.DataFrame, settings: Settings) -> Chart:
    table = mart_rows(profiles.sort_values("cluster_id"), CLUSTER_TABLE)
    p = profiles.sort_values("cluster_id")
    hidden = p[p.is_suppressed].cluster_label.tolist() if "is_suppressed" in p else []
    p = p[~p.is_suppressed] if "is_suppressed" in p else p
    feats = [c for c in p.columns if c.startswith("mean_baseline_") and c.endswith("_per_year")]
    # Features differ in scale by orders of magnitude: each bar is the cluster's mean over the mean
    # of all shown patients (1 = average) on a linear axis, so bars compare within a feature.
    weights = p.share_of_clustered.astype(float)
    total = float(weights.sum())  # 0 when every cluster is suppressed: no bars, and no 0 / 0
    overall = {f: float((p[f].astype(float) * weights).sum()) / total if total else float("nan") for f in feats}
    labels = [f.removeprefix("mean_baseline_").removesuffix("_per_year").replace("_", " ") for f in feats]
    fig = go.Figure()
    for i, (_, r) in enumerate(p.iterrows()):
        ratio = [float(r[f]) / overall[f] if overall[f] else float("nan") for f in feats]
        fig.add_trace(
            go.Bar(
                name=f"{r.cluster_label} ({r.share_of_clustered:.0%})",
                x=labels,
                y=ratio,
                text=[f"{v:.1f}\u00d7" for v in ratio],
                textposition="outside",
                customdata=[float(r[f]) for f in feats],
                hovertemplate="%{x}: %{customdata:.2f} per person-year (%{y:.2f}\u00d7 average)<extra></extra>",
                marker_color=OKABE_ITO[i % len(OKABE_ITO)],
            )
        )
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": 1.12, "x": 0})
    fig.add_hline(y=1, line={"color": "#555", "dash": "dot", "width": 1})
    fig.update_xaxes(tickangle=-30)
    note = f" Suppressed under disclosure control: {', '.join(hidden)}." if hidden else ""
    chart = Chart(
        "cluster_profiles",
        "Utilisation cluster profiles",
        layout(fig, "", "Baseline utilisation feature", "Cluster mean \u00f7 average (1 = average)", height=480),
        f"k-means clusters of baseline ({settings.baseline_years}) utilisation per person-year, fitted on up "
        f"to {settings.cluster_sample_size:,} patients (a sample drawn by a hash of the pseudonymous key when "
        "there are more) and every patient assigned to the nearest cluster centre. Each bar is "
        "the cluster's mean "
        "divided by the mean over all patients shown (1 = average; hover for the rate itself); the legend "
        "gives each cluster's share of patients. Labels are read off the profiles, not assigned in advance." + note,
        table,
    )
    chart.figure.update_layout(legend={"orientation": "h", "y": 1.15, "x": 0}, margin={"t": 60, "b": 110})
    return chart
