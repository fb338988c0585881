"""Asthma section, admission rate ratios: the forest plot of each model's rate ratios."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from health_equity.outputs.report.helpers import OKABE_ITO, Chart, interval_bars, layout, mart_rows
from health_equity.outputs.report.settings import Settings

RATE_RATIO_TABLE = [
    "model_name", "model_family", "term", "level", "reference_level", "irr", "ci_lower", "ci_upper", "p_value",
    "n", "events", "person_years", "model_population",
]  # fmt: skip


FOREST_MODELS = {  # model_name: legend label, in the order shown; the first is the headline
    "total": "Total effect (inequality estimate)",
    "cluster_adjusted": "Within cluster (+ cluster, baseline admissions)",
    "original_notebook": "Original notebook (cluster, prior admissions)",
}


def _rate_ratio_label(term: str, level: str, reference: str | None, settings: Settings) -> str:
    """A rate ratio's row as a reader names it: "IMD quintile 1 (most deprived) vs 5 (least deprived)"."""
    if term == "imd_quintile":
        name = settings.quintile_words[0]
        ref = " vs " + settings.quintile_label(reference).removeprefix(name + " ") if reference else ""
        return settings.quintile_label(level) + ref
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
        _rate_ratio_label(t, str(lv), None if pd.isna(ref) else str(ref), settings)
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
                error_x=interval_bars(m.irr, m.ci_lower, m.ci_upper),
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
    fig = layout(
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
    quintile, low, high = settings.quintile_words
    return Chart(
        "forest_plot",
        "Emergency asthma admission rate ratios",
        fig,
        f"Headline: the total-effect {family} model of follow-up ({settings.followup_years}) emergency asthma "
        "admissions (offset log person-years) on deprivation, ethnicity, age band and sex, fitted on every "
        f"patient with follow-up: each row is a rate ratio against the stated reference ({quintile} 1 is "
        f"the {low} fifth of areas, 5 the {high}), adjusted for the other three demographics "
        "only: the inequality estimate. The buttons switch to the within-cluster model (also adjusted for the "
        "utilisation cluster and baseline admissions, which lie on the path from deprivation to admission, so "
        "its ratios are smaller) and the original notebook's model (cluster and prior admissions), or show all "
        "three. Each model's family is chosen by a likelihood-ratio test of negative binomial against Poisson.",
        mart_rows(rr[rr.is_primary], RATE_RATIO_TABLE),
    )
