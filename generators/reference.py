"""Reference lookups shared with the warehouse: the dbt seeds are the single source of truth."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent.parent / "seeds" / "reference"


@cache
def load(name: str) -> list[dict[str, str]]:
    """Rows of ``seeds/reference/<name>.csv`` as dicts of strings."""
    path = SEED_DIR / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def column(name: str, col: str, **where: str) -> list[str]:
    """One column of a reference seed, optionally filtered on equal column values."""
    return [r[col] for r in load(name) if all(r[k] == v for k, v in where.items())]
