"""One self-contained HTML report of the marts, readable offline (plotly.js embedded, no CDN).

It answers what the original Tableau dashboard did, correctly (risk standardised within measure
and hospital type, not raw scores of unrelated measures averaged), and adds the asthma analysis.
Usage: ``python -m health_equity.outputs.report --db health_equity.duckdb --out reports/health_equity_report.html``.
"""

# The package: one module per section of the report (hospital_states, hospital_income, clusters,
# rate_ratios, inequalities, summary, origins), shared chart pieces (helpers, funnels, settings),
# the page (page: the charts through templates/, Jinja2) and the command line (cli, __main__).
from health_equity.outputs.report.cli import main
from health_equity.outputs.report.clusters import cluster_profiles
from health_equity.outputs.report.helpers import Chart
from health_equity.outputs.report.hospital_income import income_scatter, kpis, score_table, tier_bars
from health_equity.outputs.report.hospital_states import funnel_plot, hotspot_heatmap, state_map
from health_equity.outputs.report.inequalities import dsr_chart, proportion_funnel, sii_chart
from health_equity.outputs.report.page import build_charts, render
from health_equity.outputs.report.rate_ratios import FOREST_MODELS, forest_plot
from health_equity.outputs.report.settings import Settings
from health_equity.outputs.report.summary import Headline, asthma_headlines, hospital_headlines

__all__ = [
    "FOREST_MODELS",
    "Chart",
    "Headline",
    "Settings",
    "asthma_headlines",
    "build_charts",
    "cluster_profiles",
    "dsr_chart",
    "forest_plot",
    "funnel_plot",
    "hospital_headlines",
    "hotspot_heatmap",
    "income_scatter",
    "kpis",
    "main",
    "proportion_funnel",
    "render",
    "score_table",
    "sii_chart",
    "state_map",
    "tier_bars",
]
