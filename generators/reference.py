"""Reference data shared with the warehouse: the dbt seeds and the dbt project vars are the single
source of truth, read here rather than copied."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO / "seeds" / "reference"
DBT_PROJECT = REPO / "dbt_project.yml"


@cache
def load(name: str) -> list[dict[str, str]]:
    """Rows of ``seeds/reference/<name>.csv`` as dicts of strings."""
    path = SEED_DIR / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def column(name: str, col: str, **where: str) -> list[str]:
    """One column of a reference seed, optionally filtered on equal column values."""
    return [r[col] for r in load(name) if all(r[k] == v for k, v in where.items())]


def project_vars() -> dict:
    """The ``vars`` of ``dbt_project.yml`` (DBT_PROJECT): the values the warehouse reads by default."""
    return _read_vars(DBT_PROJECT)


@cache
def _read_vars(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["vars"]


def study_date(var: str) -> np.datetime64:
    """A study-window date (``study_start``, ``followup_start``, ``study_end``) from the dbt vars.

    The vars are plain ``YYYY-MM-DD`` strings; anything else stops the run naming the var."""
    value = project_vars()[var]
    try:
        return np.datetime64(value, "D")
    except (TypeError, ValueError):
        raise ValueError(f"dbt_project.yml var {var} must be a date as YYYY-MM-DD, got {value!r}") from None
