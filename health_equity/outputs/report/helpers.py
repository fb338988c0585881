"""Shared chart and format helpers: palettes, the Chart record, the plotly layout, mart reading, wording."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import plotly.graph_objects as go

from health_equity.stats.inequality import amount_in_words

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TIER_COLOURS = ["#D55E00", "#E69F00", "#0072B2"]  # income tiers in tier_order, lowest income first
DIVERGING = "RdBu_r"  # blue = lower risk than national, red = higher; safe for red-green deficiency


@dataclass
class Chart:
    name: str
    title: str
    figure: go.Figure
    caption: str
    # The mart rows behind the chart, in the mart's own column names: its data table.
    table: pd.DataFrame


def mart_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The mart columns a data table shows (those the frame has), in that order."""
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)


def layout(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, height: int = 420) -> go.Figure:
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


def signed_words(value: float, unit: str = "") -> str:
    """A score difference by its direction and what that means (higher is worse): "0.28 SD lower
    (better)"."""
    if value == 0 or pd.isna(value):
        return "no different"
    return f"{amount_in_words(value, unit)} ({'worse' if value > 0 else 'better'})"


def headline_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the headline score (var headline_score) of a score-keyed hospital mart."""
    return frame[frame.is_headline.fillna(False).astype(bool)]


# The headline score's income slope in hospital_income_regression: the row the KPI tile, the
# scatter's caption and the summary quote.
INCOME_SLOPE = {"is_headline": True, "row_type": "coefficient", "model_name": "log_income", "term": "log_income"}


def rows_where(frame: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows whose columns hold the values of `where`, compared as text: the row a headline names
    by its column values (Headline.where) is the one it quotes."""
    keep = pd.Series(True, index=frame.index)
    for column, value in where.items():
        keep &= frame[column].astype(str) == str(value)
    return frame[keep]


def first_row(rows: pd.DataFrame, needed: str) -> pd.Series | None:
    """The first of the rows when there is one and its `needed` column has a value, else None."""
    if len(rows) and pd.notna(rows[needed].iloc[0]):
        return rows.iloc[0]
    return None


def interval_bars(value: pd.Series, lower: pd.Series, upper: pd.Series, **style) -> dict:
    """Plotly error bars (error_x or error_y) from each value to the two ends of its interval."""
    return {"type": "data", "symmetric": False, "array": upper - value, "arrayminus": value - lower, **style}


def no_data(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig
