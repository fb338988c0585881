"""Export every mart to Parquet, one Tableau Hyper file, and a Tableau data source per analysis.

Each file is written to a temporary name in the same folder and renamed into place, so a reader
never sees half a file. The .tds files (health_equity.tableau) carry the dbt docs' descriptions,
field roles, formats and the relationships between marts. Usage:
``python -m health_equity.exports --db health_equity.duckdb --out exports``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb

from health_equity._cli import add_db_argument, add_path_argument, parse_with_db

SCHEMA = "marts"
# Types Tableau Hyper rejects or pandas cannot carry exactly. DuckDB's sum() of integers is a
# 128-bit HUGEINT: counts are exported as BIGINT (so BI tools see whole numbers, not floats);
# DECIMAL becomes DOUBLE.
WIDE_INTEGER = ("HUGEINT", "UHUGEINT", "UBIGINT")
WIDE_NUMERIC = ("DECIMAL",)


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql(
        f"select table_name from information_schema.tables where table_schema = '{SCHEMA}' order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def export_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """select list casting 128-bit integers to BIGINT and DECIMAL to DOUBLE (Hyper has neither)."""
    cols = con.sql(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{SCHEMA}' and table_name = '{table}' order by ordinal_position"
    ).fetchall()

    def column(name: str, data_type: str) -> str:
        if data_type.upper().startswith(WIDE_INTEGER):
            return f'cast("{name}" as bigint) as "{name}"'
        if data_type.upper().startswith(WIDE_NUMERIC):
            return f'cast("{name}" as double) as "{name}"'
        if data_type.strip('"').upper() == "NULL":  # an all-NULL column with no type: text
            return f'cast("{name}" as varchar) as "{name}"'
        return f'"{name}"'

    parts = [column(c, t) for c, t in cols]
    return f'select {", ".join(parts)} from {SCHEMA}."{table}"'


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> Path:
    final = out / f"{table}.parquet"
    tmp = out / f".{table}.parquet.tmp"
    con.sql(f"copy ({export_select(con, table)}) to '{tmp}' (format parquet, compression zstd)")
    os.replace(tmp, final)
    return final


def write_hyper(con: duckdb.DuckDBPyConnection, tables: list[str], out: Path, manifest: Path | None = None) -> Path:
    import pantab

    from health_equity.tableau import write_datasources

    # Arrow keeps DuckDB's types, typed NULLs included (a pandas detour turns all-NULL columns
    # into a type Hyper rejects).
    frames = {t: con.sql(export_select(con, t)).to_arrow_table() for t in tables}
    final = out / "health_equity.hyper"
    tmp = out / ".health_equity.hyper.tmp"
    tmp.unlink(missing_ok=True)
    pantab.frames_to_hyper(frames, tmp)
    os.replace(tmp, final)
    write_datasources(frames, out, manifest)
    return final


def hyper_available() -> bool:
    try:
        import pantab  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m health_equity.exports", description=__doc__)
    add_db_argument(p)
    add_path_argument(p, "--out", "exports", "output folder")
    p.add_argument(
        "--hyper",
        choices=["auto", "yes", "no"],
        default="auto",
        help="write exports/health_equity.hyper and the .tds files: auto = when pantab is installed (default)",
    )
    add_path_argument(
        p, "--manifest", "target/manifest.json", "dbt manifest whose docs become the Tableau field descriptions"
    )
    args = parse_with_db(p, argv)
    if args.hyper == "yes" and not hyper_available():
        p.exit(2, f"{p.prog}: error: --hyper yes needs pantab (in requirements.txt)\n")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(args.db), read_only=True) as con:
        tables = mart_tables(con)
        if not tables:
            p.exit(2, f"{p.prog}: error: no tables in schema {SCHEMA} of {args.db}\n")
        for t in tables:
            write_parquet(con, t, args.out)
        hyper = None
        if args.hyper == "yes" or (args.hyper == "auto" and hyper_available()):
            hyper = write_hyper(con, tables, args.out, args.manifest)
    note = f", {hyper.name} and the Tableau .tds files" if hyper else " (no Hyper file: pip install pantab)"
    print(
        f"exported {len(tables)} marts to {args.out}/ as Parquet{note} in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
