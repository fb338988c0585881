"""Each extract is declared once, in the sources YAML meta; the rest is derived from it.

The declaration has one reader (macros/extracts/extract_declaration.sql), asked here through dbt
(tests/python/dbt_declaration.py), and each fact one list: an extract's base model and family are
in extract_families() only, and the reader finds them in dbt's graph. The README's tenth extract
(a peak-flow file), added to a copy of the project as its one YAML entry, its base and stg models
and its base model's name in extract_families(), reaches the preflight, the quarantine, the row
counts, reconciliation, row outcomes and provenance with nothing else edited; without that name
the build stops saying what to add."""

from __future__ import annotations

import re
import shutil

import duckdb
import pandas as pd
from conftest import REPO, dbt, project_copy
from dbt_declaration import declaration, declared_extracts, read_declaration


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


def base_models_by_family(extracts: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for e in extracts:
        found.setdefault(e["family"], []).append(e["base_model"])
    return {family: sorted(models) for family, models in found.items()}


def test_each_base_model_and_family_is_in_one_list_and_the_reader_finds_it():
    """extract_families() is the one list of base models and families: the YAML does not repeat
    them, every listed model is the base model of exactly one declared extract, and the reader
    finds the same ones on the OMOP input, where the asthma base models read stand-in models."""
    d = declaration()
    extracts, families = d["extracts"], d["families"]
    assert len({e["name"] for e in extracts}) == len(extracts)  # one name per extract in the marts
    for e in extracts:
        assert not {"base_model", "extract_family"} & set(e["meta"]), e["meta"]
        assert any((REPO / "models").rglob(f"{e['base_model']}.sql")), e
    assert base_models_by_family(extracts) == {family: sorted(models) for family, models in families.items()}
    assert {e["family"] for e in extracts} == {"asthma", "hospitals"}
    omop = declared_extracts({"asthma_input": "omop", "omop_dir": "/nowhere"})
    assert base_models_by_family(omop) == base_models_by_family(extracts)
    stand_ins = {e["table_name"]: e["omop_model"] for e in omop if e["omop_model"]}
    assert stand_ins == {e["table_name"]: f"stg_omop__{e['table_name']}" for e in extracts if e["family"] == "asthma"}


def test_each_declared_path_reads_its_own_path_var_and_file_and_the_reader_reads_the_path():
    """meta.path is Jinja over the vars (dbt renders it): the file in raw_dir, in the format
    raw_format says where an extract may come in two, unless the extract's path var (meta
    path_var, default <table>_path) is set; and external_location (dbt-duckdb) reads that path
    in that format."""
    for e in declared_extracts():
        label = f"{e['source_name']}.{e['table_name']}"
        # The defaults: raw_dir seeds/synthetic, raw_format parquet.
        assert e["format"] == ("parquet" if "parquet" in e["formats"] else "csv"), label
        assert e["path"] == f"seeds/synthetic/{e['name']}.{e['format']}", label
        reader = "read_parquet" if e["format"] == "parquet" else "read_csv"
        assert e["relation"].startswith(f"{reader}('{e['path']}'"), f"{label}: {e['relation']}"
    # Every other extract pointed elsewhere by its path var; the rest read from raw_dir as CSV.
    extracts = declared_extracts()
    elsewhere = {e["path_var"]: f"/elsewhere/{e['table_name']}.csv" for e in extracts[::2]}
    as_csv = declared_extracts({"raw_dir": "/data", "raw_format": "csv", **elsewhere})
    assert [e["table_name"] for e in as_csv] == [e["table_name"] for e in extracts]
    for e in as_csv:
        assert e["path"] == elsewhere.get(e["path_var"], f"/data/{e['name']}.csv"), e["path_var"]
        assert e["relation"].startswith(f"read_csv('{e['path']}'"), e["relation"]
    assert len(elsewhere) < len(as_csv) and {e["path"] for e in as_csv} >= set(elsewhere.values())


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
    # Declared and read, but its base model not in extract_families(): the build stops naming
    # the extract and what to add.
    stopped = read_declaration(project=project)
    assert stopped.returncode != 0
    assert (
        "extract asthma_raw.peak_flow_readings: no base model in extract_families() "
        "(macros/extracts/extract_declaration.sql) reads it: add 'base_asthma__peak_flow_readings' "
        "to its family's list there"
    ) in " ".join(stopped.stdout.split()), stopped.stdout[-3000:]
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
