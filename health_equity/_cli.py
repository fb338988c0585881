"""Shared command-line pieces of the health_equity tools."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("HEALTH_EQUITY_DB", "health_equity.duckdb")),
        help="DuckDB warehouse (default health_equity.duckdb or $HEALTH_EQUITY_DB)",
    )


def require_db(parser: argparse.ArgumentParser, db: Path) -> None:
    """One-line error and exit 2 when the warehouse file is missing."""
    if not db.is_file():
        parser.exit(2, f"{parser.prog}: error: --db {db}: no such file (run `make build` first)\n")
