"""Asthma section, inequalities: DSRs by group, SII/RII and the proportion funnel plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.funnels import (
    FUNNEL_HEIGHT,
    dimension_names,
    funnel_lines,
    label_annotations,
    position_points,
)
from health_equity.outputs.report.helpers import OKABE_ITO, Chart, first_row, interval_bars, layout, mart_rows, no_data
from health_equity.outputs.report.settings import Settings
from health_equity.stats.measures import funnel_limits

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


INDEX_TABLE = [
    "outcome", "measure_type", "most_to_least_deprived_ratio", "most_to_least_deprived_ratio_lower",
    "most_to_least_deprived_ratio_upper", "most_minus_least_deprived", "most_minus_least_deprived_lower",
    "most_minus_least_deprived_upper", "indicator_unit", "sii", "sii_lower", "sii_upper", "rii", "rii_lower",
    "rii_upper", "interpretation", "note",
]  # fmt: skip


# A funnel point's marker symbol by its dimension, and the symbols' names in the captions.
DIMENSION_SYMBOL = {"imd_quintile": "circle", "ethnicity_group": "square", "sex": "diamond", "age_band": "triangle-up"}
SYMBOL_WORD = {"circle": "circles", "square": "squares", "diamond": "diamonds", "triangle-up": "triangles"}


def _group_name(dimension: str, group: str, settings: Settings) -> str:
    """A group as a reader names it: "IMD quintile 1 (most deprived)", "age 55+", "Asian/Asian British"."""
    if dimension == "imd_quintile":
        return settings.quintile_label(group)
    if dimension == "age_band":
        return f"age {group}"
    if dimension == "sex":
        return {"F": "female", "M": "male"}.get(str(group), str(group))
    return str(group)


def proportion_funnel(ineq: pd.DataFrame, outcome: str, title: str, name: str, settings: Settings) -> Chart:
    """Funnel plot of a proportion outcome (Wilson-based limits, as the mart's funnel columns): one
    point per published group of every dimension, against its denominator. Colour says where the
    point lies against the limits (the mart's funnel_position, named in the legend), the symbol which
    dimension it belongs to; only the points outside the 95% limits are labelled."""
    rows = ineq[
        (ineq.outcome == outcome) & (ineq.dimension != "all_patients") & ~ineq.is_suppressed.fillna(False).astype(bool)
    ]
    rows = rows.dropna(subset=["proportion_pct", "denominator"]).copy()
    names = dimension_names(settings)
    fig = go.Figure()
    if len(rows):
        overall = float(rows.overall_proportion_pct.iloc[0]) / 100
        n = np.linspace(max(float(rows.denominator.min()) * 0.8, 5.0), float(rows.denominator.max()) * 1.1, 200)

        def wilson_limits(z: float):
            lower, upper = funnel_limits(overall, n, z=z)
            return lower * 100, upper * 100

        funnel_lines(fig, n, overall * 100, wilson_limits, settings)
        rows["label"] = [_group_name(d, g, settings) for d, g in zip(rows.dimension, rows.group_value)]
        position_points(
            fig,
            rows,
            "denominator",
            "proportion_pct",
            "label",
            "%{customdata}: %{y:.1f}% of %{x:,}",
            symbols=DIMENSION_SYMBOL,
            names=names,
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
        no_data(fig, "No published group")
    unit = rows.denominator_unit.iloc[0] if len(rows) else "denominator"
    symbols = ", ".join(
        f"{names[d]} {SYMBOL_WORD[DIMENSION_SYMBOL[d]]}" for d in DIMENSION_SYMBOL if d in set(rows.dimension)
    )
    return Chart(
        name,
        title,
        layout(fig, "", f"Denominator ({unit})", "Percentage (%)", height=FUNNEL_HEIGHT),
        "Each point is a group of one dimension (" + symbols + "); the lines are the 95% and 99.8% funnel "
        "limits around the overall percentage (solid line) for a group of that size (Wilson score method, as "
        "PHE's funnel plots for proportions). Orange and light blue points lie beyond a 95% limit, red and dark "
        "blue beyond a 99.8% limit (the legend names each); grey points are within the 95% limits. Points "
        "outside the limits are labelled; hover over a point, or open the data table, for every group. "
        "Suppressed groups are not shown.",
        mart_rows(ineq[ineq.outcome == outcome].sort_values(["dimension", "group_value"]), INEQUALITY_TABLE),
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
                error_y=interval_bars(g.dsr_per_1000, g.dsr_lower_95, g.dsr_upper_95, color="#222"),
                hovertemplate="%{x}: %{y:.1f} per 1,000 person-years<extra>" + legend + "</extra>",
            )
        )
    overall = first_row(
        ineq[(ineq.dimension == "all_patients") & (ineq.outcome == "emergency_admissions")], "dsr_per_1000"
    )
    if overall is not None:
        reference = float(overall.dsr_per_1000)
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
        layout(fig, "", axis, "DSR per 1,000 person-years (95% CI)", height=460),
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


def sii_chart(indices: pd.DataFrame, settings: Settings) -> Chart:
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
            error_x=interval_bars(ratio, lower, upper),
            hovertemplate="%{y}: %{x:.2f} times as high in the most deprived<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    text = " ".join(f"{OUTCOME_NAME.get(o, o)}: {i}." for o, i in zip(d.outcome, d.interpretation.fillna("")))
    return Chart(
        "sii_rii",
        f"How much higher in the most deprived: inequality across {settings.quintile_words[0]}s",
        layout(fig, "", "Most deprived vs least deprived: times as high (95% CI; 1 = no difference)", None, height=360),
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
