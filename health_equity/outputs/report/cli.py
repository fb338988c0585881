"""Command line: ``python -m health_equity.outputs.report --db <warehouse> --out <file.html>``."""

from __future__ import annotations

import argparse
import os
import sys

import duckdb

import health_equity.outputs.report as package
from health_equity.outputs._cli import add_db_argument, add_path_argument, parse_with_db
from health_equity.outputs.report.page import render


def main(argv: list[str] | None = None) -> int:
    """Write the report of --db to --out (through a temporary file beside it); 0 on success."""
    p = argparse.ArgumentParser(prog="python -m health_equity.outputs.report", description=package.__doc__)
    add_db_argument(p)
    add_path_argument(p, "--out", "reports/health_equity_report.html", "output HTML file")
    args = parse_with_db(p, argv)
    with duckdb.connect(str(args.db), read_only=True) as con:
        page = render(con)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({len(page) / 2**20:.1f} MB)", file=sys.stderr)
    return 0
