"""Fault injection on demand (``--fault-rate``), every fault recorded with its row.

Each data row is faulted with probability ``rate``; faulted rows take the kinds their file
supports in turn. Records name the file, the 1-based data row, the column, the kind,
the original and the injected value, so tests can prove downstream models catch each one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

OUT_OF_WINDOW = dt.date(2015, 6, 15)
IMPOSSIBLE_DOB = dt.date(2031, 1, 1)

# file -> list of (kind, column, unknown code for unknown_code)
FAULT_KINDS: dict[str, list[tuple[str, str]]] = {
    "patients": [
        ("duplicate_id", "patient_id"),
        ("null_key", "patient_id"),
        ("unknown_code", "ethnic_category"),
        ("impossible_date", "date_of_birth"),
        ("whitespace_case", "sex"),
    ],
    "gp_events": [
        ("duplicate_id", "gp_event_id"),
        ("null_key", "patient_id"),
        ("unknown_code", "snomed_code"),
        ("date_outside_window", "event_date"),
    ],
    "prescriptions": [
        ("duplicate_id", "prescription_id"),
        ("null_key", "patient_id"),
        ("unknown_code", "bnf_code"),
        ("date_outside_window", "issue_date"),
        ("negative_quantity", "quantity"),
        ("whitespace_case", "bnf_code"),
    ],
    "hospital_admissions": [
        ("duplicate_id", "admission_id"),
        ("null_key", "patient_id"),
        ("unknown_code", "primary_diagnosis"),
        ("date_outside_window", "admission_date"),
        ("discharge_before_admission", "discharge_date"),
        ("whitespace_case", "primary_diagnosis"),
    ],
    "outpatient_appointments": [
        ("duplicate_id", "appointment_id"),
        ("null_key", "patient_id"),
        ("date_outside_window", "appointment_date"),
        ("whitespace_case", "attendance"),
    ],
    "Hospital_General_Information": [
        ("duplicate_id", "Facility ID"),
        ("null_key", "Facility ID"),
        ("zip_lost_leading_zero", "ZIP Code"),
        ("whitespace_case", "State"),
    ],
    "Complications_and_Deaths-Hospital": [
        ("null_key", "Facility ID"),
        ("unknown_code", "Measure ID"),
    ],
}

UNKNOWN_CODES = {
    "ethnic_category": "Q",
    "snomed_code": "999999999",
    "bnf_code": "9999999Z0AAAAAA",
    "primary_diagnosis": "J4X5",
    "Measure ID": "MORT_30_XYZ",
}

# Faults that staging must repair (trim/case) rather than quarantine.
REPAIRABLE = {"whitespace_case", "zip_lost_leading_zero"}


def inject(rng: np.random.Generator, file: str, table: pa.Table, rate: float, row_offset: int):
    """Return (table with faults, fault records). ``row_offset`` = data rows already written."""
    kinds = FAULT_KINDS.get(file, [])
    if rate <= 0 or not kinds or table.num_rows < 2:
        return table, []
    hit = np.flatnonzero(rng.random(table.num_rows) < rate)
    hit = hit[hit > 0]  # row 0 of a chunk has no predecessor to duplicate
    if hit.size == 0:
        return table, []
    # Kinds in turn from a random start: every kind appears once a file has enough faulty rows.
    which = (np.arange(hit.size) + rng.integers(len(kinds))) % len(kinds)
    touched = {kinds[k][1] for k in set(which.tolist())}
    if file == "hospital_admissions":
        touched.add("admission_date")  # discharge_before_admission reads it
    cols = {c: table.column(c).to_pylist() for c in touched if c in table.column_names}
    records = []
    done: set[int] = set(hit.tolist())
    for row, k in zip(hit.tolist(), which.tolist()):
        kind, col = kinds[k]
        values = cols[col]
        before = values[row]
        if kind == "duplicate_id":
            after = values[row - 1]
        elif kind == "null_key":
            after = None
        elif kind == "unknown_code":
            after = UNKNOWN_CODES[col]
        elif kind == "impossible_date":
            after = IMPOSSIBLE_DOB
        elif kind == "date_outside_window":
            after = OUT_OF_WINDOW
        elif kind == "discharge_before_admission":
            admitted = cols["admission_date"][row]
            after = admitted - dt.timedelta(days=3) if admitted is not None else None
        elif kind == "negative_quantity":
            after = -abs(before) if before else -1
        elif kind == "whitespace_case":
            after = f"  {before.lower()} " if before else before
        elif kind == "zip_lost_leading_zero":
            # Only a ZIP with a leading zero can lose it: move to such a row if this one has none.
            if not (before or "").startswith("0"):
                zeros = [i for i, v in enumerate(values) if (v or "").startswith("0") and i not in done]
                if not zeros:
                    continue
                row = zeros[int(rng.integers(len(zeros)))]
                before = values[row]
            after = before.lstrip("0")
        else:  # pragma: no cover - the table above is closed
            raise ValueError(kind)
        if after == before:
            continue
        values[row] = after
        done.add(row)
        records.append(
            {
                "file": file,
                "row": row_offset + row + 1,
                "column": col,
                "kind": kind,
                "original": _jsonable(before),
                "injected": _jsonable(after),
                "repairable": kind in REPAIRABLE,
            }
        )
    for c, values in cols.items():
        i = table.column_names.index(c)
        table = table.set_column(i, c, pa.array(values, type=table.schema.field(c).type))
    return table, records


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value
