"""Compare every table of a schema in two DuckDB warehouses: same tables, same columns, same rows.

A refactor must not change what the marts say. Build the warehouse before and after the change
from the same extracts (same files, same seed), then run

    python -m health_equity.devtools.compare before.duckdb after.duckdb [--schema marts] [--tolerance 0]

Rows are compared as sets (sorted by every column, since a table has no row order), floats
exactly unless --tolerance is given. Exit 0 when every table matches, 1 with a line per
difference otherwise, 2 on bad arguments. ``canonical`` is also what the determinism test
compares two builds with.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import pandas as pd


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
    ).fetchall()
    return [r[0] for r in rows]


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """A table has no row order: its rows sorted by every column, in the table's column order.
    List columns (each k-means fit's centroids) do not sort, so they are compared as their text."""
    df = df.copy()
    for column in df.columns:
        values = df[column]
        if values.dtype == object and values.map(lambda v: isinstance(v, list | tuple) or hasattr(v, "tolist")).any():
            df[column] = values.map(repr)
    return df.sort_values(list(df.columns), kind="mergesort", na_position="first").reset_index(drop=True)


def compare(before: Path, after: Path, schema: str, tolerance: float) -> list[str]:
    problems: list[str] = []
    with (
        duckdb.connect(str(before), read_only=True) as a,
        duckdb.connect(str(after), read_only=True) as b,
    ):
        names_a, names_b = tables(a, schema), tables(b, schema)
        for missing in sorted(set(names_a) - set(names_b)):
            problems.append(f"{schema}.{missing}: only in {before}")
        for extra in sorted(set(names_b) - set(names_a)):
            problems.append(f"{schema}.{extra}: only in {after}")
        for name in sorted(set(names_a) & set(names_b)):
            relation = f'"{schema}"."{name}"'
            da, db = (
                canonical(a.sql(f"select * from {relation}").df()),
                canonical(b.sql(f"select * from {relation}").df()),
            )
            if list(da.columns) != list(db.columns):
                problems.append(f"{schema}.{name}: columns differ: {list(da.columns)} vs {list(db.columns)}")
                continue
            try:
                pd.testing.assert_frame_equal(
                    da,
                    db,
                    check_exact=tolerance == 0,
                    rtol=tolerance or 1e-5,
                    atol=tolerance or 1e-8,
                    check_dtype=True,
                    obj=f"{schema}.{name}",
                )
            except AssertionError as exc:
                problems.append(f"{schema}.{name}: {str(exc).splitlines()[0]} ({len(da)} vs {len(db)} rows)")
            else:
                print(f"same  {schema}.{name}  ({len(da)} rows, {len(da.columns)} columns)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="warehouse built before the change")
    parser.add_argument("after", type=Path, help="warehouse built after the change")
    parser.add_argument("--schema", default="marts", help="schema to compare (default: marts)")
    parser.add_argument("--tolerance", type=float, default=0.0, help="relative float tolerance (default: exact)")
    args = parser.parse_args(argv)
    for path in (args.before, args.after):
        if not path.is_file():
            parser.error(f"no DuckDB file at {path}")
    if args.tolerance < 0:
        parser.error("--tolerance must be 0 or more")
    return outcome(compare(args.before, args.after, args.schema, args.tolerance), f"schema {args.schema}")


def outcome(problems: list[str], what: str) -> int:
    """Print each difference and a last line saying whether ``what`` matched; the exit status."""
    for line in problems:
        print(f"DIFF  {line}")
    print(f"{'identical' if not problems else f'{len(problems)} difference(s)'}: {what}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
