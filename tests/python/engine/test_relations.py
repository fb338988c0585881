"""health_equity.engine.relations.to_pandas: the one way a dbt Python model reads a ref, on any engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from health_equity.engine.relations import to_pandas


def test_a_duckdb_relation_is_read_with_its_own_rows_and_types():
    con = duckdb.connect()
    relation = con.sql("select range as k, range * 0.5 as x, 'a' || range as s from range(5)")
    frame = to_pandas(relation)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["k", "x", "s"]
    assert sorted(frame["k"].tolist()) == [0, 1, 2, 3, 4]
    assert sorted(frame["x"].tolist()) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert frame["k"].dtype.kind == "i" and frame["x"].dtype.kind == "f"


class FakeSparkFrame:
    """Only the dispatch is under test here: Spark itself is not installed in the test environment.
    Like a Spark DataFrame, it answers a column name as an attribute (a column named "df")."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame
        self.df = "a column, not a method"

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 (Spark's name)
        return self._frame.copy()


def test_a_spark_style_frame_is_read_with_topandas():
    frame = pd.DataFrame({"k": [1, 2], "df": ["x", "y"]})
    out = to_pandas(FakeSparkFrame(frame))
    pd.testing.assert_frame_equal(out, frame)


def test_anything_else_is_a_type_error_naming_the_type():
    with pytest.raises(TypeError, match="cannot read a builtins.list as pandas"):
        to_pandas([1, 2, 3])
    with pytest.raises(TypeError, match="DuckDB relation"):
        to_pandas(object())


def test_every_python_model_reads_its_refs_through_to_pandas():
    models = sorted((Path(__file__).resolve().parents[3] / "models").rglob("*.py"))
    assert models
    for path in models:
        source = path.read_text()
        assert ".df()" not in source and ".toPandas()" not in source, path.name
        if "dbt.ref(" in source:
            assert "to_pandas(dbt.ref(" in source, path.name


def test_every_python_model_imports_the_statistics_stack_before_anything_else():
    """Two Python models importing scikit-learn and statsmodels at once on dbt's threads can
    deadlock; each imports health_equity.engine.stack first, so the second waits on that one lock."""
    import ast

    from conftest import REPO

    models = sorted((REPO / "models").rglob("*.py"))
    assert len(models) >= 5
    for path in models:
        imports = [n for n in ast.parse(path.read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        first = imports[0]
        assert isinstance(first, ast.Import) and first.names[0].name == "health_equity.engine.stack", path


def test_order_by_sorts_the_rows_by_the_key_whatever_order_they_came_in():
    con = duckdb.connect()
    relation = con.sql(
        "select * from (values (3, 'b', 0.3), (1, 'b', 0.1), (2, null, 0.2), (1, 'a', 0.0)) as t (k, s, x)"
    )
    frame = to_pandas(relation, order_by=["k", "s"])
    assert frame[["k", "x"]].values.tolist() == [[1, 0.0], [1, 0.1], [2, 0.2], [3, 0.3]]
    assert frame["s"].tolist()[:2] == ["a", "b"] and list(frame.index) == [0, 1, 2, 3]


def test_order_by_refuses_a_key_that_repeats_or_is_missing():
    frame = pd.DataFrame({"k": [2, 1, 2], "x": [0.5, 0.25, 0.75]})
    with pytest.raises(ValueError, match=r"\(k\) is not a key: 1 row"):
        to_pandas(frame, order_by=["k"])
    with pytest.raises(KeyError, match="missing column"):
        to_pandas(frame, order_by=["nope"])
    assert to_pandas(frame, order_by=["k", "x"])["x"].tolist() == [0.25, 0.5, 0.75]


def test_every_python_model_reads_its_rows_in_key_order():
    """A fit that sees its rows in another order can differ in the last bits, so each ref a
    Python model reads comes in a total order (the cluster population is one row, checked by
    health_equity.stats.clusters.sampled_selection)."""
    import re

    models = sorted((Path(__file__).resolve().parents[3] / "models").rglob("*.py"))
    reads = 0
    for path in models:
        for call in re.findall(r"to_pandas\(dbt\.ref\(\"(\w+)\"\)(, order_by=)?", path.read_text()):
            reads += 1
            assert call[1] or call[0] == "int_asthma_cluster_population", f"{path.name} reads {call[0]} unordered"
    assert reads >= 6
