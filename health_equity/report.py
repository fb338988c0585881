"""One self-contained HTML report of the marts, readable offline (plotly.js embedded, no CDN).

It answers what the original Tableau dashboard did, correctly (risk standardised within measure
and hospital type, not raw scores of unrelated measures averaged), and adds the asthma analysis.
Usage: ``python -m health_equity.report --db health_equity.duckdb --out reports/health_equity_report.html``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from health_equity._cli import add_db_argument, add_path_argument, parse_with_db
from health_equity.inequality import amount_in_words, interval_in_words, sig3, significance_in_words
from health_equity.measures import funnel_limits

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TIER_COLOURS = ["#D55E00", "#E69F00", "#0072B2"]  # income tiers in tier_order, lowest income first
DIVERGING = "RdBu_r"  # blue = lower risk than national, red = higher; safe for red-green deficiency

# A tile-grid map of the states (no map files to download): (row, column).
TILES = {
    "AK": (0, 0), "ME": (0, 11), "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6), "WI": (2, 7),
    "MI": (2, 8), "NY": (2, 9), "RI": (2, 10), "MA": (2, 11),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6), "OH": (3, 7),
    "PA": (3, 8), "NJ": (3, 9), "CT": (3, 10),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6), "WV": (4, 7),
    "VA": (4, 8), "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7), "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
    "GU": (8, 0), "MP": (8, 1), "AS": (8, 2), "PR": (8, 9), "VI": (8, 10),
}  # fmt: skip


@dataclass
class Chart:
    name: str
    title: str
    figure: go.Figure
    caption: str
    # The mart rows behind the chart, in the mart's own column names: its data table.
    table: pd.DataFrame


# The columns of each published asthma mart that a chart's data table shows, as the marts name
# them: the figure, its numerator and denominator, its interval and the disclosure action.
INEQUALITY_TABLE = [
    "dimension", "group_value", "outcome", "measure_type", "indicator_value", "indicator_lower_95",
    "indicator_upper_95", "indicator_unit", "numerator", "denominator", "denominator_unit", "patients",
    "person_years", "crude_rate_per_1000", "crude_rate_lower_95", "crude_rate_upper_95", "proportion_pct",
    "proportion_lower_95", "proportion_upper_95", "funnel_lower_95", "funnel_upper_95", "funnel_lower_998",
    "funnel_upper_998", "funnel_position", "comparator_value", "compared_with_all_patients", "polarity",
    "disclosure_action",
]  # fmt: skip
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
RATE_RATIO_TABLE = [
    "model_name", "model_family", "term", "level", "reference_level", "irr", "ci_lower", "ci_upper", "p_value",
    "n", "events", "person_years", "model_population",
]  # fmt: skip
INDEX_TABLE = [
    "outcome", "measure_type", "most_to_least_deprived_ratio", "most_to_least_deprived_ratio_lower",
    "most_to_least_deprived_ratio_upper", "most_minus_least_deprived", "most_minus_least_deprived_lower",
    "most_minus_least_deprived_upper", "indicator_unit", "sii", "sii_lower", "sii_upper", "rii", "rii_lower",
    "rii_upper", "interpretation", "note",
]  # fmt: skip


# The columns of each hospital mart a chart's data table shows, as the marts name them.
STATE_TABLE = [
    "state_code", "state_name", "income_tier", "cell_level", "hospitals", "scored_hospitals", "share_scored",
    "share_scored_lower_95", "share_scored_upper_95", "mean_risk", "national_average_risk", "difference_to_national",
    "funnel_lower_95", "funnel_upper_95", "funnel_lower_99_8", "funnel_upper_99_8", "funnel_lower_95_adjusted",
    "funnel_upper_95_adjusted", "funnel_lower_99_8_adjusted", "funnel_upper_99_8_adjusted", "position_limits",
    "funnel_position", "is_hotspot", "cell_note",
]  # fmt: skip
TIER_TABLE = [
    "score_label", "income_tier", "hospitals", "scored_hospitals", "share_scored", "share_scored_lower_95",
    "share_scored_upper_95", "mean_risk", "mean_risk_lower_95", "mean_risk_upper_95", "ci_method",
    "gap_to_highest_tier", "gap_lower_95", "gap_upper_95", "gap_in_hospital_sd", "gap_in_hospital_sd_lower_95",
    "gap_in_hospital_sd_upper_95", "share_measures_worse", "share_measures_worse_lower_95",
    "share_measures_worse_upper_95", "share_worse_difference_pp", "share_worse_difference_lower_95",
    "share_worse_difference_upper_95", "selection_note",
]  # fmt: skip
REGRESSION_TABLE = [
    "score_label", "row_type", "model_name", "income_tier", "term", "estimate", "ci_lower", "ci_upper",
    "estimate_per_doubling", "ci_lower_per_doubling", "ci_upper_per_doubling", "covariance_type", "n", "r_squared",
    "x_unit", "no_estimate_reason",
]  # fmt: skip


def mart_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The mart columns a data table shows (those the frame has), in that order."""
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)


def _layout(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        template="plotly_white",
        colorway=OKABE_ITO,
        margin={"l": 90, "r": 30, "t": 30, "b": 60},
        font={"family": "system-ui, sans-serif", "size": 13},
        legend={"orientation": "h", "y": -0.2},
    )
    if x:
        fig.update_xaxes(title_text=x)
    if y:
        fig.update_yaxes(title_text=y)
    return fig


