"""Safe to publish: what leaves the warehouse, attacked as a data-governance reviewer would.

Everything published together is collected the way a reader gets it (the Parquet files and the
Hyper extract that `python -m health_equity.outputs.exports` writes, and the data tables of the HTML
report), then every suppressed asthma count is attacked:

- the one-query attack on a patient-level table (no published table may be at patient grain);
- the same group's other outcome rows (a group's patients and person-years must be hidden or
  shown the same way in every row, in every source);
- figures that give a count back (a rate times its person-years, a percentage times its
  denominator must give the published, rounded count, not the exact one);
- the total minus the other groups, solved as a linear program over every published count of
  the partition at once: each published count is only known to lie within its rounding interval,
  each hidden count is a non-negative unknown, the groups add up to the total, a numerator is no
  larger than its denominator. A hidden count is recovered when the smallest and largest values
  the published figures allow contain a single whole number.

The attack runs on the default build (10,000 patients, as `make build` makes it), on a
2,000-patient build and on a build with a threshold of 29, where many cells are hidden; a last
test shows the same attack does recover counts when only the primary rule is applied.
"""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pantab
import pytest
from conftest import SMALL, Build, shared_build
from scipy import optimize

from health_equity.outputs import exports, report

REDACT_AT_OR_BELOW = 7  # dbt_project.yml defaults: the OpenSAFELY rules
ROUND_TO = 5
KEY = ["dimension", "group_value", "outcome"]
GROUP_KEY = ["dimension", "group_value"]
# Figures of asthma_inequalities computed from a count: NULL wherever the row is suppressed.
DERIVED = [
    "indicator_value", "indicator_lower_95", "indicator_upper_95", "crude_rate_per_1000", "crude_rate_lower_95",
    "crude_rate_upper_95", "dsr_per_1000", "dsr_lower_95", "dsr_upper_95", "proportion_pct", "proportion_lower_95",
    "proportion_upper_95", "funnel_lower_95", "funnel_upper_95", "funnel_lower_998", "funnel_upper_998",
]  # fmt: skip
# The report's asthma charts (their data tables are at group, cluster or model grain).
ASTHMA_CHARTS = {
    "cluster_profiles", "forest_plot", "dsr_imd", "dsr_ethnicity", "sii_rii", "funnel_readmissions", "funnel_saba",
}  # fmt: skip
# Every count column of the published asthma marts (model and partition totals included).
COUNTS = {
    "asthma_inequalities": ["numerator", "patients", "events"],
    "asthma_cluster_profiles": ["patients", "followup_emergency_admissions"],
    "asthma_admission_rate_ratios": ["n", "events"],
    "asthma_model_diagnostics": ["n", "events"],
}


@pytest.fixture(scope="session")
def build_2k(tmp_path_factory) -> Build:
    """`dbt build` on 2,000 generated patients (Parquet, as `make build` writes them)."""
    b = shared_build(tmp_path_factory, "disclosure_2k", "--patients", "2000", "--hospitals", "600", "--seed", "42")
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def strict_build(tmp_path_factory) -> Build:
    """4,000 patients with counts of 29 or fewer redacted: many small cells to protect."""
    b = shared_build(tmp_path_factory, "strict_disclosure", *SMALL, vars_={"redact_counts_at_or_below": 29})
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


# --- what is published -------------------------------------------------------------------------


