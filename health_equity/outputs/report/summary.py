"""The summary's sentences: who is worse off, by how much, how sure, each number traced to its mart row."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field

import pandas as pd

from health_equity.outputs.report.helpers import INCOME_SLOPE, first_row, rows_where, signed_words
from health_equity.outputs.report.inequalities import OUTCOME_NAME
from health_equity.outputs.report.settings import Settings
from health_equity.stats.inequality import interval_in_words, sig3, significance_in_words


@dataclass
class Headline:
    """One summary sentence and where its numbers come from: the mart, the row (column values that
    pick it) and the columns it quotes, in the order the numbers appear in the text, with their
    format ("ratio": 2 decimals; "sig3": 3 significant figures, as health_equity.stats.inequality.sig3).
    templates/summary.html.j2 shows the label in bold, then the sentence."""

    area: str
    label: str
    text: str  # the sentence after the label
    mart: str
    where: dict
    columns: list[str]
    formats: list[str]
    row: InitVar[pd.Series]  # the mart row: values are its columns, in that order
    values: list[float] = field(init=False)

    def __post_init__(self, row: pd.Series) -> None:
        self.values = [float(row[c]) for c in self.columns]

    def parts(self) -> list[tuple[str, str | None]]:
        """The sentence as (text, column) pieces: each quoted number, found in turn, with its column
        (the template marks it span.num), and the text between them with None."""
        out, at = [], 0
        for value, fmt, column in zip(self.values, self.formats, self.columns, strict=True):
            shown = quoted(value, fmt)
            i = self.text.index(shown, at)
            out += [(self.text[at:i], None), (shown, column)]
            at = i + len(shown)
        return [*out, (self.text[at:], None)]


def quoted(value: float, fmt: str) -> str:
    """A number as the summary quotes it: a ratio to 2 decimals, a gap to 3 significant figures."""
    return f"{value:.2f}" if fmt == "ratio" else sig3(value)


def significance(lower: float, upper: float, no_difference: float) -> str:
    """Whether a 95% interval leaves out the value of no difference (1 for a ratio, 0 for a gap), in words."""
    return significance_in_words(lower > no_difference or upper < no_difference)


MEASURE_PHRASE = {
    "rate per 1,000 person-years": "age-standardised rate per 1,000 person-years",
    "percentage of index discharges": "% of index discharges",
    "percentage of patients": "% of assessable patients",
}


# The rows the headlines quote, by their column values (the trace each headline carries).
TOTAL_DEPRIVATION_RATIO = {"model_name": "total", "is_primary": True, "term": "imd_quintile", "level": "1"}


def asthma_headlines(indices: pd.DataFrame, rr: pd.DataFrame, settings: Settings) -> list[Headline]:
    """Who is worse off, by how much, how sure: the total model's deprivation rate ratio, then each
    outcome's most-vs-least deprived comparison in the indices mart's own words (its interpretation)."""
    out = []
    t = first_row(rows_where(rr, TOTAL_DEPRIVATION_RATIO), "ci_lower")
    if t is not None:
        out.append(
            Headline(
                "asthma",
                f"Emergency asthma admissions, follow-up {settings.followup_years}",
                f": patients in the {settings.quintile_words[1]} fifth of areas vs the {settings.quintile_words[2]} "
                "fifth, allowing for ethnicity, age and sex: "
                f"{t.irr:.2f} times the admission rate (95% CI {t.ci_lower:.2f} to {t.ci_upper:.2f}); "
                f"{significance(t.ci_lower, t.ci_upper, 1)}.",
                "asthma_admission_rate_ratios",
                TOTAL_DEPRIVATION_RATIO,
                ["irr", "ci_lower", "ci_upper"],
                ["ratio", "ratio", "ratio"],
                t,
            )
        )
    for _, r in indices.iterrows():
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
                f"{OUTCOME_NAME.get(r.outcome, r.outcome)}, {period}",
                f" ({MEASURE_PHRASE.get(r.measure_type, r.measure_type)}): {r.interpretation}.",
                "asthma_inequality_indices",
                {"outcome": r.outcome},
                columns,
                ["ratio"] * (3 if has_ratio else 0) + ["sig3"] * 3,
                r,
            )
        )
    return out


def hospital_headlines(
    tiers: pd.DataFrame, regression: pd.DataFrame, score_label: str, settings: Settings
) -> list[Headline]:
    """The income gap (lowest vs highest income tier) and the income slope per doubling, in words."""
    out = []
    lowest, highest = settings.tier_names[0], settings.tier_names[-1]
    lowest_tier = settings.lowest_tier_headline
    g = first_row(rows_where(tiers, lowest_tier), "gap_lower_95")
    if g is not None:
        out.append(
            Headline(
                "hospitals",
                f"Hospital quality ({score_label})",
                f": hospitals in {lowest.lower()}-income ZIPs vs "
                f"{highest.lower()}-income ZIPs: a mean score {signed_words(g.gap_to_highest_tier)} (95% CI "
                f"{interval_in_words(g.gap_lower_95, g.gap_upper_95)}), which is "
                f"{sig3(g.gap_in_hospital_sd)} standard deviations of the score across hospitals; "
                f"{significance(g.gap_lower_95, g.gap_upper_95, 0)}.",
                "hospital_income_tiers",
                lowest_tier,
                ["gap_to_highest_tier", "gap_lower_95", "gap_upper_95", "gap_in_hospital_sd"],
                ["sig3"] * 4,
                g,
            )
        )
    r = first_row(rows_where(regression, INCOME_SLOPE), "ci_lower_per_doubling")
    if r is not None:
        out.append(
            Headline(
                "hospitals",
                "Hospital quality and ZIP income",
                ": each doubling of the ZIP's median household income goes "
                f"with a score {signed_words(r.estimate_per_doubling)} (95% CI "
                f"{interval_in_words(r.ci_lower_per_doubling, r.ci_upper_per_doubling)}); "
                f"{significance(r.ci_lower_per_doubling, r.ci_upper_per_doubling, 0)}. An association across "
                "hospitals, not a cause.",
                "hospital_income_regression",
                INCOME_SLOPE,
                ["estimate_per_doubling", "ci_lower_per_doubling", "ci_upper_per_doubling"],
                ["sig3"] * 3,
                r,
            )
        )
    return out
