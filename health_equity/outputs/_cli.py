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


def add_path_argument(parser: argparse.ArgumentParser, flag: str, default: str, help_text: str) -> None:
    """A path option whose help ends with its default."""
    parser.add_argument(flag, type=Path, default=Path(default), help=f"{help_text} (default {default})")


def parse_with_db(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse the arguments of a tool that reads the warehouse; exit 2 when --db is missing."""
    args = parser.parse_args(argv)
    require_db(parser, args.db)
    return args
