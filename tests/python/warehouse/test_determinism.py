"""The same extracts built with one DuckDB thread and with every core give identical marts, bit for
bit: every table of every mart (and intermediate) schema, every column, every value. Aggregates
are exact or take their rows in a stated order (macros/engine/exact_aggregates.sql) and every Python
model reads its rows in key order, so the thread count cannot change a result."""

from __future__ import annotations

import json
import os

import duckdb
import numpy as np
import pandas as pd
from conftest import NO_TESTS, Build, dbt

from health_equity.devtools.compare import canonical, tables

ONE_THREAD = {"HEALTH_EQUITY_DUCKDB_THREADS": "1"}


def table_names(db, schema: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return tables(con, schema)


def duckdb_threads(db, work, env: dict[str, str] | None) -> int:
    """The thread count DuckDB runs dbt's queries with under this environment."""
    sql = "select cast(current_setting('threads') as bigint) as threads"
    r = dbt(["--quiet", "show", "--inline", sql, "--output", "json"], db, work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(r.stdout)["show"][0]["threads"]


def assert_same_bits(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    """Equal values (no tolerance), and every float column equal in its bit patterns, so even a
    -0.0 against a 0.0 or two different NaNs count as a difference."""
    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=what)
    for column in a.columns:
        if a[column].dtype.kind == "f":
            bits_a = a[column].to_numpy(dtype=np.float64).view(np.int64)
            bits_b = b[column].to_numpy(dtype=np.float64).view(np.int64)
            assert np.array_equal(bits_a, bits_b), f"{what}.{column}: same values, different bits"


def test_one_thread_and_every_core_give_identical_marts(clean_build, tmp_path):
    cores = os.cpu_count() or 1
    # The session warehouse ran with DuckDB's default (every core); this one with a single thread.
    assert duckdb_threads(tmp_path / "probe.duckdb", tmp_path, None) == cores
    assert duckdb_threads(tmp_path / "probe.duckdb", tmp_path, ONE_THREAD) == 1
    db = tmp_path / "one_thread.duckdb"
    # The same seeds and models as the first build; its data tests write nothing and already ran.
    r = dbt(["build", *NO_TESTS], db, tmp_path, {"raw_dir": str(clean_build.raw_dir)}, env=ONE_THREAD)
    assert r.returncode == 0, r.stdout[-3000:]
    one = Build(clean_build.raw_dir, db, r)
    compared = 0
    for schema in ("marts", "intermediate"):
        names = table_names(clean_build.db, schema)
        assert names == table_names(db, schema)
        for name in names:
            every_core = clean_build.df(f"select * from {schema}.{name}")
            single = one.df(f"select * from {schema}.{name}")
            assert list(every_core.columns) == list(single.columns), f"{schema}.{name}"
            assert_same_bits(canonical(every_core), canonical(single), f"{schema}.{name}")
            compared += 1
    assert len(one.df("select * from marts.asthma_model_diagnostics")) > 0
    print(f"identical with 1 and {cores} DuckDB threads: {compared} tables (marts and intermediate)")
