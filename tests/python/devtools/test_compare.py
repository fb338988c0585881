"""The mart comparison a refactor is checked with: it must see every kind of difference and no false one."""

from __future__ import annotations

import duckdb
import pytest

from health_equity.devtools.compare import compare, main


def _warehouse(path, rows, extra_table=False, columns="k integer, v double, label varchar"):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.t ({columns})")
        if rows:
            con.executemany(f"insert into marts.t values ({', '.join('?' * len(rows[0]))})", rows)
        if extra_table:
            con.execute("create table marts.extra (k integer)")
    return path


ROWS = [(1, 0.1, "a"), (2, 0.2, "b"), (3, None, "c")]


def test_the_same_rows_in_another_order_are_identical(tmp_path, capsys):
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    b = _warehouse(tmp_path / "b.duckdb", list(reversed(ROWS)))
    assert compare(a, b, "marts", 0.0) == []
    assert main([str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip().endswith("identical: schema marts")


@pytest.mark.parametrize(
    "changed, expected",
    [
        ([(1, 0.1, "a"), (2, 0.2 + 1e-15, "b"), (3, None, "c")], "marts.t:"),  # the last bit of one double
        ([(1, 0.1, "a"), (2, 0.2, "B"), (3, None, "c")], "marts.t:"),  # one text value
        ([(1, 0.1, "a"), (2, 0.2, "b")], "(3 vs 2 rows)"),  # a lost row
        ([(1, 0.1, "a"), (2, 0.2, "b"), (3, 0.0, "c")], "marts.t:"),  # a NULL became 0
    ],
)
def test_any_changed_value_or_row_is_a_difference_at_tolerance_zero(tmp_path, changed, expected):
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    b = _warehouse(tmp_path / "b.duckdb", changed)
    problems = compare(a, b, "marts", 0.0)
    assert len(problems) == 1 and expected in problems[0], problems
    assert main([str(a), str(b)]) == 1


def test_a_tolerance_forgives_rounding_but_not_a_real_change(tmp_path):
    a = _warehouse(tmp_path / "a.duckdb", ROWS)
    rounded = _warehouse(tmp_path / "b.duckdb", [(1, 0.1 * (1 + 1e-12), "a"), (2, 0.2, "b"), (3, None, "c")])
    moved = _warehouse(tmp_path / "c.duckdb", [(1, 0.11, "a"), (2, 0.2, "b"), (3, None, "c")])
    assert compare(a, rounded, "marts", 1e-9) == []
    assert len(compare(a, moved, "marts", 1e-9)) == 1


def test_missing_tables_columns_and_types_are_named(tmp_path):
    a = _warehouse(tmp_path / "a.duckdb", ROWS, extra_table=True)
    b = _warehouse(tmp_path / "b.duckdb", [(1, 0.1), (2, 0.2), (3, None)], columns="k integer, v double")
    problems = compare(a, b, "marts", 0.0)
    assert any(p.startswith("marts.extra: only in") for p in problems), problems
    assert any(p.startswith("marts.t: columns differ") for p in problems), problems
    c = _warehouse(
        tmp_path / "c.duckdb",
        [(1, 0.1, "a"), (2, 0.2, "b"), (3, None, "c")],
        columns="k bigint, v double, label varchar",
    )
    assert len(compare(_warehouse(tmp_path / "d.duckdb", ROWS), c, "marts", 0.0)) == 1  # integer vs bigint
