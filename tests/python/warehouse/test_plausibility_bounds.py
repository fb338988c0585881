"""Every plausibility bound in the seed is applied by a staging model (no silent no-op rows)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[3]
CALL = re.compile(r"(?:plausibility_reason|with_plausibility)\('(\w+)',\s*(\[[^\]]*\])")


def applied_bounds() -> set[tuple[str, str]]:
    found = set()
    for sql in (REPO / "models" / "staging").rglob("*.sql"):
        for extract, columns in CALL.findall(sql.read_text()):
            found |= {(extract, c) for c in ast.literal_eval(columns)}
    return found


def test_every_seed_row_names_a_column_a_model_checks_and_bounds_are_ordered():
    seed = pd.read_csv(REPO / "seeds" / "reference" / "ref_plausibility_bounds.csv")
    rows = set(zip(seed.extract_name, seed.column_name))
    assert rows and rows <= applied_bounds(), rows - applied_bounds()
    assert (seed.min_value <= seed.max_value).all()
    assert seed.quarantine_reason.str.startswith("implausible value: ").all()
    assert seed.quarantine_reason.is_unique  # each breach carries its own reason