class _DataTables(HTMLParser):
    """The report's data tables (<table class="data">), keyed by the chart they belong to."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._chart = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("data-chart"):
            self._chart = a["data-chart"]
        elif tag == "table" and a.get("class") == "data":
            self._rows = []
        elif self._rows is not None and tag == "tr":
            self._rows.append([])
        elif self._rows is not None and tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._chart] = self._rows
            self._rows = None


def report_tables(html_text: str) -> dict[str, pd.DataFrame]:
    parser = _DataTables()
    parser.feed(html_text)
    out = {}
    for chart, rows in parser.tables.items():
        frame = pd.DataFrame(rows[1:], columns=rows[0]).replace("", None)
        for c in frame.columns:
            converted = pd.to_numeric(frame[c].str.replace(",", ""), errors="coerce")
            if converted.notna().sum() == frame[c].notna().sum():
                frame[c] = converted
        out[chart] = frame
    return out


def published(build: Build, out: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """Everything a reader of the published outputs gets: {source: {table: frame}}."""
    manifest = build.db.parent / "target" / "manifest.json"
    code = exports.main(["--db", str(build.db), "--out", str(out), "--hyper", "yes", "--manifest", str(manifest)])
    assert code == 0
    parquet = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    hyper = pantab.frames_from_hyper(out / "health_equity.hyper")
    hyper = {(k[-1] if isinstance(k, tuple) else str(k).split(".")[-1]).strip('"'): v for k, v in hyper.items()}
    with duckdb.connect(str(build.db), read_only=True) as con:
        page = report.render(con, built_at="test")
    return {"parquet": parquet, "hyper": hyper, "report": report_tables(page)}


@pytest.fixture(scope="module")
def releases(clean_build, build_2k, strict_build, tmp_path_factory) -> dict[str, tuple[Build, dict]]:
    builds = {"default 10k": clean_build, "2k": build_2k, "threshold 29": strict_build}
    return {name: (b, published(b, tmp_path_factory.mktemp("release"))) for name, b in builds.items()}


def register_patients(build: Build) -> int:
    return build.query("select count(*) from marts.asthma_patients")[0][0]


# --- no patient-level table ----------------------------------------------------------------------


def test_no_published_table_is_at_patient_grain(releases):
    for name, (build, sources) in releases.items():
        patients = register_patients(build)
        assert patients > 0
        for source, tables in sources.items():
            for table, frame in tables.items():
                assert "patient_key" not in frame.columns, (name, source, table)
                assert not table.startswith(("asthma_patients", "asthma_patient_clusters")), (name, source, table)
                if table.startswith("asthma_") or table in ASTHMA_CHARTS:  # hospitals: public, one row each
                    assert len(frame) < patients / 10, (name, source, table, len(frame))
        # The one-query attack needs asthma_patients: it is not among the published tables.
        assert {"asthma_inequalities", "asthma_cluster_profiles"} <= set(sources["parquet"])
        assert set(sources["parquet"]) == set(sources["hyper"])
        assert ASTHMA_CHARTS <= set(sources["report"])


# --- the policy ------------------------------------------------------------------------------------


def test_published_counts_follow_the_default_policy(releases):
    for name, (_, sources) in releases.items():
        threshold = 29 if name == "threshold 29" else REDACT_AT_OR_BELOW
        for table, columns in COUNTS.items():
            for source in ("parquet", "hyper"):
                frame = sources[source][table]
                for c in columns:
                    values = frame[c].dropna().astype(float)
                    assert (values > threshold).all(), (name, source, table, c, values[values <= threshold])
                    assert (values % ROUND_TO == 0).all(), (name, source, table, c)
        ineq = sources["parquet"]["asthma_inequalities"]
        counts = ineq.loc[~ineq.measure_type.str.startswith("rate"), "denominator"].dropna()
        assert ((counts > threshold) & (counts % ROUND_TO == 0)).all(), name
        assert set(ineq.disclosure_action) <= {
            "suppressed: small count, or hidden to protect one",
            f"published: counts rounded to the nearest {ROUND_TO}; "
            "figures that could give a count back use the rounded counts",
        }


def test_the_policy_is_named_where_its_figures_are_read(clean_build):
    settings = clean_build.df("select * from intermediate.int_project_settings").iloc[0]
    assert settings.redact_counts_at_or_below == REDACT_AT_OR_BELOW and settings.round_counts_to == ROUND_TO
    assert "OpenSAFELY" in settings.disclosure_policy
    with duckdb.connect(str(clean_build.db), read_only=True) as con:
        page = report.render(con, built_at="test")
    assert settings.disclosure_policy in page and "No patient-level table" in page


# --- the attacks -----------------------------------------------------------------------------------


def _inequality_views(sources: dict) -> list[tuple[str, pd.DataFrame]]:
    """Every published copy of asthma_inequalities rows: the exports and the report's tables."""
    views = [(s, sources[s]["asthma_inequalities"]) for s in ("parquet", "hyper")]
    views += [(f"report:{c}", t) for c, t in sources["report"].items() if set(KEY) <= set(t.columns)]
    assert len(views) >= 5  # the exports and the report's DSR and funnel tables
    return views


def test_hidden_rows_are_blank_in_every_source_and_group_denominators_agree(releases):
    for name, (build, sources) in releases.items():
        mart = build.df("select * from marts.asthma_inequalities")
        hidden = mart[mart.is_suppressed].set_index(KEY)
        groups_hidden = mart[mart.is_group_suppressed][GROUP_KEY].drop_duplicates()
        for source, view in _inequality_views(sources):
            v = view.set_index(KEY)
            rows = v.loc[v.index.intersection(hidden.index)]
            blank = [c for c in ["numerator", "events", *DERIVED] if c in rows.columns]
            assert rows[blank].isna().all().all(), (name, source)
            # A count denominator is the row's own; a rate's is the group's person-years (below).
            counted = hidden.loc[rows.index].measure_type.str.startswith("rate")
            assert rows.loc[~counted.to_numpy(), "denominator"].isna().all(), (name, source)
            if "person_years" in view.columns:
                rate_rows = view[view.measure_type.str.startswith("rate")]
                assert (rate_rows.denominator.isna() == rate_rows.person_years.isna()).all(), (name, source)
                assert np.allclose(rate_rows.denominator.dropna(), rate_rows.person_years.dropna()), (name, source)
            # The same group's other outcome rows: a group's patients and person-years are one
            # value, shown in every row or in none.
            for column in ("patients", "person_years"):
                if column not in view.columns:
                    continue
                per_group = view.groupby(GROUP_KEY)[column].agg(lambda s: s.dropna().nunique())
                assert (per_group <= 1).all(), (name, source, column)
                shown = view.dropna(subset=[column])[GROUP_KEY].drop_duplicates()
                leak = shown.merge(groups_hidden, on=GROUP_KEY)
                assert leak.empty, (name, source, column, leak)
                if column == "patients":  # a shown group shows them in each of its rows
                    counted = view.groupby(GROUP_KEY)[column].agg(lambda s: s.notna().all() or s.isna().all())
                    assert counted.all(), (name, source)


