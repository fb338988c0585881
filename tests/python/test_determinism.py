"""Two builds of the same extracts give identical tables, floats to the last bit (issue 13)."""

from __future__ import annotations

import duckdb
import pandas as pd
from conftest import NO_TESTS, Build, dbt

from health_equity.compare import canonical, tables


def table_names(db, schema: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return tables(con, schema)


def test_two_builds_of_the_same_extracts_give_identical_marts(clean_build, tmp_path):
    db = tmp_path / "second.duckdb"
    # The same seeds and models as the first build; its data tests write nothing and already ran.
    r = dbt(["build", *NO_TESTS], db, tmp_path, {"raw_dir": str(clean_build.raw_dir)})
    assert r.returncode == 0, r.stdout[-3000:]
    second = Build(clean_build.raw_dir, db, r)
    for schema in ("marts", "intermediate"):
        names = table_names(clean_build.db, schema)
        assert names == table_names(db, schema)
        assert schema != "marts" or len(second.df("select * from marts.asthma_model_diagnostics")) > 0
        for name in names:
            a, b = (
                canonical(clean_build.df(f"select * from {schema}.{name}")),
                canonical(second.df(f"select * from {schema}.{name}")),
            )
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{schema}.{name}")