def load(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return con.sql(f"select * from marts.{table}").df()


@dataclass(frozen=True)
class Settings:
    """What the captions and limits need from the build's configuration, read from the warehouse
    (dbt vars through intermediate.int_project_settings; the income tiers from the seed), never
    copied into this file."""

    study_start: pd.Timestamp
    followup_start: pd.Timestamp
    study_end: pd.Timestamp
    disclosure_policy: str
    redact_counts_at_or_below: int
    round_counts_to: int
    dsr_min_events: int
    z_95: float
    z_99_8: float
    cluster_sample_size: int
    tiers: pd.DataFrame  # reference.ref_income_tiers in tier_order

    @classmethod
    def from_warehouse(cls, con: duckdb.DuckDBPyConnection) -> Settings:
        row = con.sql("select * from intermediate.int_project_settings").df().iloc[0]
        tiers = con.sql("select * from reference.ref_income_tiers order by tier_order").df()
        return cls(
            study_start=pd.Timestamp(row.study_start),
            followup_start=pd.Timestamp(row.followup_start),
            study_end=pd.Timestamp(row.study_end),
            disclosure_policy=str(row.disclosure_policy),
            redact_counts_at_or_below=int(row.redact_counts_at_or_below),
            round_counts_to=int(row.round_counts_to),
            dsr_min_events=int(row.dsr_min_events),
            z_95=float(row.z_95),
            z_99_8=float(row.z_99_8),
            cluster_sample_size=int(row.cluster_sample_size),
            tiers=tiers,
        )

    @property
    def tier_names(self) -> list[str]:
        return list(self.tiers.income_tier)

    def tier_colour(self, tier: str) -> str:
        return TIER_COLOURS[self.tier_names.index(tier) % len(TIER_COLOURS)]

    @property
    def tier_bounds(self) -> str:
        """The tiers and their income bounds in words, e.g. "Low < $50k, Mid $50k-$100k, High >= $100k"."""
        parts = []
        for i, t in enumerate(self.tiers.itertuples()):
            lower, upper = f"${t.income_lower / 1000:,.0f}k", f"${t.income_upper_exclusive / 1000:,.0f}k"
            if i == 0:
                parts.append(f"{t.income_tier} < {upper}")
            elif i == len(self.tiers) - 1:
                parts.append(f"{t.income_tier} >= {lower}")
            else:
                parts.append(f"{t.income_tier} {lower}-{upper}")
        return ", ".join(parts)

    @staticmethod
    def _years(first: pd.Timestamp, last: pd.Timestamp) -> str:
        return str(first.year) if first.year == last.year else f"{first.year}-{last.year % 100:02d}"

    @property
    def baseline_years(self) -> str:
        return self._years(self.study_start, self.followup_start - pd.Timedelta(days=1))

    @property
    def followup_years(self) -> str:
        return self._years(self.followup_start, self.study_end)

    @property
    def study_years(self) -> str:
        return self._years(self.study_start, self.study_end)


def _signed_words(value: float, unit: str = "") -> str:
    """A score difference by its direction and what that means (higher is worse): "0.28 SD lower
    (better)"."""
    if value == 0 or pd.isna(value):
        return "no different"
    return f"{amount_in_words(value, unit)} ({'worse' if value > 0 else 'better'})"


# -------------------------------------------------------------------------------- hospitals
INCOME_TICKS = [10_000, 20_000, 50_000, 100_000, 200_000]


def _headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the headline score (var headline_score) of a score-keyed hospital mart."""
    return frame[frame.is_headline.fillna(False).astype(bool)]


def _no_data(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def _text_colour(values: np.ndarray, lim: float) -> list[str]:
    """Black or white tile text, whichever contrasts with the diverging colour under it."""
    return ["#ffffff" if lim and abs(v) / lim > 0.55 else "#111111" for v in values]


def state_map(states: pd.DataFrame, score_label: str, min_hospitals: int) -> Chart:
    s = _headline(states)
    s = s[s.is_state_total.fillna(False).astype(bool) & s.state_code.isin(TILES)].copy()
    s["row"] = s.state_code.map(lambda c: TILES[c][0])
    s["col"] = s.state_code.map(lambda c: TILES[c][1])
    diff = s.difference_to_national.astype(float)
    lim = float(np.nanmax(np.abs(diff))) if diff.notna().any() else 1.0
    scored = s.difference_to_national.notna()
    fig = go.Figure()
    # No scored hospital: a crossed, outlined tile, unlike any colour of the scale (near 0 is near white).
    fig.add_trace(
        go.Scatter(
            x=s.col[~scored],
            y=-s.row[~scored],
            mode="markers+text",
            text=s.state_code[~scored],
            textfont={"color": "#555"},
            name="No scored hospital",
            marker={"symbol": "square-x-open", "size": 40, "color": "#9e9e9e", "line": {"width": 1.5}},
            hovertemplate="%{text}: no scored hospital<extra></extra>",
        )
    )
    t = s[scored]
    fig.add_trace(
        go.Scatter(
            x=t.col,
            y=-t.row,
            mode="markers+text",
            text=t.state_code,
            name="Difference to national",
            showlegend=False,
            textfont={"color": _text_colour(t.difference_to_national.to_numpy(dtype=float), lim)},
            marker={
                "symbol": "square",
                "size": 40,
                "color": t.difference_to_national,
                "colorscale": DIVERGING,
                "cmin": -lim,
                "cmax": lim,
                "colorbar": {"title": {"text": "Mean score minus<br>national (SD units)"}},
            },
            customdata=np.stack([t.state_name, t.mean_risk, t.hospitals, t.scored_hospitals], axis=-1)
            if len(t)
            else None,
            hovertemplate="%{customdata[0]}<br>mean score %{customdata[1]:.2f}<br>"
            "%{customdata[3]} of %{customdata[2]} hospitals scored<extra></extra>",
        )
    )
    # Hotspots drawn last, as outlines on top of every tile, so no neighbour paints over them.
    hot = t[t.is_hotspot.fillna(False).astype(bool)]
    fig.add_trace(
        go.Scatter(
            x=hot.col,
            y=-hot.row,
            mode="markers",
            name=f"Hotspot: worse than the 95% limit, {min_hospitals}+ scored hospitals",
            marker={"symbol": "square-open", "size": 46, "color": "#000000", "line": {"width": 3.5}},
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(visible=False, range=[-0.7, 11.7])
    fig.update_yaxes(visible=False, scaleanchor="x", range=[-8.7, 0.7])
    fig.update_layout(legend={"orientation": "h", "y": -0.04, "x": 0})
    if not len(t):
        _no_data(fig, f"No hospital has the {score_label}")
    return Chart(
        "state_map",
        f"Mean {score_label} by state against the national average",
        _layout(fig, "", height=560),
        "Each tile is a state (territories on the bottom row); colour = the state's mean score minus the "
        "national mean, in SD units of the score (red = worse, blue = better, near white = about national); a "
        "crossed grey outline = no scored hospital, so no data. A thick black outline marks a hotspot: above the "
        "95% funnel limit for its number of scored hospitals (widened for overdispersion when the states vary "
        f"more than chance allows), with at least {min_hospitals} scored hospitals.",
        mart_rows(s.sort_values("state_code"), STATE_TABLE),
    )


def income_scatter(scores: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings) -> Chart:
    h = _headline(scores).dropna(subset=["risk_score", "median_household_income"])
    reg = _headline(regression)
    fig = go.Figure()
    coded = h.is_income_coded.fillna(False).astype(bool)
    for tier in settings.tier_names:
        t = h[(h.income_tier == tier) & ~coded]
        fig.add_trace(
            go.Scatter(
                x=t.median_household_income,
                y=t.risk_score,
                mode="markers",
                name=f"{tier} income",
                marker={"size": 4, "opacity": 0.45, "color": settings.tier_colour(tier)},
            )
        )
        line = reg[(reg.row_type == "trend") & (reg.income_tier == tier)].set_index("term")
        if len(t) and {"intercept", "income_thousands"} <= set(line.index):
            xs = np.linspace(t.median_household_income.min(), t.median_household_income.max(), 2)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=line.estimate["intercept"] + line.estimate["income_thousands"] * xs / 1000,
                    mode="lines",
                    name=f"{tier} trend",
                    line={"color": settings.tier_colour(tier), "width": 3},
                )
            )
    if coded.any():
        c = h[coded]
        fig.add_trace(
            go.Scatter(
                x=c.median_household_income,
                y=c.risk_score,
                mode="markers",
                name="Census-coded income (bound; not in the regression)",
                marker={"size": 9, "symbol": "x-open", "color": "#000"},
            )
        )
    main_fit = reg[(reg.row_type == "coefficient") & (reg.model_name == "log_income")].set_index("term")
    caption = "One point per scored hospital. "
    if len(h) and {"intercept", "log_income"} <= set(main_fit.index):
        xs = np.linspace(h.median_household_income.min(), h.median_household_income.max(), 200)
        coef = main_fit.estimate
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=coef["intercept"] + coef["log_income"] * np.log(xs),
                mode="lines",
                name="OLS on log income (all)",
                line={"color": "#000", "dash": "dash", "width": 2},
            )
        )
        slope = main_fit.loc["log_income"]
        caption += (
            "Lines: OLS per income tier and over all hospitals on log income: each doubling of ZIP income goes "
            f"with a score {_signed_words(slope.estimate_per_doubling, 'SD')} (95% CI "
            f"{slope.ci_lower_per_doubling:+.2f} to {slope.ci_upper_per_doubling:+.2f} SD; HC3 standard errors, "
            f"n = {int(slope.n):,}; {slope.estimate:+.2f} SD per unit of log income), R\u00b2 = "
            f"{slope.r_squared:.3f}. "
        )
    else:
        reason = reg.no_estimate_reason.dropna()
        _no_data(fig, "No estimate: " + (reason.iloc[0] if len(reason) else "no scored hospital"))
        caption += "No regression estimate for this score. "
    caption += (
        "Income is the ZCTA's ACS median (or its ZIP3 median when the ZIP has none); incomes the Census publishes "
        "only as a bound (250,000+ or 2,500-) are drawn as crosses and left out of the regression. Association, "
        "not causation."
    )
    fig.update_xaxes(
        type="log", tickvals=INCOME_TICKS, ticktext=[f"${v // 1000:,}k" for v in INCOME_TICKS], range=[4, 5.5]
    )
    return Chart(
        "income_scatter",
        f"ZIP income against the {score_label}",
        _layout(
            fig, "", "Median household income of the hospital's ZIP (log scale)", "Score (SD units; higher = worse)"
        ),
        caption,
        mart_rows(reg[reg.row_type.isin(["coefficient", "trend", "no_estimate"])], REGRESSION_TABLE),
    )


def tier_bars(tiers: pd.DataFrame, settings: Settings) -> Chart:
    fig = go.Figure()
    labels = tiers.drop_duplicates("score_name").sort_values("is_headline", ascending=False)
    drawn = [sc for _, sc in labels.iterrows() if not tiers[tiers.score_name == sc.score_name].mean_risk.isna().all()]
    width = 0.8 / max(len(drawn), 1)
    annotations = []
    for i, sc in enumerate(drawn):
        t = tiers[tiers.score_name == sc.score_name].sort_values("tier_order")
        fig.add_trace(
            go.Bar(
                name=sc.score_label + (" (headline)" if sc.is_headline else ""),
                x=t.income_tier,
                y=t.mean_risk,
                marker_color=OKABE_ITO[i % len(OKABE_ITO)],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": t.mean_risk_upper_95 - t.mean_risk,
                    "arrayminus": t.mean_risk - t.mean_risk_lower_95,
                    "color": "#222",
                },
                hovertemplate="%{x}: mean %{y:+.2f}<extra></extra>",
            )
        )
        # The value sits beyond the end of its interval, so the whisker never crosses it.
        for r in t.itertuples():
            if pd.isna(r.mean_risk):
                continue
            up = r.mean_risk >= 0
            annotations.append(
                {
                    "x": settings.tier_names.index(r.income_tier) - 0.4 + (i + 0.5) * width,
                    "y": r.mean_risk_upper_95 if up else r.mean_risk_lower_95,
                    "yshift": 12 if up else -12,
                    "text": f"{r.mean_risk:+.2f}<br>n={int(r.scored_hospitals):,}",
                    "showarrow": False,
                    "font": {"size": 11},
                    "yanchor": "bottom" if up else "top",
                }
            )
    fig.update_layout(barmode="group", annotations=annotations, bargap=0.2, bargroupgap=0)
    fig.update_xaxes(categoryorder="array", categoryarray=settings.tier_names)
    values = pd.concat([tiers.mean_risk_lower_95, tiers.mean_risk_upper_95]).dropna()
    if len(values):
        span = float(values.max() - values.min()) or 1.0
        fig.update_yaxes(range=[min(0.0, float(values.min())) - 0.3 * span, max(0.0, float(values.max())) + 0.3 * span])
    if not fig.data:
        _no_data(fig, "No hospital has a score")
    empty = tiers.groupby("score_name").mean_risk.apply(lambda m: m.isna().all())
    missing = [r.score_label for _, r in labels.iterrows() if empty[r.score_name]]
    low = _headline(tiers)
    low = low[low.income_tier == settings.tier_names[0]]
    gap = ""
    if len(low) and pd.notna(low.gap_to_highest_tier.iloc[0]):
        g = low.iloc[0]
        gap = (
            f" {settings.tier_names[0]} minus {settings.tier_names[-1]}: {g.gap_to_highest_tier:+.2f} on the score "
            f"(95% CI {g.gap_lower_95:+.2f} to {g.gap_upper_95:+.2f}), which is {g.gap_in_hospital_sd:+.2f} standard "
            "deviations of the score across hospitals."
        )
    return Chart(
        "tier_bars",
        "Mean hospital score by income tier, every score side by side",
        _layout(fig, "", f"ZIP income tier ({settings.tier_bounds})", "Mean score (SD units, 95% CI)"),
        "Bars: mean score of the scored hospitals in each tier with 95% confidence intervals (normal "
        "approximation); the label gives the mean and the number of scored hospitals. The score is in standard "
        "deviation (SD) units of the standardised measure groups: 0 is about the national average, +1 is one "
        "SD worse; higher = worse. Only scored hospitals count, and the share scored differs by tier (data table: "
        "share_scored)." + gap + (f" Not shown, no data: {', '.join(missing)}." if missing else ""),
        mart_rows(tiers.sort_values(["score_name", "tier_order"]), TIER_TABLE),
    )


def _funnel_lines(fig: go.Figure, n: np.ndarray, centre: float, limits, settings: Settings) -> None:
    """The centre line and the 95% and 99.8% funnel limits; limits(z) -> (lower, upper) over n,
    z the build's normal quantile (vars z_95, z_99_8)."""
    for z, label, dash in ((settings.z_95, "95% limits", "dash"), (settings.z_99_8, "99.8% limits", "dot")):
        lower, upper = limits(z)
        for bound, show in ((upper, True), (lower, False)):
            fig.add_trace(
                go.Scatter(
                    x=n,
                    y=bound,
                    mode="lines",
                    name=label,
                    showlegend=show,
                    line={"color": "#555", "dash": dash, "width": 1},
                )
            )
    fig.add_hline(y=centre, line={"color": "#000", "width": 1})


def funnel_plot(states: pd.DataFrame, score_label: str, settings: Settings) -> Chart:
    s = _headline(states)
    s = s[s.is_state_total.fillna(False).astype(bool) & (s.scored_hospitals > 0)].sort_values("scored_hospitals")
    fig = go.Figure()
    adjusted = False
    if len(s):
        centre = float(s.national_average_risk.iloc[0])
        sd = float(s.national_sd_risk.iloc[0])
        adjusted = bool(s.is_overdispersed.fillna(False).any())
        tau2 = float(s.tau_squared.fillna(0).iloc[0]) if adjusted else 0.0
        n = np.logspace(0, np.log10(max(float(s.scored_hospitals.max()), 2.0) * 1.15), 200)

        def normal_limits(z: float):
            se = np.sqrt(sd**2 / n + tau2)
            return centre - z * se, centre + z * se

        _funnel_lines(fig, n, centre, normal_limits, settings)
        _position_points(
            fig, s, "scored_hospitals", "mean_risk", "state_code", "%{customdata}: mean %{y:.2f}, %{x} scored hospitals"
        )
        low, high = normal_limits(settings.z_99_8)
        y_lo = float(min(s.mean_risk.min(), np.nanmin(low)))
        y_hi = float(max(s.mean_risk.max(), np.nanmax(high)))
        pad = (y_hi - y_lo) * 0.08 or 0.1
        y_range = (y_lo - pad, y_hi + pad)
        x_range = (0.8, float(n.max()))
        fig.update_xaxes(range=[np.log10(x_range[0]), np.log10(x_range[1])])
        fig.update_yaxes(range=list(y_range))
        outside = s[s.funnel_position != "within the 95% limits"]
        fig.update_layout(
            annotations=label_annotations(
                outside.scored_hospitals.to_numpy(dtype=float),
                outside.mean_risk.to_numpy(dtype=float),
                list(outside.state_code),
                x_range,
                y_range,
                FUNNEL_HEIGHT - 90,
                x_log=True,
            )
        )
    else:
        _no_data(fig, f"No hospital has the {score_label}")
    fig.update_xaxes(type="log", tickvals=[1, 2, 5, 10, 20, 50, 100, 200, 500])
    widened = (
        " The states vary more than chance allows (overdispersion test on Winsorised z-scores), so the limits are "
        "widened by Spiegelhalter's additive random-effects method (tau\u00b2 in the data table), as PHE does."
        if adjusted
        else " The states vary no more than chance allows, so the limits are not widened."
    )
    return Chart(
        "funnel",
        f"Funnel plot: states' mean {score_label} against their number of hospitals",
        _layout(fig, "", "Scored hospitals in the state (log scale)", "Mean score (SD units)", height=FUNNEL_HEIGHT),
        f"Each point is a state. The lines are the national mean (solid) and its 95% and 99.8% limits for a state "
        f"with that many scored hospitals (national mean +/- {settings.z_95:.2f} and {settings.z_99_8:.2f} "
        "standard errors)." + widened + " Orange and red points lie above the 95% and the 99.8% limit (worse than "
        "national beyond chance), light and dark blue below them (better); grey points are within the 95% "
        "limits, and only the points outside are labelled.",
        mart_rows(s.sort_values("state_code"), STATE_TABLE),
    )


def hotspot_heatmap(states: pd.DataFrame, min_hospitals: int, settings: Settings) -> Chart:
    s = _headline(states)
    s = s[s.income_tier.isin(settings.tier_names)]
    grid = s.pivot(index="state_code", columns="income_tier", values="difference_to_national")
    grid = grid.reindex(columns=settings.tier_names).sort_index(ascending=False)
    hot = s.pivot(index="state_code", columns="income_tier", values="is_hotspot").reindex_like(grid)
    enough = s.pivot(index="state_code", columns="income_tier", values="meets_min_hospitals").reindex_like(grid)
    shown = grid.where(enough.fillna(False).to_numpy(dtype=bool))
    finite = shown.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(finite))) if np.isfinite(finite).any() else 1.0
    few = grid.notna() & shown.isna()
    none = grid.isna()
    cols, rows = list(grid.columns), list(grid.index)
    fig = go.Figure(
        [
            go.Heatmap(
                z=np.where(none.to_numpy(), 1.0, np.where(few.to_numpy(), 0.0, np.nan)),
                x=cols,
                y=rows,
                colorscale=[[0, "#b0b0b0"], [1, "#5f5f5f"]],
                zmin=0,
                zmax=1,
                showscale=False,
                hoverinfo="skip",
                xgap=1,
                ygap=1,
            ),
            go.Heatmap(
                z=shown.to_numpy(),
                x=cols,
                y=rows,
                colorscale=DIVERGING,
                zmin=-lim,
                zmax=lim,
                colorbar={"title": {"text": "Mean score minus<br>national (SD units)"}},
                hoverongaps=False,
                xgap=1,
                ygap=1,
            ),
        ]
    )
    hx, hy = np.where(hot.fillna(False).to_numpy(dtype=bool))
    fig.add_trace(
        go.Scatter(
            x=[cols[j] for j in hy],
            y=[rows[i] for i in hx],
            mode="markers",
            name="Hotspot: worse than the 95% limit",
            marker={"symbol": "circle", "size": 11, "color": "#000000", "line": {"color": "#ffffff", "width": 2}},
            hoverinfo="skip",
        )
    )
    for colour, label in (("#5f5f5f", "No hospital in the cell"), ("#b0b0b0", f"Fewer than {min_hospitals} scored")):
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=label, marker={"symbol": "square", "size": 12, "color": colour}
            )
        )
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom"}, plot_bgcolor="#ffffff")
    return Chart(
        "hotspots",
        "State x income tier hotspots",
        _layout(fig, "", "ZIP income tier", "State", height=1150),
        "Colour: mean score of the state's hospitals in the tier minus the national mean, in SD units, for cells "
        f"with at least {min_hospitals} scored hospitals (red = worse, blue = better, near white = about "
        f"national); light grey: fewer than {min_hospitals} scored hospitals; dark grey: no hospital in the cell. "
        "A black dot with a white ring marks a hotspot: above the 95% funnel limit (widened for overdispersion "
        "when found). A dot in the Mid column marks states where even Mid-income hospitals are worse than national.",
        mart_rows(s.sort_values(["state_code", "income_tier"]), STATE_TABLE),
    )


