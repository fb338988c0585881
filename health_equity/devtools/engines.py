"""Compare the marts one engine built with another's: the DuckDB warehouse and a Spark warehouse.

The Spark build (``python -m health_equity.engine.spark build --target spark``) writes each mart as
Parquet under ``<spark warehouse>/marts.db/<mart>/``. Two engines do not give bit-identical
floating point (sums in another order) nor the same integer widths (DuckDB's HUGEINT sums,
Spark's BIGINT), so a mart matches when

- both have the same columns in the same order and the same number of rows;
- rows, sorted by their non-float columns and then by their floats rounded to 9 significant
  digits, agree column by column: text, dates, booleans and integers exactly (NULLs in the same
  places), floats within a relative 1e-9 (absolute 1e-12 near zero), lists element by element;
- k-means cluster numbers may be permuted: ``match_labels`` renames one engine's clusters to the
  other's by their largest overlap before the comparison (asthma_patient_clusters).

    python -m health_equity.devtools.engines <duckdb file> <spark warehouse dir> [--schema marts]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from health_equity.devtools.compare import outcome

RTOL = 1e-9
ATOL = 1e-12
# Marts whose integer column is an arbitrary cluster number, and the key that pairs their rows.
CLUSTER_LABELS = {"asthma_patient_clusters": ("patient_key", "cluster_id")}


def spark_tables(warehouse: Path, schema: str) -> dict[str, Path]:
    folder = warehouse / f"{schema}.db"
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_dir()} if folder.is_dir() else {}


def read_spark(path: Path) -> pd.DataFrame:
    files = sorted(str(p) for p in path.rglob("*.parquet"))
    if not files:
        raise ValueError(f"no Parquet files under {path}")
    with duckdb.connect() as con:
        return con.sql("select * from read_parquet(?)", params=[files]).df()


def _is_float(series: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(series)


def _is_list(series: pd.Series) -> bool:
    return series.dtype == object and series.map(lambda v: isinstance(v, list | tuple | np.ndarray)).any()


def _sort_key(series: pd.Series) -> pd.Series:
    if _is_float(series):
        return series.map(lambda v: float(f"{v:.9g}") if pd.notna(v) else np.nan)
    if _is_list(series):
        return series.map(lambda v: repr([float(f"{x:.9g}") for x in v]) if v is not None else "")
    return series


def ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: non-float columns first, then floats rounded to 9 digits."""
    keys = pd.DataFrame({c: _sort_key(df[c]) for c in df.columns})
    exact = [c for c in df.columns if not _is_float(df[c]) and not _is_list(df[c])]
    rest = [c for c in df.columns if c not in exact]
    index = keys.sort_values(exact + rest, kind="mergesort", na_position="first").index
    return df.loc[index].reset_index(drop=True)


def match_labels(reference: pd.DataFrame, other: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
    """``other`` with its labels renamed to the ``reference`` label each overlaps most (by key)."""
    paired = reference[[key, label]].merge(other[[key, label]], on=key, suffixes=("_ref", "_other"))
    overlap = paired.groupby([f"{label}_other", f"{label}_ref"]).size().reset_index(name="n")
    overlap = overlap.sort_values(["n", f"{label}_other", f"{label}_ref"], ascending=[False, True, True])
    mapping: dict = {}
    used: set = set()
    for row in overlap.itertuples(index=False):
        source, target = row[0], row[1]
        if source not in mapping and target not in used:
            mapping[source] = target
            used.add(target)
    renamed = other.copy()
    renamed[label] = other[label].map(lambda v: mapping.get(v, v) if pd.notna(v) else v)
    return renamed


def compare_frames(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Differences between two versions of one mart (empty when they match)."""
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} vs {len(b)} rows"]
    if name in CLUSTER_LABELS:
        key, label = CLUSTER_LABELS[name]
        b = match_labels(a, b, key, label)
    a, b = ordered(a), ordered(b)
    problems = []
    for column in a.columns:
        x, y = a[column], b[column]
        if (x.isna() != y.isna()).any():
            problems.append(f"{name}.{column}: NULLs in different rows ({int((x.isna() != y.isna()).sum())})")
            continue
        present = x.notna()
        x, y = x[present], y[present]
        if _is_float(x) or _is_float(y):
            xv, yv = x.astype(float).to_numpy(), y.astype(float).to_numpy()
            bad = ~np.isclose(xv, yv, rtol=RTOL, atol=ATOL, equal_nan=True)
        elif _is_list(x) or _is_list(y):
            bad = np.array([not _lists_close(u, v) for u, v in zip(x, y, strict=True)], dtype=bool)
        elif pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            bad = (x.astype("int64").to_numpy() != y.astype("int64").to_numpy()) if len(x) else np.array([], bool)
        else:
            bad = (x.astype(str).to_numpy() != y.astype(str).to_numpy()) if len(x) else np.array([], bool)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            problems.append(
                f"{name}.{column}: {int(bad.sum())} of {len(x)} values differ "
                f"(first: {x.iloc[first]!r} vs {y.iloc[first]!r})"
            )
    return problems


def _lists_close(u, v) -> bool:
    u, v = list(u), list(v)
    if len(u) != len(v):
        return False
    try:
        return bool(np.allclose(np.asarray(u, float), np.asarray(v, float), rtol=RTOL, atol=ATOL, equal_nan=True))
    except (TypeError, ValueError):
        return [str(e) for e in u] == [str(e) for e in v]


def compare_engines(duckdb_file: Path, warehouse: Path, schema: str = "marts") -> tuple[list[str], list[str]]:
    """(marts that match, differences) between a DuckDB file and a Spark warehouse folder."""
    spark = spark_tables(warehouse, schema)
    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        problems = [f"{schema}.{n}: not built on Spark" for n in names if n not in spark]
        problems += [f"{schema}.{n}: only on Spark" for n in spark if n not in names]
        matched = []
        for n in names:
            if n not in spark:
                continue
            found = compare_frames(n, con.sql(f'select * from "{schema}"."{n}"').df(), read_spark(spark[n]))
            problems += found
            if not found:
                matched.append(n)
    return matched, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duckdb_file", type=Path, help="the DuckDB warehouse")
    parser.add_argument("spark_warehouse", type=Path, help="the Spark warehouse folder (spark.sql.warehouse.dir)")
    parser.add_argument("--schema", default="marts", help="schema to compare (default: marts)")
    args = parser.parse_args(argv)
    if not args.duckdb_file.is_file():
        parser.error(f"no DuckDB file at {args.duckdb_file}")
    if not args.spark_warehouse.is_dir():
        parser.error(f"no Spark warehouse folder at {args.spark_warehouse}")
    matched, problems = compare_engines(args.duckdb_file, args.spark_warehouse, args.schema)
    for name in matched:
        print(f"same  {args.schema}.{name}")
    return outcome(problems, f"schema {args.schema}, floats within a relative {RTOL:g}")


if __name__ == "__main__":
    sys.exit(main())
