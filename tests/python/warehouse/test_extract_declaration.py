"""Each extract is declared once, in the sources YAML meta; the rest is derived from it.

The README's tenth extract (a peak-flow file), added to a copy of the project as its one YAML entry,
its base and stg models and its base model's name in extract_families(), reaches the preflight, the
quarantine, the row counts, reconciliation, row outcomes and provenance with nothing else edited."""

from __future__ import annotations

import ast
import re
import shutil

import duckdb
import pandas as pd
from conftest import REPO, dbt, project_copy

from health_equity.engine.preflight import declared_extracts


def readme_example() -> tuple[str, dict[str, str]]:
    """The README's "Adding an extract" example: its YAML entry and its models by path."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Adding an extract", 1)[1].split("\n### ", 1)[0]
    (entry,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    models = {}
    for block in re.findall(r"```sql\n(.*?)```", section, re.S):
        first, _ = block.split("\n", 1)
        models[first.removeprefix("-- ")] = block
    return entry, models


def parse_time_families(macros: str) -> dict[str, list[str]]:
    """The family -> base models literal of extract_families() in macros/extracts/extract_declaration.sql."""
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
    listed = parse_time_families((REPO / "macros" / "extracts" / "extract_declaration.sql").read_text())
    assert {k: sorted(v) for k, v in listed.items()} == {k: sorted(v) for k, v in declared.items()}


def test_each_declared_path_reads_its_own_path_var_and_file_and_the_reader_reads_the_path():
    """meta.path is Jinja over the vars (dbt renders it): the file in raw_dir unless the extract's
    path var (meta path_var, default <table>_path) is set. The var and the stem are written there
    and in path_var/file; this says where they disagree. external_location (dbt-duckdb) reads
    {path}, in the format raw_format says where an extract may come in two."""
    for e in declared_extracts(REPO):
        label = f"{e['source_name']}.{e['table_name']}"
        path = e.get("path", "")
        assert f"var('{e['path_var']}')" in path, f"{label}: meta.path {path!r} does not read var {e['path_var']}"
        assert f"/{e['file']}." in path, f"{label}: meta.path {path!r} is not raw_dir/{e['file']}.<format>"
        assert ("var('raw_format')" in path) == (len(e["formats"]) > 1), label
        location = e.get("external_location", "")
        assert "'{path}'" in location, f"{label}: external_location {location!r} does not read {{path}}"
        assert ("read_parquet" in location) == ("parquet" in e["formats"]), label


def test_a_tenth_extract_is_one_yaml_entry_and_its_staging_models(small_extracts, tmp_path):
    project = project_copy(tmp_path / "project")
    entry, models = readme_example()
    sources = project / "models" / "staging" / "asthma" / "_asthma__sources.yml"
    sources.write_text(sources.read_text() + entry)
    assert sorted(models) == [
        "models/staging/asthma/base/base_asthma__peak_flow_readings.sql",
        "models/staging/asthma/stg_asthma__peak_flow_readings.sql",
    ]
    for path, sql in models.items():
        (project / path).write_text(sql)
    macros = project / "macros" / "extracts" / "extract_declaration.sql"
    text = macros.read_text()
    anchor = "'base_asthma__outpatient_appointments',"
    assert anchor in text
    macros.write_text(text.replace(anchor, anchor + " 'base_asthma__peak_flow_readings',", 1))

    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
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