def score_table(tiers: pd.DataFrame, regression: pd.DataFrame, settings: Settings) -> str:
    """Every score side by side: scored hospitals, lowest-highest tier gap with CI, income slope with CI, or why not."""
    lowest, highest = settings.tier_names[0], settings.tier_names[-1]
    rows = []
    for name, t in tiers.groupby("score_name", sort=True):
        first = t.iloc[0]
        low = t[t.income_tier == lowest]
        mine = regression[regression.score_name == name]
        reg = mine[(mine.model_name == "log_income") & (mine.term == "log_income")]
        why = mine[mine.row_type == "no_estimate"].no_estimate_reason
        gap = "no data"
        if len(low) and pd.notna(low.gap_to_highest_tier.iloc[0]):
            g = low.iloc[0]
            gap = f"{g.gap_to_highest_tier:+.2f} ({g.gap_lower_95:+.2f} to {g.gap_upper_95:+.2f})"
        slope = "no estimate: " + (why.dropna().iloc[0] if len(why.dropna()) else "no data")
        if len(reg):
            r = reg.iloc[0]
            slope = (
                f"{r.estimate_per_doubling:+.3f} ({r.ci_lower_per_doubling:+.3f} to {r.ci_upper_per_doubling:+.3f}), "
                f"n = {int(r.n):,}"
            )
        rows.append(
            f"<tr><td>{html.escape(str(first.score_label))}{' (headline)' if first.is_headline else ''}</td>"
            f"<td>{int(t.scored_hospitals.sum()):,}</td><td>{html.escape(gap)}</td><td>{html.escape(slope)}</td></tr>"
        )
    return (
        '<table class="scores"><thead><tr><th>Score</th><th>Scored hospitals with income</th>'
        f"<th>{html.escape(lowest)} - {html.escape(highest)} income tier gap, SD units (95% CI)</th>"
        "<th>Change in the score per doubling of ZIP income (95% CI)</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


# -------------------------------------------------------------------------------- asthma
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
        _layout(fig, "", "Baseline utilisation feature", "Cluster mean \u00f7 average (1 = average)", height=480),
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


# Label placement for scatter plots whose points crowd (funnel plots): each label is an annotation
# offset from its point by whole pixels, placed greedily so that no label box overlaps another or
# a point, inside the plot area. The plot's pixel size is assumed no larger than it renders at
# (PLOT_WIDTH_PX at the smallest, so real gaps are at least as wide as the ones planned here).
PLOT_WIDTH_PX = 980
CHAR_PX = 7.0  # width of one character at the labels' 11 px font (a generous estimate)
LINE_PX = 16


def label_annotations(
    x: np.ndarray,
    y: np.ndarray,
    texts: list[str],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    height_px: float,
    x_log: bool = False,
) -> list[dict]:
    """Plotly annotations (with leader lines) for the labelled points, none overlapping."""

    def px(values, lo, hi, size, log=False, flip=False):
        v = np.log10(values) if log else np.asarray(values, dtype=float)
        lo, hi = (np.log10(lo), np.log10(hi)) if log else (lo, hi)
        out = (v - lo) / (hi - lo) * size
        return size - out if flip else out

    xs = px(np.asarray(x, dtype=float), *x_range, PLOT_WIDTH_PX, log=x_log)
    ys = px(np.asarray(y, dtype=float), *y_range, height_px, flip=True)
    taken = [(a - 7, a + 7, b - 7, b + 7) for a, b in zip(xs, ys)]
    centre = height_px / 2
    out = []
    for i in sorted(range(len(texts)), key=lambda k: (xs[k], ys[k])):
        w, h = len(texts[i]) * CHAR_PX + 8, LINE_PX
        up = ys[i] < centre  # points in the upper half get labels above them, and below otherwise
        chosen = None
        for step in range(16):
            for side in (1, -1):
                ay = (-1 if up else 1) * (14 + 17 * step)
                ax = side * 12
                x0 = xs[i] + ax if side > 0 else xs[i] + ax - w
                y0 = ys[i] + ay - h / 2
                box = (x0, x0 + w, y0, y0 + h)
                inside = box[0] >= 0 and box[1] <= PLOT_WIDTH_PX and box[2] >= 0 and box[3] <= height_px
                if inside and not any(
                    box[0] < t[1] and t[0] < box[1] and box[2] < t[3] and t[2] < box[3] for t in taken
                ):
                    chosen = (ax, ay, side, box)
                    break
            if chosen:
                break
        if chosen is None:  # nowhere free: the point keeps its hover text and its row in the data table
            continue
        ax, ay, side, box = chosen
        taken.append(box)
        out.append(
            {
                "x": float(np.log10(x[i])) if x_log else float(x[i]),
                "y": float(y[i]),
                "ax": ax,
                "ay": ay,
                "xanchor": "left" if side > 0 else "right",
                "yanchor": "middle",
                "text": html.escape(texts[i]),
                "showarrow": True,
                "arrowhead": 0,
                "arrowwidth": 1,
                "arrowcolor": "#777",
                "standoff": 5,
                "font": {"size": 11, "color": "#1a1a1a"},
                "bgcolor": "rgba(255,255,255,0.85)",
                "borderpad": 1,
            }
        )
    return out


# Where a point lies against its funnel limits (the marts' funnel_position), in the colours and
# legend names every funnel plot uses: beyond 99.8% and beyond 95% in distinct colours.
POSITION_STYLE = {
    "within the 95% limits": ("#8c8c8c", "Within the 95% limits"),
    "above the 95% limit": ("#E69F00", "Above the 95% limit"),
    "below the 95% limit": ("#56B4E9", "Below the 95% limit"),
    "above the 99.8% limit": ("#B2182B", "Above the 99.8% limit"),
    "below the 99.8% limit": ("#0072B2", "Below the 99.8% limit"),
}
DIMENSION_SYMBOL = {"imd_quintile": "circle", "ethnicity_group": "square", "sex": "diamond", "age_band": "triangle-up"}
DIMENSION_NAME = {
    "imd_quintile": "IMD quintile",
    "ethnicity_group": "ethnic group",
    "sex": "sex",
    "age_band": "age band",
    "all_patients": "all patients",
}


def _group_name(dimension: str, group: str) -> str:
    """A group as a reader names it: "IMD quintile 1 (most deprived)", "age 55+", "Asian/Asian British"."""
    if dimension == "imd_quintile":
        extra = {"1": " (most deprived)", "5": " (least deprived)"}.get(str(group), "")
        return f"IMD quintile {group}{extra}"
    if dimension == "age_band":
        return f"age {group}"
    if dimension == "sex":
        return {"F": "female", "M": "male"}.get(str(group), str(group))
    return str(group)


def _position_points(
    fig: go.Figure, frame: pd.DataFrame, x: str, y: str, label: str, hover: str, symbols: dict | None = None
) -> None:
    """A funnel plot's points, one trace per funnel_position in its POSITION_STYLE colour, named in the
    legend. With `symbols` (dimension -> marker symbol) each point's symbol says its dimension, and the
    legend names the colours with plain circles and the symbols in outline."""
    for position, (colour, legend) in POSITION_STYLE.items():
        g = frame[frame.funnel_position == position]
        if g.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=g[x],
                y=g[y],
                mode="markers",
                customdata=g[label],
                name=legend,
                showlegend=symbols is None,
                marker={
                    "size": 10 if symbols else 9,
                    "color": colour,
                    "symbol": [symbols.get(d, "circle") for d in g.dimension] if symbols else "circle",
                    "line": {"color": "#333", "width": 0.5},
                },
                hovertemplate=hover + "<extra>" + legend + "</extra>",
            )
        )
        if symbols:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=legend,
                    marker={"size": 10, "color": colour, "line": {"color": "#333", "width": 0.5}},
                )
            )
    for d in [d for d in (symbols or {}) if d in set(frame.dimension)]:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=DIMENSION_NAME[d],
                marker={"size": 10, "color": "#ffffff", "symbol": symbols[d], "line": {"color": "#333", "width": 1.2}},
            )
        )


