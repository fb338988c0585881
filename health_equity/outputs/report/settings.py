"""The build's configuration the report's captions and limits need, read from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from health_equity.outputs.report.helpers import TIER_COLOURS
from health_equity.stats.inequality import quintile_measure


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
    # What the deprivation groups (the marts' imd_quintile) measure in this build, as
    # asthma_inequalities labels them (health_equity.stats.inequality.quintile_measure): e.g.
    # "IMD 2019 quintile"; the "not available: ..." group's name when no patient has a quintile;
    # None when the mart has no imd_quintile rows.
    deprivation_measure: str | None = None

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
            deprivation_measure=quintile_measure(
                con.sql("select dimension, group_value, deprivation_measure from marts.asthma_inequalities").df()
            ),
        )

    @property
    def quintile_words(self) -> tuple[str, str, str]:
        """How the charts name the deprivation groups, and quintiles 1 and 5, by what they measure:
        the IMD ("IMD quintile", most and least deprived); on the OMOP input the ACS median household
        income of the patient's ZIP ("income quintile", lowest and highest income) or a supplied
        area lookup ("deprivation quintile"). The marts keep the column name imd_quintile whatever
        it measures; a chart says what it shows."""
        measure = self.deprivation_measure
        if measure is None or measure.startswith("IMD"):
            return "IMD quintile", "most deprived", "least deprived"
        if self.other_deprivation_measure and "income" in measure:
            return "income quintile", "lowest income", "highest income"
        return "deprivation quintile", "most deprived", "least deprived"

    @property
    def other_deprivation_measure(self) -> str | None:
        """What the deprivation groups measure when it is not the IMD and some patient has a
        quintile (the OMOP input: the ACS income quintile of the ZIP, or a supplied lookup's), for
        the banner over the asthma section; None otherwise."""
        measure = self.deprivation_measure
        if measure is None or measure.startswith(("IMD", "not available")):
            return None
        return measure

    def quintile_label(self, quintile: object) -> str:
        """A deprivation group as a reader names it: "IMD quintile 1 (most deprived)", "income quintile 3"."""
        name, low, high = self.quintile_words
        end = {"1": f" ({low})", "5": f" ({high})"}.get(str(quintile), "")
        return f"{name} {quintile}{end}"

    @property
    def lowest_tier_headline(self) -> dict[str, object]:
        """The row of hospital_income_tiers the income gap is quoted from (KPI tile, tier chart,
        summary): the headline score's lowest income tier."""
        return {"is_headline": True, "income_tier": self.tier_names[0]}

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
