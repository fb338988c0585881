"""Hospital section, the states: tile map, funnel plot and state x income tier hotspots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.funnels import FUNNEL_HEIGHT, funnel_lines, label_annotations, position_points
from health_equity.outputs.report.helpers import DIVERGING, Chart, headline_rows, layout, mart_rows, no_data
from health_equity.outputs.report.settings import Settings

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


# The columns of the state mart a chart's data table shows, as the mart names them.
STATE_TABLE = [
    "state_code", "state_name", "income_tier", "cell_level", "hospitals", "scored_hospitals", "share_scored",
    "share_scored_lower_95", "share_scored_upper_95", "mean_risk", "national_average_risk", "difference_to_national",
    "funnel_lower_95", "funnel_upper_95", "funnel_lower_99_8", "funnel_upper_99_8", "funnel_lower_95_adjusted",
    "funnel_upper_95_adjusted", "funnel_lower_99_8_adjusted", "funnel_upper_99_8_adjusted", "position_limits",
    "funnel_position", "is_hotspot", "cell_note",
]  # fmt: skip


def _text_colour(values: np.ndarray, lim: float) -> list[str]:
    """Black or white tile text, whichever contrasts with the diverging colour under it."""
    return ["#ffffff" if lim and abs(v) / lim > 0.55 else "#111111" for v in values]


def state_map(states: pd.DataFrame, score_label: str, min_hospitals: int) -> Chart:
    s = headline_rows(states)
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
        no_data(fig, f"No hospital has the {score_label}")
    return Chart(
        "state_map",
        f"Mean {score_label} by state against the national average",
        layout(fig, "", height=560),
        "Each tile is a state (territories on the bottom row); colour = the state's mean score minus the "
        "national mean, in SD units of the score (red = worse, blue = better, near white = about national); a "
        "crossed grey outline = no scored hospital, so no data. A thick black outline marks a hotspot: above the "
        "95% funnel limit for its number of scored hospitals (widened for overdispersion when the states vary "
        f"more than chance allows), with at least {min_hospitals} scored hospitals.",
        mart_rows(s.sort_values("state_code"), STATE_TABLE),
    )


def funnel_plot(states: pd.DataFrame, score_label: str, settings: Settings) -> Chart:
    s = headline_rows(states)
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

        funnel_lines(fig, n, centre, normal_limits, settings)
        position_points(
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
        no_data(fig, f"No hospital has the {score_label}")
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
        layout(fig, "", "Scored hospitals in the state (log scale)", "Mean score (SD units)", height=FUNNEL_HEIGHT),
        f"Each point is a state. The lines are the national mean (solid) and its 95% and 99.8% limits for a state "
        f"with that many scored hospitals (national mean +/- {settings.z_95:.2f} and {settings.z_99_8:.2f} "
        "standard errors)." + widened + " Orange and red points lie above the 95% and the 99.8% limit (worse than "
        "national beyond chance), light and dark blue below them (better); grey points are within the 95% "
        "limits, and only the points outside are labelled.",
        mart_rows(s.sort_values("state_code"), STATE_TABLE),
    )


def hotspot_heatmap(states: pd.DataFrame, min_hospitals: int, settings: Settings) -> Chart:
    s = headline_rows(states)
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
        layout(fig, "", "ZIP income tier", "State", height=1150),
        "Colour: mean score of the state's hospitals in the tier minus the national mean, in SD units, for cells "
        f"with at least {min_hospitals} scored hospitals (red = worse, blue = better, near white = about "
        f"national); light grey: fewer than {min_hospitals} scored hospitals; dark grey: no hospital in the cell. "
        "A black dot with a white ring marks a hotspot: above the 95% funnel limit (widened for overdispersion "
        "when found). A dot in the Mid column marks states where even Mid-income hospitals are worse than national.",
        mart_rows(s.sort_values(["state_code", "income_tier"]), STATE_TABLE),
    )