def proportion_funnel(ineq: pd.DataFrame, outcome: str, title: str, name: str, settings: Settings) -> Chart:
    """Funnel plot of a proportion outcome (Wilson-based limits, as the mart's funnel columns): one
    point per published group of every dimension, against its denominator. Colour says where the
    point lies against the limits (the mart's funnel_position, named in the legend), the symbol which
    dimension it belongs to; only the points outside the 95% limits are labelled."""
    rows = ineq[
        (ineq.outcome == outcome) & (ineq.dimension != "all_patients") & ~ineq.is_suppressed.fillna(False).astype(bool)
    ]
    rows = rows.dropna(subset=["proportion_pct", "denominator"]).copy()
    fig = go.Figure()
    if len(rows):
        overall = float(rows.overall_proportion_pct.iloc[0]) / 100
        n = np.linspace(max(float(rows.denominator.min()) * 0.8, 5.0), float(rows.denominator.max()) * 1.1, 200)

        def wilson_limits(z: float):
            lower, upper = funnel_limits(overall, n, z=z)
            return lower * 100, upper * 100

        _funnel_lines(fig, n, overall * 100, wilson_limits, settings)
        rows["label"] = [_group_name(d, g) for d, g in zip(rows.dimension, rows.group_value)]
        _position_points(
            fig,
            rows,
            "denominator",
            "proportion_pct",
            "label",
            "%{customdata}: %{y:.1f}% of %{x:,}",
            symbols=DIMENSION_SYMBOL,
        )
        # Fixed ranges, so that the labels can be placed without overlapping.
        low998, high998 = wilson_limits(settings.z_99_8)
        y_lo = float(min(rows.proportion_pct.min(), np.nanmin(low998)))
        y_hi = float(max(rows.proportion_pct.max(), np.nanmax(high998)))
        pad = (y_hi - y_lo) * 0.08 or 1.0
        y_range = (max(0.0, y_lo - pad), min(100.0, y_hi + pad))
        x_range = (0.0, float(n.max()))
        fig.update_xaxes(range=list(x_range))
        fig.update_yaxes(range=list(y_range))
        outside = rows[rows.funnel_position != "within the 95% limits"]
        fig.update_layout(
            annotations=label_annotations(
                outside.denominator.to_numpy(),
                outside.proportion_pct.to_numpy(),
                list(outside.label),
                x_range,
                y_range,
                FUNNEL_HEIGHT - 90,
            )
        )
    else:
        _no_data(fig, "No published group")
    unit = rows.denominator_unit.iloc[0] if len(rows) else "denominator"
    symbols = ", ".join(
        f"{DIMENSION_NAME[d]} {SYMBOL_WORD[DIMENSION_SYMBOL[d]]}" for d in DIMENSION_SYMBOL if d in set(rows.dimension)
    )
    return Chart(
        name,
        title,
        _layout(fig, "", f"Denominator ({unit})", "Percentage (%)", height=FUNNEL_HEIGHT),
        "Each point is a group of one dimension (" + symbols + "); the lines are the 95% and 99.8% funnel "
        "limits around the overall percentage (solid line) for a group of that size (Wilson score method, as "
        "PHE's funnel plots for proportions). Orange and light blue points lie beyond a 95% limit, red and dark "
        "blue beyond a 99.8% limit (the legend names each); grey points are within the 95% limits. Points "
        "outside the limits are labelled; hover over a point, or open the data table, for every group. "
        "Suppressed groups are not shown.",
        mart_rows(ineq[ineq.outcome == outcome].sort_values(["dimension", "group_value"]), INEQUALITY_TABLE),
    )