def test_no_published_figure_gives_an_exact_count_back(releases):
    for name, (build, sources) in releases.items():
        exact = build.df("select * from intermediate.int_asthma_inequality_rates").set_index(KEY)
        mart = sources["parquet"]["asthma_inequalities"].set_index(KEY)
        shown = mart[~mart.is_suppressed]
        rates = shown[shown.measure_type.str.startswith("rate")]
        from_rate = rates.crude_rate_per_1000 * rates.person_years / 1000
        assert np.allclose(from_rate, rates.numerator.astype(float), atol=1e-6), name
        props = shown[~shown.measure_type.str.startswith("rate") & (shown.denominator > 0)]
        from_pct = props.proportion_pct * props.denominator / 100
        assert np.allclose(from_pct, props.numerator.astype(float), atol=1e-6), name
        # Rounding moved some counts; for those the figures give back the rounded count only.
        moved = shown.index[shown.numerator.astype(int) != exact.loc[shown.index, "numerator"].astype(int)]
        assert len(moved) > 0, name


def _bounds(value: float, rounded: bool) -> tuple[float, float | None]:
    """What a reader knows of a count from its published value: its rounding interval."""
    if pd.isna(value):
        return (0.0, None)  # hidden: any non-negative amount
    half = (ROUND_TO - 1) / 2 if rounded else 1e-9
    return (max(0.0, float(value) - half), float(value) + half)


def attack_partition(cells: pd.DataFrame, total: pd.Series, columns: list[str], rounded: list[bool]) -> list[str]:
    """Solve for each hidden count of one partition (the groups of a dimension) from everything
    published about it. Returns the hidden cells whose feasible values hold one whole number."""
    cells = cells.reset_index(drop=True)
    k, m = len(cells), len(columns)
    # Unknowns: every group's every column, then the total's every column.
    n = (k + 1) * m

    def var(i: int, j: int) -> int:
        return j * (k + 1) + i

    bounds = [(0.0, None)] * n
    for j, (c, r) in enumerate(zip(columns, rounded)):
        for i in range(k):
            bounds[var(i, j)] = _bounds(cells.at[i, c], r)
        bounds[var(k, j)] = _bounds(total[c], r)
    a_eq, b_eq = [], []
    for j in range(m):  # the groups add up to the total
        row = np.zeros(n)
        for i in range(k):
            row[var(i, j)] = 1
        row[var(k, j)] = -1
        a_eq.append(row)
        b_eq.append(0.0)
    a_ub, b_ub = [], []
    if "denominator" in columns and "numerator" in columns:  # a numerator within its denominator
        jn, jd = columns.index("numerator"), columns.index("denominator")
        for i in range(k + 1):
            row = np.zeros(n)
            row[var(i, jn)], row[var(i, jd)] = 1, -1
            a_ub.append(row)
            b_ub.append(0.0)
    recovered = []
    for j, c in enumerate(columns):
        for i in range(k):
            if not pd.isna(cells.at[i, c]):
                continue
            obj = np.zeros(n)
            obj[var(i, j)] = 1
            kw = {"A_eq": a_eq, "b_eq": b_eq, "A_ub": a_ub or None, "b_ub": b_ub or None, "bounds": bounds}
            lo, hi = optimize.linprog(obj, **kw), optimize.linprog(-obj, **kw)
            assert lo.status == 0, lo.message
            if hi.status == 3:  # unbounded above: nothing to recover
                continue
            assert hi.status == 0, hi.message
            if math.floor(-hi.fun + 1e-6) <= math.ceil(lo.fun - 1e-6):
                recovered.append(f"{cells.at[i, 'group_value']}:{c} in [{lo.fun:.2f}, {-hi.fun:.2f}]")
    return recovered


