"""Two builds of the same extracts give identical tables, floats to the last bit (issue 13)."""

from __future__ import annotations

import duckdb
import pandas as pd
from conftest import Build, dbt


def tables(db, schema: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(
            "select table_name from information_schema.tables where table_schema = ? order by 1", params=[schema]
        ).fetchall()
    return [r[0] for r in rows]


def canonical(build: Build, table: str) -> pd.DataFrame:
    """A table has no row order: sort by every column, in the table's column order."""
    df = build.df(f"select * from {table}")
    for column in df.columns:  # list columns (each fit's centroids) do not sort: compare their text
        if df[column].dtype == object and df[column].map(lambda v: hasattr(v, "tolist") or isinstance(v, list)).any():
            df[column] = df[column].map(repr)
    return df.sort_values(list(df.columns), kind="mergesort", na_position="first").reset_index(drop=True)


def test_two_builds_of_the_same_extracts_give_identical_marts(clean_build, tmp_path):
    db = tmp_path / "second.duckdb"
    r = dbt(["build"], db, tmp_path, {"raw_dir": str(clean_build.raw_dir)})
    assert r.returncode == 0, r.stdout[-3000:]
    second = Build(clean_build.raw_dir, db, r)
    for schema in ("marts", "intermediate"):
        names = tables(clean_build.db, schema)
        assert names == tables(db, schema)
        assert schema != "marts" or len(canonical(second, "marts.asthma_model_diagnostics")) > 0
        for name in names:
            a, b = canonical(clean_build, f"{schema}.{name}"), canonical(second, f"{schema}.{name}")
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{schema}.{name}")