FUNNEL_HEIGHT = 480
SYMBOL_WORD = {"circle": "circles", "square": "squares", "diamond": "diamonds", "triangle-up": "triangles"}


FOREST_MODELS = {  # model_name: legend label, in the order shown; the first is the headline
    "total": "Total effect (inequality estimate)",
    "cluster_adjusted": "Within cluster (+ cluster, baseline admissions)",
    "original_notebook": "Original notebook (cluster, prior admissions)",
}


def _rate_ratio_label(term: str, level: str, reference: str | None) -> str:
    """A rate ratio's row as a reader names it: "IMD quintile 1 (most deprived) vs 5 (least deprived)"."""
    if term == "imd_quintile":
        ends = {"1": " (most deprived)", "5": " (least deprived)"}
        ref = f" vs {reference}{ends.get(str(reference), '')}" if reference else ""
        return f"IMD quintile {level}{ends.get(str(level), '')}{ref}"
    names = {"ethnicity_group": "", "age_band": "age ", "sex": "", "cluster": "cluster "}
    if term == "sex":
        level, reference = (
            {"F": "female", "M": "male"}.get(level, level),
            {"F": "female", "M": "male"}.get(reference, reference),
        )
    prefix = names.get(term, term.replace("_", " ") + " ")
    return f"{prefix}{level}" + (f" vs {prefix}{reference}" if reference else "")


def forest_plot(rr: pd.DataFrame, settings: Settings) -> Chart:
    """Rate ratios of each model's primary family: the `total` model is the headline (shown); the
    cluster-adjusted and original-notebook models are one button each, and "All models" shows them
    together. Each view lists only the rows its models estimate, so no row is empty."""
    r = rr[rr.is_primary & ~rr.term.isin(["intercept", "no estimate"])].copy()
    r["label"] = [
        _rate_ratio_label(t, str(lv), None if pd.isna(ref) else str(ref))
        for t, lv, ref in zip(r.term, r.level, r.reference_level)
    ]
    shown = [m for m in FOREST_MODELS if m in set(r.model_name)]

    def rows_of(models: list[str]) -> dict[str, int]:
        order = list(dict.fromkeys(r.set_index("model_name").loc[models].label)) if models else []
        return {label: len(order) - i for i, label in enumerate(order)}

    views = [[m] for m in shown] + ([shown] if len(shown) > 1 else [])
    positions = [rows_of(v) for v in views]
    offsets = {m: 0.22 * (1 - i) for i, m in enumerate(shown)}

    def y_for(model: str, view: int) -> list[float | None]:
        pos = positions[view]
        offset = offsets[model] if len(views[view]) > 1 else 0.0
        return [pos[label] + offset if label in pos else None for label in r[r.model_name == model].label]

    fig = go.Figure()
    for i, model in enumerate(shown):
        m = r[r.model_name == model]
        family = m.model_family.iloc[0].replace("_", " ")
        fig.add_trace(
            go.Scatter(
                x=m.irr,
                y=y_for(model, 0) if i == 0 else y_for(model, i),
                mode="markers",
                name=f"{FOREST_MODELS[model]}, {family}",
                visible=i == 0,
                marker={"color": OKABE_ITO[i], "size": 9, "symbol": ["circle", "square", "diamond"][i % 3]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": m.ci_upper - m.irr,
                    "arrayminus": m.irr - m.ci_lower,
                },
                customdata=m.label,
                hovertemplate="%{customdata}<br>IRR %{x:.2f}<extra>" + FOREST_MODELS[model] + "</extra>",
            )
        )
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    fig.update_xaxes(
        type="log",
        tickvals=[0.125, 0.25, 0.5, 1, 2, 4, 8, 16],
        ticktext=["0.125", "0.25", "0.5", "1", "2", "4", "8", "16"],
    )

    def axis(view: int) -> dict:
        pos = positions[view]
        return {"yaxis.tickvals": list(pos.values()), "yaxis.ticktext": list(pos), "yaxis.range": [0.4, len(pos) + 0.6]}

    first = axis(0) if views else {}
    fig.update_yaxes(
        tickvals=first.get("yaxis.tickvals"), ticktext=first.get("yaxis.ticktext"), range=first.get("yaxis.range")
    )
    buttons = []
    for v, models in enumerate(views):
        label = FOREST_MODELS[models[0]].split(" (")[0] if len(models) == 1 else "All models"
        buttons.append(
            {
                "label": label,
                "method": "update",
                "args": [
                    {"visible": [m in models for m in shown], "y": [y_for(m, v) for m in shown]},
                    axis(v),
                ],
            }
        )
    rows_shown = max((len(p) for p in positions), default=1)
    fig = _layout(
        fig,
        "",
        "Incidence rate ratio (95% CI, log scale; 1 = same rate as the reference)",
        None,
        height=max(360, 110 + 26 * rows_shown),
    )
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "buttons": buttons,
                "x": 0,
                "y": 1.02,
                "yanchor": "bottom",
                "xanchor": "left",
            }
        ],
        margin={"l": 290, "r": 30, "t": 70, "b": 60},
        legend={"orientation": "h", "y": -0.12, "x": 0},
    )
    total = r[r.model_name == "total"]
    family = total.model_family.iloc[0].replace("_", " ") if len(total) else "primary"
    return Chart(
        "forest_plot",
        "Emergency asthma admission rate ratios",
        fig,
        f"Headline: the total-effect {family} model of follow-up ({settings.followup_years}) emergency asthma "
        "admissions (offset log person-years) on deprivation, ethnicity, age band and sex, fitted on every "
        "patient with follow-up: each row is a rate ratio against the stated reference (IMD quintile 1 is "
        "the most deprived fifth of areas, 5 the least deprived), adjusted for the other three demographics "
        "only: the inequality estimate. The buttons switch to the within-cluster model (also adjusted for the "
        "utilisation cluster and baseline admissions, which lie on the path from deprivation to admission, so "
        "its ratios are smaller) and the original notebook's model (cluster and prior admissions), or show all "
        "three. Each model's family is chosen by a likelihood-ratio test of negative binomial against Poisson.",
        mart_rows(rr[rr.is_primary], RATE_RATIO_TABLE),
    )


