"""The cross-engine macros (macros/engine/cross_engine_functions.sql) on DuckDB give what the models relied on
before they were written with them, checked against independent Python definitions: ages and
year arithmetic around 29 February, day arithmetic as dates, interpolated quantiles read by a
1-based position, regex matching of the whole text or a part, ordered aggregation, and a day
series that includes both ends. Each case is rendered by the real `dbt show` (the dispatching is
dbt's), so a duckdb__ body that drifts from the engine's meaning fails here."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

# (date of birth, on date): leap-day births on and around 28 February in common and leap years,
# the day before and on an ordinary birthday, and a first day of life.
AGE_CASES = [
    (date(2000, 2, 29), date(2023, 2, 27)),
    (date(2000, 2, 29), date(2023, 2, 28)),
    (date(2000, 2, 29), date(2023, 3, 1)),
    (date(2000, 2, 29), date(2024, 2, 28)),
    (date(2000, 2, 29), date(2024, 2, 29)),
    (date(2001, 2, 28), date(2024, 2, 28)),
    (date(2000, 3, 1), date(2024, 2, 29)),
    (date(1990, 7, 15), date(2024, 7, 14)),
    (date(1990, 7, 15), date(2024, 7, 15)),
    (date(2024, 1, 1), date(2024, 1, 1)),
    # A birth after the date (an impossible birth date the base model quarantines): both ages
    # round toward zero, as DuckDB does.
    (date(2031, 1, 1), date(2024, 12, 31)),
    (date(2031, 6, 1), date(2024, 1, 1)),
    (date(2031, 1, 1), date(2024, 1, 1)),
]


def plus_years(d: date, years: int) -> date:
    """The anniversary, 28 February standing in for 29 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def complete_years(birth: date, on: date) -> int:
    """Anniversaries reached (or, for a birth after the date, gone back), toward zero."""
    n = on.year - birth.year
    if birth <= on:
        return n - 1 if plus_years(birth, n) > on else n
    return n + 1 if plus_years(birth, n) < on else n


def age_in_years(birth: date, on: date) -> int:
    """Whole years of the interval from birth to the date, rounded toward zero."""
    if birth > on:
        return -age_in_years(on, birth)
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_ages_and_year_arithmetic_around_leap_days(show):
    values = ", ".join(f"({i}, date '{b}', date '{o}')" for i, (b, o) in enumerate(AGE_CASES))
    rows = show(
        "select case_id,"
        " {{ complete_years('birth', 'on_date') }} as complete_years,"
        " {{ age_in_years('birth', 'on_date') }} as age_in_years,"
        " {{ add_years('birth', 23) }} as plus_23_years,"
        " {{ add_days('on_date', -1) }} as day_before,"
        " {{ add_days('on_date', 1) }} as day_after,"
        " {{ dbt.datediff('birth', 'on_date', 'day') }} as days"
        f" from (values {values}) as cases (case_id, birth, on_date) order by case_id"
    )
    assert len(rows) == len(AGE_CASES)
    for row, (birth, on) in zip(rows, AGE_CASES, strict=True):
        case = (birth, on)
        assert row["complete_years"] == complete_years(birth, on), case
        assert row["age_in_years"] == age_in_years(birth, on), case
        # Dates, not timestamps: JSON shows a date as YYYY-MM-DD.
        assert row["plus_23_years"] == plus_years(birth, 23).isoformat(), case
        assert row["day_before"] == (on - timedelta(days=1)).isoformat(), case
        assert row["day_after"] == (on + timedelta(days=1)).isoformat(), case
        assert row["days"] == (on - birth).days, case
    # The two ages differ exactly on a common year's 28 February for a leap-day birth.
    differ = [c for c in AGE_CASES if complete_years(*c) != age_in_years(*c)]
    assert differ == [(date(2000, 2, 29), date(2023, 2, 28))]


def test_quantiles_by_position_regexes_and_ordered_aggregation(show):
    xs = [7, 1, 12, 5, 2, 30]
    values = ", ".join(f"({x}, 'v{x}')" for x in xs)
    table = f"(values {values}) as t (x, label)"
    rows = show(
        "with cuts as ("
        f" select {{{{ quantile_cont_list('x', [0.2, 0.5, 0.8]) }}}} as q from {table}"
        "), joined as ("
        f" select {{{{ ordered_string_agg('label', \"'|'\", 'x desc') }}}} as labels from {table}"
        ") select"
        " {{ list_at('q', 1) }} as q1, {{ list_at('q', 2) }} as q2, {{ list_at('q', 3) }} as q3, labels,"
        " {{ regex_match(\"'J45'\", '[A-Z][0-9]{2}[0-9X]?[0-9]?') }} as code_full,"
        " {{ regex_match(\"'J45 extra'\", '[A-Z][0-9]{2}[0-9X]?[0-9]?') }} as code_with_tail_full,"
        " {{ regex_match(\"'ACSDT5Y2020.B19013'\", 'ACSDT5Y([0-9]{4})', full=false) }} as vintage_part,"
        " {{ regex_match(\"'ACSDT5Y.B19013'\", 'ACSDT5Y([0-9]{4})', full=false) }} as no_vintage_part"
        " from cuts cross join joined"
    )
    (row,) = rows
    expected = np.percentile(xs, [20, 50, 80], method="linear")
    assert [row["q1"], row["q2"], row["q3"]] == pytest.approx(list(expected), rel=1e-12)
    assert row["labels"] == "|".join(f"v{x}" for x in sorted(xs, reverse=True))
    assert (row["code_full"], row["code_with_tail_full"]) == (True, False)
    assert (row["vintage_part"], row["no_vintage_part"]) == (True, False)


def test_date_series_includes_both_ends(show):
    rows = show(
        "select count(*) as days, min(date_day) as first_day, max(date_day) as last_day,"
        " count(distinct date_day) as distinct_days"
        " from ({{ date_series(\"cast('2024-02-27' as date)\", \"cast('2024-03-02' as date)\") }}) as spine"
    )
    assert rows == [{"days": 5, "first_day": "2024-02-27", "last_day": "2024-03-02", "distinct_days": 5}]
