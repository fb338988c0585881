"""What a dbt Python model's ``dbt.ref(...)`` returns, as a pandas DataFrame, on any engine.

dbt-duckdb hands a model a DuckDB relation (``.df()``); dbt-spark and dbt-databricks hand it a
Spark DataFrame (``.toPandas()``). The check is by method, not by class (duck typing), so neither
engine's package needs to be installed for the other's to work.
"""

from __future__ import annotations

import pandas as pd


def to_pandas(relation) -> pd.DataFrame:
    """The relation's rows as a pandas DataFrame: ``.df()`` for a DuckDB relation,
    ``.toPandas()`` for a Spark DataFrame; anything else is a TypeError naming its type."""
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