def _not_shown(d: pd.DataFrame, value: str, settings: Settings) -> str:
    """Caption note naming the groups without a value, and why (disclosure control or too few events)."""
    hidden = d[d[value].isna()]
    parts = []
    suppressed = hidden[hidden.is_suppressed].group_value.tolist()
    if suppressed:
        parts.append(f"suppressed under disclosure control: {', '.join(suppressed)}")
    few = hidden[~hidden.is_suppressed].group_value.tolist()
    if few:
        parts.append(f"DSR not calculated (fewer than {settings.dsr_min_events} events): {', '.join(few)}")
    return (" Not shown: " + "; ".join(parts) + ".") if parts else ""


# Significance against the all-patients value (the marts' compared_with_all_patients, read with
# polarity), in the Fingertips manner: better, similar, worse, and not compared.
COMPARISON_STYLE = {
    "better": ("#0072B2", "Better than all patients (95% CI below)"),
    "similar": ("#BDBDBD", "Similar to all patients (95% CI overlaps)"),
    "worse": ("#D55E00", "Worse than all patients (95% CI above)"),
}


def _compared(row: pd.Series) -> str | None:
    """better / similar / worse from the mart's comparison and polarity."""
    c = row.get("compared_with_all_patients")
    if c is None or pd.isna(c):
        return None
    if c == "similar":
        return "similar"
    higher_is_worse = str(row.get("polarity", "higher is worse")) == "higher is worse"
    return "worse" if (c == "higher") == higher_is_worse else "better"


def dsr_chart(ineq: pd.DataFrame, dimension: str, title: str, axis: str, name: str, settings: Settings) -> Chart:
    d = ineq[(ineq.dimension == dimension) & (ineq.outcome == "emergency_admissions")].sort_values("group_value")
    d = d.assign(compared=d.apply(_compared, axis=1))
    fig = go.Figure()
    for key, (colour, legend) in COMPARISON_STYLE.items():
        g = d[d.compared == key]
        if g.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=g.group_value,
                y=g.dsr_per_1000,
                name=legend,
                marker_color=colour,
                marker_line={"color": "#333", "width": 0.5},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": g.dsr_upper_95 - g.dsr_per_1000,
                    "arrayminus": g.dsr_per_1000 - g.dsr_lower_95,
                    "color": "#222",
                },
                hovertemplate="%{x}: %{y:.1f} per 1,000 person-years<extra>" + legend + "</extra>",
            )
        )
    overall = ineq[(ineq.dimension == "all_patients") & (ineq.outcome == "emergency_admissions")]
    reference = float(overall.dsr_per_1000.iloc[0]) if len(overall) and pd.notna(overall.dsr_per_1000.iloc[0]) else None
    if reference is not None:
        fig.add_hline(y=reference, line={"color": "#000", "dash": "dash", "width": 1.5})
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": "#000", "dash": "dash", "width": 1.5},
                name=f"All patients: {reference:.1f} per 1,000 person-years",
            )
        )
    fig.update_xaxes(categoryorder="array", categoryarray=list(d.group_value))
    fig.update_layout(legend={"orientation": "h", "y": -0.25, "x": 0}, barmode="overlay")
    return Chart(
        name,
        title,
        _layout(fig, "", axis, "DSR per 1,000 person-years (95% CI)", height=460),
        f"Emergency asthma admissions {settings.study_years}, a directly age-standardised rate per 1,000 "
        "person-years (numerator: emergency asthma spells; denominator: person-years observed, split by age "
        "band as people age; standard: European Standard Population 2013; 95% CIs by the Dobson method with "
        "Byars limits, widened for patients with repeat admissions). Colour compares each group with all "
        "patients (dashed line) the way Fingertips does: worse when the group's whole 95% interval is above "
        "the all-patients rate, better when it is below, similar when it overlaps."
        + _not_shown(d, "dsr_per_1000", settings),
        mart_rows(d, INEQUALITY_TABLE),
    )


SII_LABEL = {
    "rate per 1,000 person-years": "rate",
    "percentage of index discharges": "% of index discharges",
    "percentage of patients": "% of patients",
}


