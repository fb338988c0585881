"""The marts are a public contract: every column has a declared type, the built tables have
exactly those types (Python marts included, which dbt contracts do not cover), counts are whole
numbers, and a model whose column type drifts stops the build."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil

from conftest import NO_UNIT_TESTS, REPO, dbt, project_copy

ALLOWED = {"BIGINT", "INTEGER", "DOUBLE", "VARCHAR", "BOOLEAN", "DATE", "TIMESTAMP"}
# The YAML declares text as `string`, a type name DuckDB and Spark both know; DuckDB stores and
# reports it as VARCHAR. Any other declared name must be the built type itself.
DECLARED_AS_BUILT = {"STRING": "VARCHAR"}


def built_type(declared: str | None) -> str:
    name = (declared or "").upper()
    return DECLARED_AS_BUILT.get(name, name)


def test_every_mart_column_has_its_declared_type(clean_build):
    manifest = json.loads((clean_build.db.parent / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"].values()
    marts = {n["name"]: n for n in nodes if n["resource_type"] == "model" and n["schema"] == "marts"}
    built = {}
    for table, column, data_type in clean_build.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
    ):
        built.setdefault(table, {})[column] = data_type
    assert set(built) == set(marts)
    for name, node in marts.items():
        declared = {c: built_type(v.get("data_type")) for c, v in node["columns"].items()}
        assert declared == built[name], name
        assert set(built[name].values()) <= ALLOWED, (name, set(built[name].values()) - ALLOWED)
        if node["language"] == "sql":
            assert node["config"]["contract"]["enforced"], name
        restricted = node["config"]["meta"].get("release") == "restricted"
        assert node["access"] == ("protected" if restricted else "public"), name
        assert node["group"] == "health_equity_marts", name


def test_a_mart_whose_column_type_drifts_stops_the_build(clean_build, tmp_path):
    project = project_copy(tmp_path / "project")
    mart = project / "models" / "marts" / "hospitals" / "hospital_income_match_rates.sql"
    sql = mart.read_text()
    assert "count(*) as hospitals," in sql
    mart.write_text(sql.replace("count(*) as hospitals,", "cast(count(*) as double) as hospitals,"))
    db = tmp_path / "w.duckdb"
    shutil.copy(clean_build.db, db)
    vars_ = {"raw_dir": str(clean_build.raw_dir)}
    r = dbt(["run", "--select", "hospital_income_match_rates"], db, tmp_path, vars_, project)
    assert r.returncode != 0
    assert "contract" in r.stdout.lower() and "hospitals" in r.stdout


# Column names that are counts or identifiers wherever a mart has them: whole numbers, so BIGINT
# (or INTEGER), never DOUBLE (the README: counts stay integers).
COUNT_COLUMNS = {"events", "n", "patients", "cluster_id", "numerator", "hospitals", "scored_hospitals"}


def test_counts_and_identifiers_are_integers_in_every_mart(clean_build):
    typed = clean_build.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
    )
    checked = [(t, c, d) for t, c, d in typed if c in COUNT_COLUMNS]
    assert {c for _, c, _ in checked} >= {"events", "n", "patients", "cluster_id", "numerator"}
    assert [x for x in checked if x[2] not in {"BIGINT", "INTEGER"}] == []


def test_the_unit_tests_run_in_the_test_builds_and_only_they_stay_out_of_make_build(clean_build):
    """`make build` leaves the unit tests out (they check the SQL logic on fixed inputs, not the
    data): every one of them must still run, and pass, in the default pytest build `make test`
    runs (the OMOP build runs them too: test_omop.py), and the benchmark must time the same
    command `make build` runs."""
    statuses = clean_build.unit_test_statuses
    assert len(statuses) >= 10
    assert statuses == dict.fromkeys(statuses, "pass")
    makefile = (REPO / "Makefile").read_text()
    flags = re.search(r"^DBT_BUILD_FLAGS := (.*)$", makefile, re.M).group(1).split()
    assert flags == ["--exclude-resource-type", "unit_test"]
    assert NO_UNIT_TESTS == flags  # the test builds leave the unit tests out with the same flag
    assert re.search(r"^\t\$\(DBT\) build \$\(DBT_FLAGS\) \$\(DBT_BUILD_FLAGS\) ", makefile, re.M)
    spec = importlib.util.spec_from_file_location("bench_warehouse", REPO / "benchmarks" / "bench_warehouse.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.MAKE_BUILD_FLAGS == flags
