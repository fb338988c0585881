"""What a dbt Python model's ``dbt.ref(...)`` returns, as a pandas DataFrame, on any engine.

dbt-duckdb hands a model a DuckDB relation (``.df()``); dbt-spark and dbt-databricks hand it a
Spark DataFrame (``.toPandas()``). The check is by method, not by class (duck typing), so neither
engine's package needs to be installed for the other's to work.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def to_pandas(relation, order_by: Sequence[str] | None = None) -> pd.DataFrame:
    """The relation's rows as a pandas DataFrame: ``.df()`` for a DuckDB relation,
    ``.toPandas()`` for a Spark DataFrame; anything else is a TypeError naming its type.

    With ``order_by`` (the relation's key columns), the rows come sorted by them, index reset: a
    database returns rows in whatever order its threads finish, and a fit that sees its rows in
    another order can differ in the last bits. The key must be unique (a ValueError says so
    otherwise), so the order is total and the frame the same whatever the engine's threads."""
    frame = _fetch(relation)
    if order_by is None:
        return frame
    keys = list(order_by)
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise KeyError(f"cannot order by missing column(s): {', '.join(missing)}")
    repeated = int(frame.duplicated(subset=keys).sum())
    if repeated:
        raise ValueError(f"({', '.join(keys)}) is not a key: {repeated} row(s) repeat a value of it, so no total order")
    return frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _fetch(relation) -> pd.DataFrame:
    if isinstance(relation, pd.DataFrame):  # already pandas (a unit test, or a local run)
        return relation
    # Spark first: a Spark DataFrame answers any column name as an attribute (a column "df"
    # would look like a .df method), while a DuckDB relation has no toPandas.
    for method in ("toPandas", "df"):
        to_df = getattr(relation, method, None)
        if callable(to_df):
            out = to_df()
            if isinstance(out, pd.DataFrame):
                return out
    raise TypeError(
        f"cannot read a {type(relation).__module__}.{type(relation).__qualname__} as pandas: expected a "
        "DuckDB relation (.df()) or a Spark DataFrame (.toPandas())"
    )