def sii_chart(indices: pd.DataFrame) -> Chart:
    d = indices.dropna(subset=["rii"])
    labels = [f"{OUTCOME_NAME.get(o, o)} ({SII_LABEL.get(m, m)})" for o, m in zip(d.outcome, d.measure_type)]
    ratio, lower, upper = (
        d.most_to_least_deprived_ratio,
        d.most_to_least_deprived_ratio_lower,
        d.most_to_least_deprived_ratio_upper,
    )
    fig = go.Figure(
        go.Scatter(
            x=ratio,
            y=labels,
            mode="markers",
            marker={"size": 11, "color": OKABE_ITO[5]},
            error_x={"type": "data", "symmetric": False, "array": upper - ratio, "arrayminus": ratio - lower},
            hovertemplate="%{y}: %{x:.2f} times as high in the most deprived<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    text = " ".join(f"{OUTCOME_NAME.get(o, o)}: {i}." for o, i in zip(d.outcome, d.interpretation.fillna("")))
    return Chart(
        "sii_rii",
        "How much higher in the most deprived: inequality across IMD quintiles",
        _layout(
            fig, "", "Most deprived vs least deprived: times as high (95% CI; 1 = no difference)", None, height=360
        ),
        "PHE's slope and relative indices of inequality: a population-weighted regression of each outcome on "
        "the rank of deprivation, each on its own scale (age-standardised rates for admissions and "
        "exacerbations; percentages for readmissions among index discharges and SABA over-reliance among "
        "assessable patients), read at the most and the least deprived ends. A point at 2 means the most "
        "deprived have twice the value of the least deprived. " + text + _indices_not_shown(indices),
        mart_rows(indices, INDEX_TABLE),
    )


OUTCOME_NAME = {
    "emergency_admissions": "Emergency asthma admissions",
    "exacerbations": "Severe asthma exacerbations",
    "readmissions_30d": "30-day readmissions",
    "saba_over_reliance": "SABA over-reliance",
}


def _indices_not_shown(indices: pd.DataFrame) -> str:
    """Caption note naming the outcomes without a ratio, or without its interval, and why (the mart's note)."""
    missing = indices[indices.most_to_least_deprived_ratio_lower.isna()]
    if missing.empty:
        return ""
    why = "; ".join(f"{o.replace('_', ' ')}: {n}" for o, n in zip(missing.outcome, missing.note.fillna("")))
    return " Not shown, or shown without an interval: " + why + "."


# -------------------------------------------------------------------------------- summary
@dataclass
class Headline:
    """One summary sentence and where its numbers come from: the mart, the row (column values that
    pick it) and the columns it quotes, in the order the numbers appear in the text, with their
    format ("ratio": 2 decimals; "sig3": 3 significant figures, as health_equity.inequality.sig3)."""

    area: str
    text: str  # HTML: a bold label, then the sentence
    mart: str
    where: dict
    columns: list[str]
    formats: list[str]
    values: list[float]

    def html(self) -> str:
        """The sentence with each quoted number marked (span.num, in column order), found in turn
        after the label."""
        label_end = self.text.index("</b>") + 4 if "</b>" in self.text else 0
        head, body = self.text[:label_end], self.text[label_end:]
        out, at = [], 0
        for value, fmt, column in zip(self.values, self.formats, self.columns, strict=True):
            shown = quoted(value, fmt)
            i = body.index(shown, at)
            out.append(body[at:i] + f'<span class="num" data-column="{column}">{shown}</span>')
            at = i + len(shown)
        return (
            f'<li class="headline" data-area="{self.area}" data-mart="{self.mart}" '
            f"data-where='{html.escape(json.dumps(self.where))}' "
            f"data-columns='{html.escape(json.dumps(self.columns))}' "
            f"data-formats='{html.escape(json.dumps(self.formats))}'>{head}{''.join(out)}{body[at:]}</li>"
        )


def quoted(value: float, fmt: str) -> str:
    """A number as the summary quotes it: a ratio to 2 decimals, a gap to 3 significant figures."""
    return f"{value:.2f}" if fmt == "ratio" else sig3(value)


MEASURE_PHRASE = {
    "rate per 1,000 person-years": "age-standardised rate per 1,000 person-years",
    "percentage of index discharges": "% of index discharges",
    "percentage of patients": "% of assessable patients",
}


def asthma_headlines(indices: pd.DataFrame, rr: pd.DataFrame, settings: Settings) -> list[Headline]:
    """Who is worse off, by how much, how sure: the total model's deprivation rate ratio, then each
    outcome's most-vs-least deprived comparison in the indices mart's own words (its interpretation)."""
    out = []
    total = rr[(rr.model_name == "total") & rr.is_primary & (rr.term == "imd_quintile") & (rr.level.astype(str) == "1")]
    if len(total) and pd.notna(total.ci_lower.iloc[0]):
        t = total.iloc[0]
        significant = t.ci_lower > 1 or t.ci_upper < 1
        out.append(
            Headline(
                "asthma",
                f"<b>Emergency asthma admissions, follow-up {settings.followup_years}</b>: patients in the most "
                "deprived fifth of areas vs the least deprived fifth, allowing for ethnicity, age and sex: "
                f"{t.irr:.2f} times the admission rate (95% CI {t.ci_lower:.2f} to {t.ci_upper:.2f}); "
                f"{significance_in_words(significant)}.",
                "asthma_admission_rate_ratios",
                {"model_name": "total", "is_primary": True, "term": "imd_quintile", "level": "1"},
                ["irr", "ci_lower", "ci_upper"],
                ["ratio", "ratio", "ratio"],
                [float(t.irr), float(t.ci_lower), float(t.ci_upper)],
            )
        )
    for r in indices.itertuples():
        if pd.isna(r.interpretation):
            continue
        has_ratio = pd.notna(r.most_to_least_deprived_ratio_lower)
        columns = (
            ["most_to_least_deprived_ratio", "most_to_least_deprived_ratio_lower", "most_to_least_deprived_ratio_upper"]
            if has_ratio
            else []
        ) + ["most_minus_least_deprived", "most_minus_least_deprived_lower", "most_minus_least_deprived_upper"]
        period = settings.followup_years if r.outcome == "saba_over_reliance" else settings.study_years
        out.append(
            Headline(
                "asthma",
                f"<b>{html.escape(OUTCOME_NAME.get(r.outcome, r.outcome))}, {period}</b> "
                f"({html.escape(MEASURE_PHRASE.get(r.measure_type, r.measure_type))}): "
                f"{html.escape(r.interpretation)}.",
                "asthma_inequality_indices",
                {"outcome": r.outcome},
                columns,
                ["ratio"] * (3 if has_ratio else 0) + ["sig3"] * 3,
                [float(getattr(r, c)) for c in columns],
            )
        )
    return out


def hospital_headlines(
    tiers: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings
) -> list[Headline]:
    """The income gap (lowest vs highest income tier) and the income slope per doubling, in words."""
    out = []
    lowest, highest = settings.tier_names[0], settings.tier_names[-1]
    low = _headline(tiers)
    low = low[low.income_tier == lowest]
    if len(low) and pd.notna(low.gap_lower_95.iloc[0]):
        g = low.iloc[0]
        significant = g.gap_lower_95 > 0 or g.gap_upper_95 < 0
        out.append(
            Headline(
                "hospitals",
                f"<b>Hospital quality ({html.escape(score_label)})</b>: hospitals in {lowest.lower()}-income ZIPs vs "
                f"{highest.lower()}-income ZIPs: a mean score {_signed_words(g.gap_to_highest_tier)} (95% CI "
                f"{interval_in_words(g.gap_lower_95, g.gap_upper_95)}), which is "
                f"{sig3(g.gap_in_hospital_sd)} standard deviations of the score across hospitals; "
                f"{significance_in_words(significant)}.",
                "hospital_income_tiers",
                {"is_headline": True, "income_tier": lowest},
                ["gap_to_highest_tier", "gap_lower_95", "gap_upper_95", "gap_in_hospital_sd"],
                ["sig3"] * 4,
                [
                    float(g.gap_to_highest_tier),
                    float(g.gap_lower_95),
                    float(g.gap_upper_95),
                    float(g.gap_in_hospital_sd),
                ],
            )
        )
    reg = _headline(regression)
    reg = reg[(reg.model_name == "log_income") & (reg.term == "log_income") & (reg.row_type == "coefficient")]
    if len(reg) and pd.notna(reg.ci_lower_per_doubling.iloc[0]):
        r = reg.iloc[0]
        significant = r.ci_lower_per_doubling > 0 or r.ci_upper_per_doubling < 0
        out.append(
            Headline(
                "hospitals",
                f"<b>Hospital quality and ZIP income</b>: each doubling of the ZIP's median household income goes "
                f"with a score {_signed_words(r.estimate_per_doubling)} (95% CI "
                f"{interval_in_words(r.ci_lower_per_doubling, r.ci_upper_per_doubling)}); "
                f"{significance_in_words(significant)}. An association across hospitals, not a cause.",
                "hospital_income_regression",
                {"is_headline": True, "row_type": "coefficient", "model_name": "log_income", "term": "log_income"},
                ["estimate_per_doubling", "ci_lower_per_doubling", "ci_upper_per_doubling"],
                ["sig3"] * 3,
                [float(r.estimate_per_doubling), float(r.ci_lower_per_doubling), float(r.ci_upper_per_doubling)],
            )
        )
    return out


def summary_html(headlines: list[Headline]) -> str:
    if not headlines:
        return ""
    return (
        '<section class="summary"><h2>Summary</h2><p class="caption">Each line: who is worse off, by how '
        "much, with its 95% confidence interval, and whether the difference is statistically significant "
        "(the interval excludes no difference). Most deprived and least deprived are the fifths of areas at "
        "the two ends of the Index of Multiple Deprivation. A hospital score is in standard-deviation units of "
        "the standardised measure groups (CMS star-rating method): 0 is about the national average, higher is "
        "worse.</p><ul>" + "".join(h.html() for h in headlines) + "</ul></section>"
    )


# -------------------------------------------------------------------------------- origins
SECTION_SOURCES = {"hospitals": "hospitals_raw", "asthma": "asthma_raw"}
SECTION_SUBJECTS = {"hospitals": "real hospitals", "asthma": "real patients"}


def section_origin(provenance: pd.DataFrame, section: str) -> str:
    """Under a section's title: each file it rests on, with its vintage and origin, and one banner
    when any of them is synthetic."""
    p = provenance[(provenance.source_name == SECTION_SOURCES[section])]
    present = p[p.file_exists.fillna(False).astype(bool)].sort_values("extract_name")
    items = "".join(
        f"<li><b>{html.escape(r.extract_name)}</b>: {html.escape(os.path.basename(str(r.file_path)))}, "
        f"{html.escape(str(r.origin))}, {html.escape(str(r.vintage))}</li>"
        for r in present.itertuples()
    )
    absent = p[~p.file_exists.fillna(False).astype(bool)]
    if len(absent):
        items += "<li>Not supplied (optional): " + html.escape(", ".join(sorted(absent.extract_name))) + "</li>"
    synthetic = present[present.origin == "synthetic"]
    banner = ""
    if len(synthetic):
        every = len(synthetic) == len(present)
        banner = (
            f'<div class="banner synthetic" data-section="{section}">Synthetic data: '
            + ("every file" if every else f"{len(synthetic)} of the {len(present)} files")
            + f" behind this section {'was' if len(synthetic) == 1 else 'were'} generated, not taken from "
            + f"{SECTION_SUBJECTS[section]} ({html.escape(', '.join(synthetic.extract_name))}). The figures show "
            "how the analysis works, not the state of the world.</div>"
        )
    return f'{banner}<ul class="provenance origin" data-section="{section}">{items}</ul>'


# -------------------------------------------------------------------------------- page
def kpis(
    hospitals: pd.DataFrame, tiers: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings
) -> str:
    scored = hospitals[hospitals.is_scored.fillna(False).astype(bool)]
    lowest, highest = settings.tier_names[0], settings.tier_names[-1]
    low = _headline(tiers)
    low = low[low.income_tier == lowest]
    if len(low) and pd.notna(low.gap_to_highest_tier.iloc[0]):
        r = low.iloc[0]
        gap = f"{r.gap_in_hospital_sd:+.2f} SD"
        gap_note = (
            f"{lowest}- minus {highest}-income tier mean {score_label}: {r.gap_to_highest_tier:+.2f} on the score "
            f"(95% CI {r.gap_lower_95:+.2f} to {r.gap_upper_95:+.2f}), {r.gap_in_hospital_sd:+.2f} standard "
            f"deviations of the score across hospitals; positive = {lowest.lower()}-income hospitals worse"
        )
    else:
        gap, gap_note = "no data", f"no hospital has the {score_label}"
    slope = _headline(regression)
    slope = slope[(slope.model_name == "log_income") & (slope.term == "log_income")]
    if len(slope) and pd.notna(slope.estimate_per_doubling.iloc[0]):
        r = slope.iloc[0]
        slope_value = f"{r.estimate_per_doubling:+.2f} SD"
        slope_note = (
            f"change in the score for each doubling of ZIP median household income (95% CI "
            f"{r.ci_lower_per_doubling:+.2f} to {r.ci_upper_per_doubling:+.2f}; OLS, HC3); negative = hospitals in "
            "richer ZIPs score better"
        )
    else:
        slope_value, slope_note = "no estimate", "too few scored hospitals with an income"
    tiles = [
        ("Hospitals", f"{len(hospitals):,}", f"{len(scored):,} with the {score_label}"),
        ("Income gap", gap, gap_note),
        ("Income slope per doubling", slope_value, slope_note),
    ]
    return "".join(
        f'<div class="kpi"><div class="kpi-label">{html.escape(a)}</div><div class="kpi-value">{html.escape(b)}</div>'
        f'<div class="kpi-note">{html.escape(c)}</div></div>'
        for a, b, c in tiles
    )


def mixed_origins_banner(provenance: pd.DataFrame) -> str:
    """A banner when one analysis reads synthetic and supplied files together (var
    allow_mixed_origins); each section lists its own files (section_origin)."""
    p = provenance[provenance.file_exists.fillna(False).astype(bool)]
    mixed = p[p.has_mixed_origins.fillna(False).astype(bool)]
    if mixed.empty:
        return ""
    return (
        '<div class="banner">Mixed data: '
        + html.escape("; ".join(f"{r.extract_name} is {r.origin} ({r.file_path})" for r in mixed.itertuples()))
        + ". Synthetic and real files are analysed together (var allow_mixed_origins); the results describe "
        "neither.</div>"
    )


def deprivation_banner(inequalities: pd.DataFrame) -> str:
    """A banner over the asthma section when its deprivation groups are not the IMD: on the OMOP
    input they may be ACS median household income quintiles of U.S. ZIPs, or a supplied lookup's
    quintiles (asthma_inequalities.deprivation_measure, one label per build; dbt doc
    omop_deprivation). The charts keep the marts' name "IMD quintile"; the banner says what it is."""
    if "deprivation_measure" not in inequalities:
        return ""
    imd = inequalities[inequalities.dimension == "imd_quintile"]
    measures = sorted(
        set(imd.deprivation_measure[~imd.group_value.astype(str).str.startswith("not available")].dropna())
    )
    if not measures or measures == ["IMD 2019 quintile"]:
        return ""
    return (
        '<div class="banner" data-section="asthma">Deprivation here is not the IMD: the groups called '
        f'"IMD quintile" below are the {html.escape(" / ".join(measures))} (1 = most deprived, or lowest '
        "income; 5 = least deprived, or highest income).</div>"
    )


def build_charts(
    con: duckdb.DuckDBPyConnection, settings: Settings
) -> tuple[str, list[Chart], list[Chart], list[Headline]]:
    hospitals, tiers = load(con, "hospital_equity"), load(con, "hospital_income_tiers")
    states, regression = load(con, "hospital_state_performance"), load(con, "hospital_income_regression")
    scores = load(con, "hospital_scores")
    ineq, idx = load(con, "asthma_inequalities"), load(con, "asthma_inequality_indices")
    headline = _headline(tiers)
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
            "IMD quintile (1 = most deprived)",
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
        sii_chart(idx),
        proportion_funnel(
            ineq, "readmissions_30d", "Funnel plot: 30-day readmissions by group", "funnel_readmissions", settings
        ),
        proportion_funnel(
            ineq, "saba_over_reliance", "Funnel plot: SABA over-reliance by group", "funnel_saba", settings
        ),
    ]
    kpi_html = kpis(hospitals, tiers, regression, score_label, settings) + score_table(tiers, regression, settings)
    headlines = hospital_headlines(tiers, regression, score_label, settings) + asthma_headlines(
        idx, load(con, "asthma_admission_rate_ratios"), settings
    )
    return kpi_html, hospital_charts, asthma_charts, headlines


CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
header{background:#0b3c5d;color:#fff;padding:20px 32px}h1{margin:0;font-size:24px}
main{max-width:1200px;margin:0 auto;padding:16px 32px}h2{border-bottom:2px solid #0072B2;padding-bottom:4px}
.kpis{display:flex;gap:16px;flex-wrap:wrap}.kpi{flex:1;min-width:220px;background:#fff;border:1px solid #ddd;
border-radius:8px;padding:14px}.kpi-label{font-size:13px;color:#555}.kpi-value{font-size:28px;font-weight:600}
.kpi-note{font-size:12px;color:#666}.policy{font-size:13px;color:#333}
.chart{background:#fff;border:1px solid #ddd;border-radius:8px;margin:18px 0;
padding:8px 12px}.chart h3{margin:6px 0}.caption{font-size:13px;color:#444;margin:4px 0 8px}
footer{font-size:12px;color:#666;padding:16px 32px}
.summary ul{padding-left:20px}.summary li{margin:6px 0;font-size:15px;line-height:1.4}
.banner.synthetic{background:#fff8e1;border-color:#E69F00;color:#4a3000}
.stamp{font-size:13px;margin-top:8px}.provenance{font-size:13px;margin:4px 0 0 0}
.banner{background:#fff3cd;border:2px solid #D55E00;color:#5c2b00;padding:10px 14px;border-radius:6px;margin:12px 0;
font-weight:600}table.scores{border-collapse:collapse;margin:14px 0;font-size:13px;background:#fff}
table.scores td,table.scores th{border:1px solid #ddd;padding:6px 8px;text-align:left}
details.data{font-size:12px;margin:4px 0 8px}details.data table{border-collapse:collapse;max-height:320px;display:block;
overflow:auto}details.data td,details.data th{border:1px solid #e3e3e3;padding:2px 6px;text-align:right}
"""


TABLE_ROWS = 5000  # a data table lists at most this many mart rows


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:,.4g}"
    return str(value)


def frame_table(table: pd.DataFrame) -> str:
    """A chart's mart rows as an HTML data table (hidden until opened), columns named as in the mart."""
    shown = table.head(TABLE_ROWS)
    head = "<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns) + "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(None if pd.isna(v) else v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = f" (first {TABLE_ROWS:,} of {len(table):,})" if len(table) > TABLE_ROWS else ""
    return (
        f'<details class="data"><summary>Data table{more}</summary>'
        f'<table class="data"><thead>{head}</thead><tbody>{body}</tbody></table></details>'
    )


def _rounding_note(settings: Settings) -> str:
    if settings.round_counts_to > 1:
        return (
            f", other counts rounded to the nearest {settings.round_counts_to}, rates and percentages calculated "
            "from the rounded counts"
        )
    return ", other counts exact"


def render(con: duckdb.DuckDBPyConnection, built_at: str | None = None) -> str:
    settings = Settings.from_warehouse(con)
    kpi_html, hospital_charts, asthma_charts, headlines = build_charts(con, settings)
    provenance_rows = load(con, "data_provenance")
    banner = mixed_origins_banner(provenance_rows)
    built_at = built_at or pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")

    def section(charts: list[Chart]) -> str:
        out = []
        for c in charts:
            div = c.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"chart-{c.name}",
                config={"displaylogo": False, "responsive": True},
            )
            out.append(
                f'<section class="chart" data-chart="{c.name}"><h3>{html.escape(c.title)}</h3>{div}'
                f'<p class="caption">{html.escape(c.caption)}</p>{frame_table(c.table)}</section>'
            )
        return "\n".join(out)

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Health equity report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{CSS}</style><script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>Health equity report</h1><div>U.S. hospital clinical risk by ZIP income, and asthma
utilisation and inequalities. Built from the marts of the health-equity warehouse.</div>
<div class="stamp">Report built {html.escape(built_at)}. The files each section rests on, their vintage and
origin, are listed under its title.</div></header>
<main>{banner}
{summary_html(headlines)}
<p class="policy">Published figures only: every asthma figure here is aggregate, under the disclosure policy
"{html.escape(settings.disclosure_policy)}" (as set for this build: counts of {settings.redact_counts_at_or_below} or
fewer suppressed{_rounding_note(settings)}). A second group is hidden wherever a total would give a suppressed count
back. No patient-level table is shown or embedded.</p>
<h2 id="hospitals">U.S. hospitals</h2>{section_origin(provenance_rows, "hospitals")}
<div class="kpis">{kpi_html}</div>
{section(hospital_charts)}
<h2 id="asthma">Asthma</h2>{section_origin(provenance_rows, "asthma")}
{deprivation_banner(load(con, "asthma_inequalities"))}
{section(asthma_charts)}
</main><footer>Each section lists the files it was built from and whether each is synthetic or supplied. Every figure
is computed in the dbt project; see the dbt docs for definitions, sources and the disclosure policy.</footer>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m health_equity.report", description=__doc__)
    add_db_argument(p)
    add_path_argument(p, "--out", "reports/health_equity_report.html", "output HTML file")
    args = parse_with_db(p, argv)
    with duckdb.connect(str(args.db), read_only=True) as con:
        page = render(con)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({len(page) / 2**20:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
