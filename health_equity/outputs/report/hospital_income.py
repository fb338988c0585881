"""Hospital section, ZIP income: income scatter, tier bars, the score table and the KPI tiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.helpers import (
    INCOME_SLOPE,
    OKABE_ITO,
    Chart,
    first_row,
    headline_rows,
    interval_bars,
    layout,
    mart_rows,
    no_data,
    rows_where,
    signed_words,
)
from health_equity.outputs.report.settings import Settings

# The columns of each hospital income mart a chart's data table shows, as the marts name them.
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
INCOME_TICKS = [10_000, 20_000, 50_000, 100_000, 200_000]


def income_scatter(scores: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings) -> Chart:
    h = headline_rows(scores).dropna(subset=["risk_score", "median_household_income"])
    reg = headline_rows(regression)
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
            f"with a score {signed_words(slope.estimate_per_doubling, 'SD')} (95% CI "
            f"{slope.ci_lower_per_doubling:+.2f} to {slope.ci_upper_per_doubling:+.2f} SD; HC3 standard errors, "
            f"n = {int(slope.n):,}; {slope.estimate:+.2f} SD per unit of log income), R\u00b2 = "
            f"{slope.r_squared:.3f}. "
        )
    else:
        reason = reg.no_estimate_reason.dropna()
        no_data(fig, "No estimate: " + (reason.iloc[0] if len(reason) else "no scored hospital"))
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
        layout(
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
                error_y=interval_bars(t.mean_risk, t.mean_risk_lower_95, t.mean_risk_upper_95, color="#222"),
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
        no_data(fig, "No hospital has a score")
    empty = tiers.groupby("score_name").mean_risk.apply(lambda m: m.isna().all())
    missing = [r.score_label for _, r in labels.iterrows() if empty[r.score_name]]
    gap = ""
    g = first_row(rows_where(tiers, settings.lowest_tier_headline), "gap_to_highest_tier")
    if g is not None:
        gap = (
            f" {settings.tier_names[0]} minus {settings.tier_names[-1]}: {g.gap_to_highest_tier:+.2f} on the score "
            f"(95% CI {g.gap_lower_95:+.2f} to {g.gap_upper_95:+.2f}), which is {g.gap_in_hospital_sd:+.2f} standard "
            "deviations of the score across hospitals."
        )
    return Chart(
        "tier_bars",
        "Mean hospital score by income tier, every score side by side",
        layout(fig, "", f"ZIP income tier ({settings.tier_bounds})", "Mean score (SD units, 95% CI)"),
        "Bars: mean score of the scored hospitals in each tier with 95% confidence intervals (normal "
        "approximation); the label gives the mean and the number of scored hospitals. The score is in standard "
        "deviation (SD) units of the standardised measure groups: 0 is about the national average, +1 is one "
        "SD worse; higher = worse. Only scored hospitals count, and the share scored differs by tier (data table: "
        "share_scored)." + gap + (f" Not shown, no data: {', '.join(missing)}." if missing else ""),
        mart_rows(tiers.sort_values(["score_name", "tier_order"]), TIER_TABLE),
    )


@dataclass(frozen=True)
class ScoreRow:
    """One score's row of the score table (templates/kpis.html.j2), as text."""

    score_label: str
    is_headline: bool
    scored_hospitals: str
    gap: str
    slope: str


def score_table(tiers: pd.DataFrame, regression: pd.DataFrame, settings: Settings) -> list[ScoreRow]:
    """Every score side by side: scored hospitals, lowest-highest tier gap with CI, income slope with CI, or why not."""
    lowest = settings.tier_names[0]
    rows = []
    for name, t in tiers.groupby("score_name", sort=True):
        first = t.iloc[0]
        low = t[t.income_tier == lowest]
        mine = regression[regression.score_name == name]
        reg = mine[(mine.model_name == "log_income") & (mine.term == "log_income")]
        why = mine[mine.row_type == "no_estimate"].no_estimate_reason
        gap = "no data"
        g = first_row(low, "gap_to_highest_tier")
        if g is not None:
            gap = f"{g.gap_to_highest_tier:+.2f} ({g.gap_lower_95:+.2f} to {g.gap_upper_95:+.2f})"
        slope = "no estimate: " + (why.dropna().iloc[0] if len(why.dropna()) else "no data")
        if len(reg):
            r = reg.iloc[0]
            slope = (
                f"{r.estimate_per_doubling:+.3f} ({r.ci_lower_per_doubling:+.3f} to {r.ci_upper_per_doubling:+.3f}), "
                f"n = {int(r.n):,}"
            )
        rows.append(
            ScoreRow(str(first.score_label), bool(first.is_headline), f"{int(t.scored_hospitals.sum()):,}", gap, slope)
        )
    return rows


def kpis(
    hospitals: pd.DataFrame, tiers: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings
) -> list[tuple[str, str, str]]:
    """The KPI tiles (templates/kpis.html.j2): label, value and note of each, as text."""
    scored = hospitals[hospitals.is_scored.fillna(False).astype(bool)]
    lowest, highest = settings.tier_names[0], settings.tier_names[-1]
    r = first_row(rows_where(tiers, settings.lowest_tier_headline), "gap_to_highest_tier")
    if r is not None:
        gap = f"{r.gap_in_hospital_sd:+.2f} SD"
        gap_note = (
            f"{lowest}- minus {highest}-income tier mean {score_label}: {r.gap_to_highest_tier:+.2f} on the score "
            f"(95% CI {r.gap_lower_95:+.2f} to {r.gap_upper_95:+.2f}), {r.gap_in_hospital_sd:+.2f} standard "
            f"deviations of the score across hospitals; positive = {lowest.lower()}-income hospitals worse"
        )
    else:
        gap, gap_note = "no data", f"no hospital has the {score_label}"
    r = first_row(
        rows_where(regression, INCOME_SLOPE),
        "estimate_per_doubling",
    )
    if r is not None:
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
    return tiles
