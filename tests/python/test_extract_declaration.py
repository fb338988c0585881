"""Each extract is declared once, in the sources YAML meta; the rest is derived from it.

A tenth extract (a peak-flow file) added to a copy of the project as one YAML entry, its base and
stg models and its base model's name in extract_families() reaches the preflight, the quarantine,
the row counts, reconciliation, row outcomes and provenance with nothing else edited."""

from __future__ import annotations

import ast
import re

import duckdb
import pandas as pd
from conftest import REPO, SMALL, dbt, generate, project_copy

from health_equity.preflight import declared_extracts

TENTH_YAML = """      - name: peak_flow_readings
        description: "Peak expiratory flow readings."
        meta: {file: peak_flow_readings, key: reading_id, base_model: base_asthma__peak_flow_readings}
        columns:
          - name: reading_id
            description: "Reading identifier."
          - name: patient_id
            description: "Extract's patient identifier."
          - name: reading_date
            description: "Date of the reading."
          - name: peak_flow_l_min
            description: "Peak expiratory flow, litres per minute."
"""

TENTH_BASE = """with

source as (
    {{ numbered_source('asthma_raw', 'peak_flow_readings') }}
),

registered as (
    {{ registered_patients() }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('reading_id') }} as reading_id,
        {{ patient_columns() }},
        {{ parse_date('reading_date') }} as reading_date,
        try_cast({{ clean_text('peak_flow_l_min') }} as integer) as peak_flow_l_min
    from source
),

checked as (
    select
        cleaned.*,
        {{ registration_columns('reading_id') }}
    from cleaned
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        {% call patient_event_reason('reading_id', ['reading_date']) -%}
            when peak_flow_l_min is null then 'missing or unparseable peak_flow_l_min'
        {%- endcall %} as quarantine_reason
    from checked
)

select * from final
"""

TENTH_STG = """-- depends_on: {{ ref('stg_asthma__extract_guard') }}
select reading_id, patient_key, reading_date, peak_flow_l_min
from {{ ref('base_asthma__peak_flow_readings') }}
where quarantine_reason is null
"""


def parse_time_families(macros: str) -> dict[str, list[str]]:
    """The family -> base models literal of extract_families() in macros/extracts.sql."""
    body = re.search(r"macro extract_families\(\).*?return\((\{.*?\})\)", macros, re.S)
    assert body, "extract_families() not found"
    return ast.literal_eval(body.group(1))


def test_the_parse_time_list_of_base_models_is_the_declared_one():
    extracts = declared_extracts(REPO)
    assert len({e["file"] for e in extracts}) == len(extracts)  # one name per extract in the marts
    declared: dict[str, list[str]] = {}
    for e in extracts:
        declared.setdefault(e["extract_family"], []).append(e["base_model"])
        assert any((REPO / "models").rglob(f"{e['base_model']}.sql")), e
    listed = parse_time_families((REPO / "macros" / "extracts.sql").read_text())
    assert {k: sorted(v) for k, v in listed.items()} == {k: sorted(v) for k, v in declared.items()}


def test_a_tenth_extract_is_one_yaml_entry_and_its_staging_models(tmp_path):
    project = project_copy(tmp_path / "project")
    sources = project / "models" / "staging" / "asthma" / "_asthma__sources.yml"
    sources.write_text(sources.read_text() + TENTH_YAML)
    base = project / "models" / "staging" / "asthma" / "base"
    (base / "base_asthma__peak_flow_readings.sql").write_text(TENTH_BASE)
    (base.parent / "stg_asthma__peak_flow_readings.sql").write_text(TENTH_STG)
    macros = project / "macros" / "extracts.sql"
    text = macros.read_text()
    anchor = "'base_asthma__outpatient_appointments',"
    assert anchor in text
    macros.write_text(text.replace(anchor, anchor + " 'base_asthma__peak_flow_readings',", 1))

    raw = tmp_path / "raw"
    assert generate(raw, *SMALL).returncode == 0
    patients = pd.read_csv(raw / "patients.csv", dtype=str, keep_default_na=False)
    readings = pd.DataFrame(
        {
            "reading_id": [str(i) for i in range(1, 41)],
            "patient_id": list(patients.patient_id.iloc[:40]),
            "reading_date": ["2023-03-01"] * 40,
            "peak_flow_l_min": ["420"] * 40,
        }
    )
    readings.loc[3, "reading_id"] = ""  # null key
    readings.loc[7, "peak_flow_l_min"] = "n/a"  # unparseable
    readings.to_csv(raw / "peak_flow_readings.csv", index=False)

    db = tmp_path / "w.duckdb"
    select = ["+data_quality_reconciliation", "data_provenance", "stg_asthma__peak_flow_readings"]
    vars_ = {"raw_dir": str(raw), "allow_mixed_origins": True, "max_quarantined_share": 0.5}
    r = dbt(["build", "--indirect-selection", "cautious", "--select", *select], db, tmp_path, vars_, project=project)
    assert r.returncode == 0, r.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        counts = dict(con.sql("select extract_name, rows_read from staging.stg_asthma__extract_row_counts").fetchall())
        quarantine = con.sql(
            "select quarantine_reason from staging.stg_asthma__quarantine where extract_name = 'peak_flow_readings'"
        ).fetchall()
        rec = con.sql("select * from marts.data_quality_reconciliation").df().set_index("extract_name")
        provenance = con.sql("select * from marts.data_provenance").df().set_index("extract_name")
        outcomes = con.sql(
            "select sum(row_count) from marts.data_quality_row_outcomes where extract_name = 'peak_flow_readings'"
        ).fetchall()[0][0]
    assert counts["peak_flow_readings"] == len(readings)
    assert sorted(q for (q,) in quarantine) == [
        "missing or unparseable peak_flow_l_min",
        "null key: reading_id",
    ]
    row = rec.loc["peak_flow_readings"]
    assert row.extract_family == "asthma" and row.rows_read == len(readings) and row.rows_quarantined == 2
    assert row.rows_staged == len(readings) - 2 and row.is_reconciled
    assert outcomes == len(readings)
    assert provenance.loc["peak_flow_readings"].origin == "supplied"
    assert provenance.loc["peak_flow_readings"].rows_read == len(readings)
