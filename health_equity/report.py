"""One self-contained HTML report of the marts, readable offline (plotly.js embedded, no CDN).

It answers what the original Tableau dashboard did, correctly (risk standardised within measure
and hospital type, not raw scores of unrelated measures averaged), and adds the asthma analysis.
Usage: ``python -m health_equity.report --db health_equity.duckdb --out reports/health_equity_report.html``.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from health_equity._cli import add_db_argument, require_db

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TIER_COLOURS = {"Low": "#D55E00", "Mid": "#E69F00", "High": "#0072B2", "All": "#000000"}
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


# -------------------------------------------------------------------------------- hospitals
def state_map(states: pd.DataFrame) -> Chart:
    s = states[(states.income_tier == "All") & states.state_code.isin(TILES)].copy()
    s["row"] = s.state_code.map(lambda c: TILES[c][0])
    s["col"] = s.state_code.map(lambda c: TILES[c][1])
    lim = float(np.nanmax(np.abs(s.difference_to_national))) or 1.0
    fig = go.Figure(
        go.Scatter(
            x=s.col,
            y=-s.row,
            mode="markers+text",
            text=s.state_code,
            textfont={"color": "#111"},
            marker={
                "symbol": "square",
                "size": 42,
                "color": s.difference_to_national,
                "colorscale": DIVERGING,
                "cmin": -lim,
                "cmax": lim,
                "line": {"width": [3 if h else 0 for h in s.is_hotspot], "color": "#000"},
                "colorbar": {"title": {"text": "Risk vs national<br>(SD units)"}},
            },
            customdata=np.stack([s.state_name, s.mean_risk, s.hospitals, s.scored_hospitals], axis=-1),
            hovertemplate="%{customdata[0]}<br>mean risk %{customdata[1]:.2f} SD<br>"
            "%{customdata[3]} of %{customdata[2]} hospitals scored<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return Chart(
        "state_map",
        "Mean clinical risk by state against the national average",
        _layout(fig, "", height=520),
        "Each tile is a state (territories on the bottom row); colour = the state's mean normalised "
        "clinical risk minus the national average (red = worse). A black border marks a hotspot: worse "
        "than national with at least 5 scored hospitals. States with few scored hospitals are noisy.",
    )


def income_scatter(hospitals: pd.DataFrame, regression: pd.DataFrame) -> Chart:
    h = hospitals.dropna(subset=["clinical_risk_score", "median_household_income"])
    fig = go.Figure()
    for tier in ["Low", "Mid", "High"]:
        t = h[h.income_tier == tier]
        fig.add_trace(
            go.Scatter(
                x=t.median_household_income / 1000,
                y=t.clinical_risk_score,
                mode="markers",
                name=f"{tier} income",
                marker={"size": 4, "opacity": 0.45, "color": TIER_COLOURS[tier]},
            )
        )
        line = regression[(regression.row_type == "trend") & (regression.income_tier == tier)].set_index("term")
        if not line.empty:
            xs = np.linspace(t.median_household_income.min(), t.median_household_income.max(), 2) / 1000
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=line.estimate["intercept"] + line.estimate["income_thousands"] * xs,
                    mode="lines",
                    name=f"{tier} trend",
                    line={"color": TIER_COLOURS[tier], "width": 3},
                )
            )
    coef = regression[(regression.model_name == "log_income")].set_index("term").estimate
    xs = np.linspace(h.median_household_income.min(), h.median_household_income.max(), 200)
    fig.add_trace(
        go.Scatter(
            x=xs / 1000,
            y=coef["intercept"] + coef["log_income"] * np.log(xs),
            mode="lines",
            name="OLS on log income (all)",
            line={"color": "#000", "dash": "dash", "width": 2},
        )
    )
    fig.update_xaxes(type="log")
    slope = regression[(regression.model_name == "log_income") & (regression.term == "log_income")].iloc[0]
    return Chart(
        "income_scatter",
        "ZIP income against clinical risk",
        _layout(
            fig,
            "",
            "Median household income of the hospital's ZIP ($1,000, log scale)",
            "Clinical risk (SD within hospital type; higher = worse)",
        ),
        f"One point per scored hospital. Lines: OLS per income tier (income in $1,000s) and over all "
        f"hospitals on log income: {slope.estimate:.2f} SD per log-dollar (95% CI {slope.ci_lower:.2f} to "
        f"{slope.ci_upper:.2f}, HC3), R\u00b2 = {slope.r_squared:.3f}. Income is the ZCTA's (or its ZIP3 "
        "median when the ZIP has none); association, not causation.",
    )


def tier_bars(tiers: pd.DataFrame) -> Chart:
    t = tiers.sort_values("tier_order")
    fig = go.Figure(
        go.Bar(
            x=t.income_tier,
            y=t.mean_risk,
            marker_color=[TIER_COLOURS[x] for x in t.income_tier],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": t.mean_risk_upper_95 - t.mean_risk,
                "arrayminus": t.mean_risk - t.mean_risk_lower_95,
            },
            text=[f"n={n}" for n in t.scored_hospitals],
            textposition="outside",
        )
    )
    return Chart(
        "tier_bars",
        "Mean clinical risk by income tier",
        _layout(
            fig,
            "",
            "ZIP income tier (Low < $50k, Mid $50k-$100k, High >= $100k)",
            "Mean clinical risk (SD units, 95% CI)",
        ),
        "Bars: mean normalised clinical risk of the scored hospitals in each tier with 95% confidence "
        "intervals (normal approximation). The national average is 0 by construction.",
    )


def hotspot_heatmap(states: pd.DataFrame) -> Chart:
    s = states[states.income_tier.isin(["Low", "Mid", "High"])]
    grid = s.pivot(index="state_code", columns="income_tier", values="difference_to_national")
    grid = grid.reindex(columns=["Low", "Mid", "High"]).sort_index(ascending=False)
    hot = s.pivot(index="state_code", columns="income_tier", values="is_hotspot").reindex_like(grid)
    lim = float(np.nanmax(np.abs(grid.to_numpy()))) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(grid.columns),
            y=list(grid.index),
            colorscale=DIVERGING,
            zmin=-lim,
            zmax=lim,
            text=np.where(hot.fillna(False).to_numpy(dtype=bool), "\u25cf", ""),
            texttemplate="%{text}",
            colorbar={"title": {"text": "Risk vs national"}},
            hoverongaps=False,
        )
    )
    return Chart(
        "hotspots",
        "State x income tier hotspots",
        _layout(fig, "", "ZIP income tier", "State", height=1100),
        "Colour: mean clinical risk of the state's hospitals in the tier minus the national average. "
        "\u25cf marks a hotspot (worse than national with at least 5 scored hospitals); a dot in the Mid "
        "column marks states where even Mid-income hospitals fall below the national average.",
    )


# -------------------------------------------------------------------------------- asthma
def cluster_profiles(profiles: pd.DataFrame) -> Chart:
    p = profiles.sort_values("cluster_id")
    hidden = p[p.is_suppressed].cluster_label.tolist() if "is_suppressed" in p else []
    p = p[~p.is_suppressed] if "is_suppressed" in p else p
    feats = [c for c in p.columns if c.startswith("mean_baseline_") and c.endswith("_per_year")]
    fig = go.Figure()
    for i, (_, r) in enumerate(p.iterrows()):
        fig.add_trace(
            go.Bar(
                name=f"{r.cluster_label} ({r.share_of_clustered:.0%})",
                x=[f.removeprefix("mean_baseline_").removesuffix("_per_year").replace("_", " ") for f in feats],
                y=[r[f] for f in feats],
                marker_color=OKABE_ITO[i % len(OKABE_ITO)],
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log")
    note = f" Suppressed under disclosure control: {', '.join(hidden)}." if hidden else ""
    return Chart(
        "cluster_profiles",
        "Utilisation cluster profiles",
        _layout(fig, "", "Baseline utilisation feature", "Mean events per person-year (log scale)"),
        "k-means clusters of baseline (2022-23) utilisation per person-year; bars are each cluster's mean "
        "on the original scale, legend shows the cluster's share of patients. Labels are read off the "
        "profiles, not assigned in advance." + note,
    )


def forest_plot(rr: pd.DataFrame) -> Chart:
    r = rr[(rr.model_name == "adjusted") & rr.is_primary & (rr.term != "intercept")].copy()
    r["label"] = (
        r.term.str.replace("_", " ")
        + ": "
        + r.level.astype(str)
        + np.where(r.reference_level.notna(), " vs " + r.reference_level.astype(str), "")
    )
    r = r.iloc[::-1]
    fig = go.Figure(
        go.Scatter(
            x=r.irr,
            y=r.label,
            mode="markers",
            marker={"color": OKABE_ITO[0], "size": 9},
            error_x={"type": "data", "symmetric": False, "array": r.ci_upper - r.irr, "arrayminus": r.irr - r.ci_lower},
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    fig.update_xaxes(type="log")
    family = r.model_family.iloc[0].replace("_", " ") if len(r) else ""
    return Chart(
        "forest_plot",
        "Emergency asthma admission rate ratios",
        _layout(fig, "", "Incidence rate ratio (95% CI, log scale)", None, height=620),
        f"Adjusted {family} model of follow-up (2024) emergency asthma admissions with offset "
        "log(person-years): each row is a rate ratio against the stated reference, adjusted for the "
        "others. Cluster is estimated from baseline utilisation.",
    )


def _not_shown(d: pd.DataFrame, value: str) -> str:
    """Caption note naming the groups without a value, and why (disclosure control or too few events)."""
    hidden = d[d[value].isna()]
    parts = []
    suppressed = hidden[hidden.is_suppressed].group_value.tolist()
    if suppressed:
        parts.append(f"suppressed under disclosure control: {', '.join(suppressed)}")
    few = hidden[~hidden.is_suppressed].group_value.tolist()
    if few:
        parts.append(f"DSR not calculated (fewer than 10 events): {', '.join(few)}")
    return (" Not shown: " + "; ".join(parts) + ".") if parts else ""


def dsr_chart(ineq: pd.DataFrame, dimension: str, title: str, axis: str, name: str) -> Chart:
    d = ineq[(ineq.dimension == dimension) & (ineq.outcome == "emergency_admissions")].sort_values("group_value")
    fig = go.Figure(
        go.Bar(
            x=d.group_value,
            y=d.dsr_per_1000,
            marker_color=OKABE_ITO[0],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": d.dsr_upper_95 - d.dsr_per_1000,
                "arrayminus": d.dsr_per_1000 - d.dsr_lower_95,
            },
        )
    )
    return Chart(
        name,
        title,
        _layout(fig, "", axis, "DSR per 1,000 person-years (95% CI)"),
        "Emergency asthma admissions 2022-24, a rate per 1,000 person-years (numerator: emergency asthma "
        "spells; denominator: person-years observed, split by age band as people age). Directly "
        "age-standardised to the full European Standard Population 2013; 95% CIs by the Dobson method with "
        "Byars limits, widened for patients with repeat admissions." + _not_shown(d, "dsr_per_1000"),
    )


SII_LABEL = {
    "rate per 1,000 person-years": "rate",
    "percentage of index discharges": "% of index discharges",
    "percentage of patients": "% of patients",
}


def sii_chart(indices: pd.DataFrame) -> Chart:
    d = indices.dropna(subset=["rii"])
    labels = [f"{o.replace('_', ' ')} ({SII_LABEL.get(m, m)})" for o, m in zip(d.outcome, d.measure_type)]
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
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    text = "; ".join(
        f"{o.replace('_', ' ')}: {r:.2f} times, SII {s:+.3g} {u}"
        for o, r, s, u in zip(d.outcome, ratio, d.sii, d.indicator_unit)
    )
    return Chart(
        "sii_rii",
        "How much higher in the most deprived: inequality across IMD quintiles",
        _layout(fig, "", "Most deprived / least deprived fitted value (1 / RII, 95% CI)", None, height=360),
        "PHE method: population-weighted regression of each outcome on the ridit of deprivation, each on its "
        "own scale (age-standardised rates for admissions and exacerbations; percentages for readmissions "
        "among index discharges and SABA over-reliance among assessable patients). A point at 2 means the "
        "most deprived have twice the value of the least deprived. In the PHE convention the same result is "
        "an RII below 1 and a negative SII (least minus most deprived). " + text + ".",
    )


def kpis(hospitals: pd.DataFrame, tiers: pd.DataFrame) -> str:
    scored = hospitals[hospitals.is_scored]
    low = tiers.set_index("income_tier").loc["Low"] if "Low" in set(tiers.income_tier) else None
    gap = f"{low.gap_to_highest_tier:+.2f} SD ({low.gap_to_highest_tier_pct:+.1f}%)" if low is not None else "n/a"
    tiles = [
        ("Hospitals", f"{len(hospitals):,}", f"{len(scored):,} with a clinical risk score"),
        (
            "National average risk",
            f"{scored.clinical_risk_score.mean():.2f}",
            "normalised within hospital type, so 0 by construction",
        ),
        ("Performance gap", gap, "Low- vs High-income tier: mean risk (and mean score vs national rates)"),
    ]
    return "".join(
        f'<div class="kpi"><div class="kpi-label">{html.escape(a)}</div><div class="kpi-value">{html.escape(b)}</div>'
        f'<div class="kpi-note">{html.escape(c)}</div></div>'
        for a, b, c in tiles
    )


def build_charts(con: duckdb.DuckDBPyConnection) -> tuple[str, list[Chart], list[Chart]]:
    hospitals, tiers = load(con, "hospital_equity"), load(con, "hospital_income_tiers")
    states, regression = load(con, "hospital_state_performance"), load(con, "hospital_income_regression")
    ineq, idx = load(con, "asthma_inequalities"), load(con, "asthma_inequality_indices")
    hospital_charts = [
        state_map(states),
        income_scatter(hospitals, regression),
        tier_bars(tiers),
        hotspot_heatmap(states),
    ]
    asthma_charts = [
        cluster_profiles(load(con, "asthma_cluster_profiles")),
        forest_plot(load(con, "asthma_admission_rate_ratios")),
        dsr_chart(
            ineq,
            "imd_quintile",
            "Emergency asthma admissions by deprivation",
            "IMD quintile (1 = most deprived)",
            "dsr_imd",
        ),
        dsr_chart(
            ineq,
            "ethnicity_group",
            "Emergency asthma admissions by ethnic group",
            "Ethnic group (ONS 2021)",
            "dsr_ethnicity",
        ),
        sii_chart(idx),
    ]
    return kpis(hospitals, tiers), hospital_charts, asthma_charts


CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
header{background:#0b3c5d;color:#fff;padding:20px 32px}h1{margin:0;font-size:24px}
main{max-width:1200px;margin:0 auto;padding:16px 32px}h2{border-bottom:2px solid #0072B2;padding-bottom:4px}
.kpis{display:flex;gap:16px;flex-wrap:wrap}.kpi{flex:1;min-width:220px;background:#fff;border:1px solid #ddd;
border-radius:8px;padding:14px}.kpi-label{font-size:13px;color:#555}.kpi-value{font-size:28px;font-weight:600}
.kpi-note{font-size:12px;color:#666}.chart{background:#fff;border:1px solid #ddd;border-radius:8px;margin:18px 0;
padding:8px 12px}.chart h3{margin:6px 0}.caption{font-size:13px;color:#444;margin:4px 0 8px}
footer{font-size:12px;color:#666;padding:16px 32px}
"""


def render(con: duckdb.DuckDBPyConnection) -> str:
    kpi_html, hospital_charts, asthma_charts = build_charts(con)

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
                f'<p class="caption">{html.escape(c.caption)}</p></section>'
            )
        return "\n".join(out)

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Health equity report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{CSS}</style><script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>Health equity report</h1><div>U.S. hospital clinical risk by ZIP income, and asthma
utilisation and inequalities. Built from the marts of the health-equity warehouse.</div></header>
<main>
<h2>U.S. hospitals</h2><div class="kpis">{kpi_html}</div>
{section(hospital_charts)}
<h2>Asthma</h2>
{section(asthma_charts)}
</main><footer>Synthetic data unless the warehouse was pointed at real extracts. Small counts are suppressed in
the asthma marts. Every figure is computed in the dbt project; see the dbt docs for definitions and sources.</footer>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m health_equity.report", description=__doc__)
    add_db_argument(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports/health_equity_report.html"),
        help="output HTML file (default reports/health_equity_report.html)",
    )
    args = p.parse_args(argv)
    require_db(p, args.db)
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
