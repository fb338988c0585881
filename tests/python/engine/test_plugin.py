"""health_equity.engine.plugin: the DuckDB thread count a profile asks for."""

from __future__ import annotations

import pytest

from health_equity.engine.plugin import duckdb_threads


@pytest.mark.parametrize(
    ("value", "expected"), [("all", None), ("", None), (None, None), ("ALL", None), ("1", 1), (" 4 ", 4)]
)
def test_a_thread_setting_is_all_or_a_whole_number(value, expected):
    assert duckdb_threads(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_anything_else_is_refused_naming_the_setting(value):
    with pytest.raises(ValueError, match="HEALTH_EQUITY_DUCKDB_THREADS"):
        duckdb_threads(value)
