"""The whole page: every section's charts built from the marts and rendered through the Jinja templates."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from health_equity.outputs.report.clusters import cluster_profiles
from health_equity.outputs.report.helpers import Chart, headline_rows, load
from health_equity.outputs.report.hospital_income import income_scatter, kpis, score_table, tier_bars
from health_equity.outputs.report.hospital_states import funnel_plot, hotspot_heatmap, state_map
from health_equity.outputs.report.inequalities import dsr_chart, proportion_funnel, sii_chart
from health_equity.outputs.report.origins import mixed_origins, section_origin
from health_equity.outputs.report.rate_ratios import forest_plot
from health_equity.outputs.report.settings import Settings
from health_equity.outputs.report.summary import Headline, asthma_headlines, hospital_headlines

TABLE_ROWS = 5000  # a data table lists at most this many mart rows


@functools.cache
def templates() -> jinja2.Environment:
    """The report's Jinja templates (templates/ in this package): HTML autoescaped, an undefined name an error."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("health_equity.outputs.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    # tojson (the headlines' data attributes) keeps the keys in the order the report wrote them.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    return env


def build_charts(
    con: duckdb.DuckDBPyConnection, settings: Settings
) -> tuple[dict, list[Chart], list[Chart], list[Headline]]:
    """The hospital section's KPI tiles and score table, each section's charts and the summary's headlines."""
    hospitals, tiers = load(con, "hospital_equity"), load(con, "hospital_income_tiers")
    states, regression = load(con, "hospital_state_performance"), load(con, "hospital_income_regression")
    scores = load(con, "hospital_scores")
    ineq, idx = load(con, "asthma_inequalities"), load(con, "asthma_inequality_indices")
    headline = headline_rows(tiers)
    score_label = str(headline.score_label.iloc[0]) if len(headline) else "headline score"
    min_hospitals = int(states.min_hospitals_for_hotspot.max()) if len(states) else 0
    hospital_charts = [
        state_map(states, score_label, min_hospitals),
        income_scatter(scores, regression, score_label, settings),
        tier_bars(tiers, settings),
        funnel_plot(states, score_label, settings),
        hotspot_heatmap(states, min_hospitals, settings),
    ]
    asthma_charts = [
        cluster_profiles(load(con, "asthma_cluster_profiles"), settings),
        forest_plot(load(con, "asthma_admission_rate_ratios"), settings),
        dsr_chart(
            ineq,
            "imd_quintile",
            "Emergency asthma admissions by deprivation",
            f"{settings.quintile_words[0].capitalize()} (1 = {settings.quintile_words[1]})",
            "dsr_imd",
            settings,
        ),
        dsr_chart(
            ineq,
            "ethnicity_group",
            "Emergency asthma admissions by ethnic group",
            "Ethnic group (ONS 2021)",
            "dsr_ethnicity",
            settings,
        ),
        sii_chart(idx, settings),
        proportion_funnel(
            ineq, "readmissions_30d", "Funnel plot: 30-day readmissions by group", "funnel_readmissions", settings
        ),
        proportion_funnel(
            ineq, "saba_over_reliance", "Funnel plot: SABA over-reliance by group", "funnel_saba", settings
        ),
    ]
    hospital_tables = {
        "kpi_tiles": kpis(hospitals, tiers, regression, score_label, settings),
        "score_rows": score_table(tiers, regression, settings),
        "lowest_tier": settings.tier_names[0],
        "highest_tier": settings.tier_names[-1],
    }
    headlines = hospital_headlines(tiers, regression, score_label, settings) + asthma_headlines(
        idx, load(con, "asthma_admission_rate_ratios"), settings
    )
    return hospital_tables, hospital_charts, asthma_charts, headlines


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:,.4g}"
    return str(value)


@dataclass(frozen=True)
class DataTable:
    """A chart's mart rows as text for its data table (templates/charts.html.j2): the first TABLE_ROWS."""

    columns: list[str]
    rows: list[list[str]]
    total: int  # rows in the mart's selection, shown or not

    @classmethod
    def of(cls, table: pd.DataFrame) -> DataTable:
        shown = table.head(TABLE_ROWS)
        rows = [[_fmt(None if pd.isna(v) else v) for v in row] for row in shown.itertuples(index=False)]
        return cls([str(c) for c in shown.columns], rows, len(table))


def chart_context(c: Chart) -> dict:
    """What templates/charts.html.j2 shows of a chart; the plotly div is plotly's own HTML."""
    div = c.figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{c.name}",
        config={"displaylogo": False, "responsive": True},
    )
    return {"name": c.name, "title": c.title, "div": Markup(div), "caption": c.caption, "table": DataTable.of(c.table)}


def render(con: duckdb.DuckDBPyConnection, built_at: str | None = None) -> str:
    """The report page of the warehouse's marts; built_at stamps it (default now, UTC)."""
    settings = Settings.from_warehouse(con)
    hospital_tables, hospital_charts, asthma_charts, headlines = build_charts(con, settings)
    provenance_rows = load(con, "data_provenance")
    return (
        templates()
        .get_template("page.html.j2")
        .render(
            plotly_js=Markup(get_plotlyjs()),
            built_at=built_at or pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
            mixed_origins=mixed_origins(provenance_rows),
            headlines=headlines,
            settings=settings,
            hospitals_origin=section_origin(provenance_rows, "hospitals"),
            asthma_origin=section_origin(provenance_rows, "asthma"),
            hospital_charts=[chart_context(c) for c in hospital_charts],
            asthma_charts=[chart_context(c) for c in asthma_charts],
            **hospital_tables,
        )
    )
