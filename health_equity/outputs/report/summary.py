"""The summary's sentences: who is worse off, by how much, how sure, each number traced to its mart row."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from health_equity.outputs.report.helpers import headline_rows, signed_words
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
    values: list[float]

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
                f"Emergency asthma admissions, follow-up {settings.followup_years}",
                ": patients in the most deprived fifth of areas vs the least deprived fifth, allowing for ethnicity, "
                "age and sex: "
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
                f"{OUTCOME_NAME.get(r.outcome, r.outcome)}, {period}",
                f" ({MEASURE_PHRASE.get(r.measure_type, r.measure_type)}): {r.interpretation}.",
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
    low = headline_rows(tiers)
    low = low[low.income_tier == lowest]
    if len(low) and pd.notna(low.gap_lower_95.iloc[0]):
        g = low.iloc[0]
        significant = g.gap_lower_95 > 0 or g.gap_upper_95 < 0
        out.append(
            Headline(
                "hospitals",
                f"Hospital quality ({score_label})",
                f": hospitals in {lowest.lower()}-income ZIPs vs "
                f"{highest.lower()}-income ZIPs: a mean score {signed_words(g.gap_to_highest_tier)} (95% CI "
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
    reg = headline_rows(regression)
    reg = reg[(reg.model_name == "log_income") & (reg.term == "log_income") & (reg.row_type == "coefficient")]
    if len(reg) and pd.notna(reg.ci_lower_per_doubling.iloc[0]):
        r = reg.iloc[0]
        significant = r.ci_lower_per_doubling > 0 or r.ci_upper_per_doubling < 0
        out.append(
            Headline(
                "hospitals",
                "Hospital quality and ZIP income",
                ": each doubling of the ZIP's median household income goes "
                f"with a score {signed_words(r.estimate_per_doubling)} (95% CI "
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
