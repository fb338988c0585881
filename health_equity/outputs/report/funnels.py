"""Funnel plots' shared parts: the limit lines, the points coloured by position and their non-overlapping labels."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.settings import Settings

FUNNEL_HEIGHT = 480  # every funnel plot's height in pixels


def funnel_lines(fig: go.Figure, n: np.ndarray, centre: float, limits, settings: Settings) -> None:
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
                "text": html.escape(texts[i]),  # plotly reads annotation text as HTML
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


DIMENSION_NAME = {
    "imd_quintile": "IMD quintile",
    "ethnicity_group": "ethnic group",
    "sex": "sex",
    "age_band": "age band",
    "all_patients": "all patients",
}


def dimension_names(settings: Settings) -> dict[str, str]:
    """DIMENSION_NAME with the deprivation groups named by what they measure in this build."""
    return DIMENSION_NAME | {"imd_quintile": settings.quintile_words[0]}


def position_points(
    fig: go.Figure,
    frame: pd.DataFrame,
    x: str,
    y: str,
    label: str,
    hover: str,
    symbols: dict | None = None,
    names: dict | None = None,
) -> None:
    """A funnel plot's points, one trace per funnel_position in its POSITION_STYLE colour, named in the
    legend. With `symbols` (dimension -> marker symbol) each point's symbol says its dimension, and the
    legend names the colours with plain circles and the symbols in outline, each symbol by its
    dimension's name in `names` (default DIMENSION_NAME)."""
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
                name=(names or DIMENSION_NAME)[d],
                marker={"size": 10, "color": "#ffffff", "symbol": symbols[d], "line": {"color": "#333", "width": 1.2}},
            )
        )