def attack_inequalities(mart: pd.DataFrame, rounded: bool = True) -> tuple[int, list[str]]:
    """Every partition of a published asthma_inequalities: the groups of each dimension, for each
    outcome's counts and for the groups' own patients and person-years."""
    hidden, recovered = 0, []
    for outcome, rows in mart.groupby("outcome"):
        proportion = not rows.measure_type.iloc[0].startswith("rate")
        columns = ["numerator", "denominator"] if proportion else ["numerator"]
        total = rows[rows.dimension == "all_patients"].iloc[0]
        for dim, cells in rows[rows.dimension != "all_patients"].groupby("dimension"):
            hidden += int(cells.numerator.isna().sum())
            found = attack_partition(cells, total, columns, [rounded] * len(columns))
            recovered += [f"{outcome}/{dim}/{r}" for r in found]
    groups = mart.groupby(GROUP_KEY, as_index=False).agg(
        patients=("patients", "first"), person_years=("person_years", "max")
    )
    total = groups[groups.dimension == "all_patients"].iloc[0]
    for dim, cells in groups[groups.dimension != "all_patients"].groupby("dimension"):
        hidden += int(cells.patients.isna().sum())
        found = attack_partition(cells, total, ["patients", "person_years"], [rounded, False])
        recovered += [f"groups/{dim}/{r}" for r in found]
    return hidden, recovered


def test_no_suppressed_count_can_be_recovered_from_everything_published(releases):
    hidden_total = 0
    for name, (_, sources) in releases.items():
        for source in ("parquet", "hyper"):
            mart = sources[source]["asthma_inequalities"]
            hidden, recovered = attack_inequalities(mart)
            assert recovered == [], (name, source, recovered)
            hidden_total += hidden
        # The report's tables carry no count the exports do not (checked above), so the same attack
        # on them finds nothing more; the clusters: the shown shares and the model's rounded total.
        prof = sources["parquet"]["asthma_cluster_profiles"]
        assert prof.is_suppressed.sum() != 1, name
        kmeans = sources["parquet"]["asthma_model_diagnostics"]
        chosen = kmeans[(kmeans.model_type == "clustering") & kmeans.is_primary].iloc[0]
        prof = prof.assign(group_value=prof.cluster_label)
        found = attack_partition(prof, pd.Series({"patients": chosen.n}), ["patients"], [True])
        assert found == [], (name, found)
    assert hidden_total >= 20  # the attack had cells to attack (most in the threshold-29 build)


def test_the_default_and_2k_builds_have_suppressed_cells_to_protect(releases):
    for name in ("default 10k", "2k"):
        build, sources = releases[name]
        mart = sources["parquet"]["asthma_inequalities"]
        assert mart.is_suppressed.sum() >= 2, name
        # Where a quintile is hidden, no SII/RII is published for that outcome.
        idx = sources["parquet"]["asthma_inequality_indices"].set_index("outcome")
        hidden_imd = mart[(mart.dimension == "imd_quintile") & mart.is_suppressed].outcome.unique()
        for outcome in hidden_imd:
            assert idx.loc[outcome, ["sii", "rii", "sii_lower", "rii_upper"]].isna().all(), (name, outcome)
            assert "withheld under the disclosure policy" in idx.loc[outcome, "note"]


def test_the_attack_recovers_counts_when_only_the_primary_rule_is_applied(strict_build):
    # The same attack, on the same data, published with the primary rule alone and exact counts (at
    # the first threshold where that leaves a partition with one hidden group): the hidden count
    # falls out as the total minus the others, and it is the true one.
    exact = strict_build.df("select * from intermediate.int_asthma_inequality_rates")
    for k in range(5, 400, 5):
        primary = (exact.numerator <= k) | (exact.patients <= k)
        primary |= ~exact.measure_type.str.startswith("rate") & (exact.denominator <= k)
        naive = exact.copy()
        for c in ["numerator", "denominator"]:
            naive[c] = naive[c].astype(float).where(~primary)
        naive["person_years"] = naive["person_years"].astype(float)
        _, recovered = attack_inequalities(naive, rounded=False)
        if recovered:
            break
    assert recovered, "primary suppression alone never left a recoverable count"
    for found in recovered:
        outcome, dim, cell = found.split("/")
        group, rest = cell.split(":")
        column = rest.split(" in [")[0]
        lo, hi = (float(x) for x in rest.split(" in [")[1].rstrip("]").split(", "))
        truth = exact[(exact.outcome == outcome) & (exact.dimension == dim) & (exact.group_value == group)]
        assert hi - lo < 1e-3 and abs(float(truth[column].iloc[0]) - lo) < 1e-3, (found, truth[column])


def test_the_restricted_marts_are_declared_restricted_in_the_manifest(clean_build):
    manifest = json.loads((clean_build.db.parent / "target" / "manifest.json").read_text())
    release = {
        n["name"]: n["config"]["meta"].get("release")
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("schema") == "marts"
    }
    assert release.pop("asthma_patients") == "restricted"
    assert release.pop("asthma_patient_clusters") == "restricted"
    assert set(release.values()) == {"published"}, release
