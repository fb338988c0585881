"""Checks of the contracted marts are DuckDB constraints, and none is lost.

On a contracted mart, `not_null`, `unique` and composite keys (`unique_combination` of columns that
are all not null) are declared as contract constraints, and so are `accepted_values` and row-level
`expression_holds` (as `check` constraints), which DuckDB enforces as dbt writes the table: a
violating row fails the model, with no test node of its own. Each constraint keeps its data test,
disabled on DuckDB and run on engines that do not enforce constraints (Spark), so every rule is
checked exactly once on each engine. These tests check that pairing in dbt's manifest (for a
check, the very expression its test checks), that the built tables carry the constraints, and that
a violating upstream row really stops the build, naming the model and the column or rule.
"""

from __future__ import annotations

import json
import shutil

import duckdb
from conftest import dbt

# The test for each constraint type (the data test the constraint replaces on DuckDB).
TEST_OF = {"not_null": "not_null", "unique": "unique", "primary_key": "unique_combination"}
CATALOG_NAME = {"not_null": "NOT NULL", "unique": "UNIQUE", "primary_key": "PRIMARY KEY"}


def manifest(build) -> dict:
    return json.loads((build.db.parent / "target" / "manifest.json").read_text())


def declared_constraints(node: dict) -> set[tuple[str, tuple[str, ...]]]:
    """(type, columns) of every constraint a model declares, column-level and model-level."""
    found = {(c["type"], tuple(c["columns"])) for c in node.get("constraints", []) if c["type"] != "check"}
    for name, column in node["columns"].items():
        found |= {(c["type"], (name,)) for c in column.get("constraints", []) if c["type"] != "check"}
    return found


def declared_checks(node: dict) -> list[str]:
    """The expression of every `check` constraint a model declares, column-level and model-level."""
    found = [c["expression"] for c in node.get("constraints", []) if c["type"] == "check"]
    for column in node["columns"].values():
        found += [c["expression"] for c in column.get("constraints", []) if c["type"] == "check"]
    return found


def check_of(test: dict) -> str | None:
    """The check constraint that enforces what a test checks, written as the constraints are: an
    accepted_values test is `column in (values)` (a null passes both); a row-level expression_holds
    is `coalesce((expression), false)`, as the test counts a null result as a failure. None for a
    test no check replaces (other tests, aggregates, filtered ones)."""
    meta = test.get("test_metadata") or {}
    kwargs = {k: v for k, v in meta.get("kwargs", {}).items() if k not in ("model", "column_name")}
    if test["config"].get("where"):
        return None
    if meta.get("name") == "accepted_values" and set(kwargs) <= {"values", "quote"}:
        quote = kwargs.get("quote", True)

        def literal(v) -> str:
            return "'" + str(v).replace("'", "''") + "'" if quote else str(v).lower()

        return f"{test['column_name']} in ({', '.join(literal(v) for v in kwargs['values'])})"
    if meta.get("name") == "expression_holds" and set(kwargs) == {"expression"}:
        return "coalesce((" + " ".join(kwargs["expression"].split()) + "), false)"
    return None


def key_tests_on(nodes, model_id: str) -> set[tuple[str, tuple[str, ...]]]:
    """(test name, columns) of the plain key tests attached to a model (no `where` filter)."""
    found = set()
    for node in nodes:
        meta = node.get("test_metadata") or {}
        if node.get("attached_node") != model_id or node["config"].get("where"):
            continue
        if meta.get("name") in ("not_null", "unique"):
            found.add((meta["name"], (node["column_name"],)))
        elif meta.get("name") == "unique_combination":
            found.add((meta["name"], tuple(meta["kwargs"]["columns"])))
    return found


def test_every_key_test_off_duckdb_is_a_constraint_and_every_constraint_keeps_its_test(clean_build):
    m = manifest(clean_build)
    enabled = [n for n in m["nodes"].values() if n["resource_type"] == "test"]
    disabled = [n for versions in m["disabled"].values() for n in versions if n["resource_type"] == "test"]
    models = {k: n for k, n in m["nodes"].items() if n["resource_type"] == "model"}
    constrained = {k: declared_constraints(n) for k, n in models.items() if declared_constraints(n)}
    # Constraints only where DuckDB enforces them: on models with an enforced contract.
    assert constrained, "no model declares a constraint"
    for model_id in constrained:
        assert models[model_id]["config"]["contract"]["enforced"], model_id
    # A test disabled on an enabled model is one a constraint enforces instead, and nothing else.
    for test in disabled:
        model_id = test.get("attached_node")
        if model_id not in models:
            continue  # a test of a disabled model (the OMOP input), off with its model
        if check_of(test):
            continue  # a check constraint enforces it: the next test pairs those
        meta = test["test_metadata"]
        columns = tuple(meta["kwargs"]["columns"]) if meta["name"] == "unique_combination" else (test["column_name"],)
        kind = {v: k for k, v in TEST_OF.items()}.get(meta["name"])
        assert (kind, columns) in constrained.get(model_id, set()), f"{test['unique_id']} is off with no constraint"
    # Every constraint has its test, disabled here and run on Spark (not enforced there).
    for model_id, constraints in constrained.items():
        off = key_tests_on(disabled, model_id)
        on = key_tests_on(enabled, model_id)
        for kind, columns in constraints:
            assert (TEST_OF[kind], columns) in off, (model_id, kind, columns)
            assert (TEST_OF[kind], columns) not in on, f"{model_id}: {kind} {columns} checked twice"
        assert all(t in {(TEST_OF[k], c) for k, c in constraints} for t in off), model_id
        # A composite primary key also holds each of its columns not null: those keep their own
        # constraint (and test) so the rule each column had is still stated where it was.
        for kind, columns in constraints:
            if kind == "primary_key":
                assert all(("not_null", (c,)) in constraints for c in columns), (model_id, columns)


def test_the_built_marts_carry_every_declared_constraint(clean_build):
    m = manifest(clean_build)
    declared = set()
    for node in m["nodes"].values():
        if node["resource_type"] == "model":
            for kind, columns in declared_constraints(node):
                declared.add((node["alias"], CATALOG_NAME[kind], columns))
    built = {
        (table, kind, tuple(columns))
        for table, kind, columns in clean_build.query(
            "select table_name, constraint_type, constraint_column_names from duckdb_constraints() "
            "where schema_name = 'marts' and constraint_type in ('NOT NULL', 'UNIQUE', 'PRIMARY KEY')"
        )
    }
    assert len(declared) >= 50, len(declared)
    assert declared <= built, sorted(declared - built)


def failed_mart_build(clean_build, tmp_path, name: str, sql: str) -> tuple[list[str], duckdb.DuckDBPyConnection]:
    """Run `sql` on a copy of the clean warehouse (a bad row sent from upstream), then build
    hospital_equity on it: the build must fail in that model. Returns the lines of dbt's output that
    name a Constraint Error, and the copy, read-only, to see what the failed build left."""
    db = tmp_path / f"{name}.duckdb"
    shutil.copy(clean_build.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute(sql)
    r = dbt(["run", "--select", "hospital_equity"], db, tmp_path, {"raw_dir": str(clean_build.raw_dir)})
    assert r.returncode == 1, r.stdout[-3000:]
    assert "Failure in model hospital_equity " in r.stdout, r.stdout[-3000:]
    errors = [line for line in r.stdout.splitlines() if "Constraint Error" in line]
    return errors, duckdb.connect(str(db), read_only=True)


def test_a_null_or_duplicate_key_from_upstream_fails_the_mart(clean_build, tmp_path):
    """The rows come from an upstream table, as a bug there would send them: one facility loses its
    match method (NOT NULL on hospital_equity.income_match_method), or is matched twice (UNIQUE on
    hospital_equity.facility_id). Each build of the mart fails, naming the model and the column
    (DuckDB names a duplicate by its key value: the facility)."""
    first = clean_build.query("select min(facility_id) from intermediate.int_hospitals_income_matched")[0][0]
    upstream = "intermediate.int_hospitals_income_matched"
    breakages = {
        "null": (
            f"update {upstream} set income_match_method = null where facility_id = '{first}'",
            ["NOT NULL constraint failed", "hospital_equity", ".income_match_method"],
        ),
        "duplicate": (
            f"insert into {upstream} select * from {upstream} where facility_id = '{first}'",
            ["PRIMARY KEY or UNIQUE constraint violation", f'duplicate key "{first}"'],
        ),
    }
    for name, (sql, expected) in breakages.items():
        errors, con = failed_mart_build(clean_build, tmp_path, name, sql)
        assert any(all(text in line for text in expected) for line in errors), (name, errors)
        # The failed build left the mart as it was: the good table, one row per facility.
        with con:
            rows, keys, nulls = con.sql(
                "select count(*), count(distinct facility_id), count(*) - count(income_match_method) "
                "from marts.hospital_equity"
            ).fetchall()[0]
        assert rows == keys > 0 and nulls == 0, (name, rows, keys, nulls)


def test_every_check_test_off_duckdb_is_a_check_constraint_and_every_check_keeps_its_test(clean_build):
    m = manifest(clean_build)
    models = {k: n for k, n in m["nodes"].items() if n["resource_type"] == "model"}
    checks = {k: sorted(declared_checks(n)) for k, n in models.items() if declared_checks(n)}
    assert sum(len(c) for c in checks.values()) >= 30, checks
    enabled = [n for n in m["nodes"].values() if n["resource_type"] == "test"]
    disabled = [n for versions in m["disabled"].values() for n in versions if n["resource_type"] == "test"]
    off = {}
    for test in disabled:
        if test.get("attached_node") in models and check_of(test):
            off.setdefault(test["attached_node"], []).append(check_of(test))
    # Exactly one disabled test per check, with the same expression, and none of them still on.
    assert {k: sorted(v) for k, v in off.items()} == checks
    for test in enabled:
        expression = check_of(test)
        assert expression is None or expression not in checks.get(test.get("attached_node"), []), test["unique_id"]
    for model_id in checks:
        assert models[model_id]["config"]["contract"]["enforced"], model_id
    # And the built tables carry them, as many per table as declared.
    built = dict(
        clean_build.query(
            "select table_name, count(*) from duckdb_constraints() "
            "where schema_name = 'marts' and constraint_type = 'CHECK' group by table_name"
        )
    )
    assert built == {models[k]["alias"]: len(v) for k, v in checks.items()}


def test_a_value_or_row_that_breaks_a_check_from_upstream_fails_the_mart(clean_build, tmp_path):
    """An unknown income coding (accepted_values on hospital_equity.income_coding) and a scored
    hospital that also carries a reason for having no score (is_scored = (score_flag is null)),
    each sent from upstream: each build of the mart fails with DuckDB's CHECK error naming the
    table and the rule's expression, and the previous table stays."""
    scored = clean_build.query(
        "select min(facility_id) from intermediate.int_hospitals_scores where is_headline and risk_score is not null"
    )[0][0]
    breakages = {
        "value": (
            "update intermediate.int_hospitals_income_matched set income_coding = 'guessed' "
            f"where facility_id = '{scored}'",
            "(income_coding IN ('estimate', 'top-coded', 'bottom-coded', 'zip3 median'))",
        ),
        "row": (
            "update intermediate.int_hospitals_scores set score_reason = 'planted' "
            f"where facility_id = '{scored}' and is_headline",
            "COALESCE((is_scored = (score_flag IS NULL)), false)",
        ),
    }
    for name, (sql, expected) in breakages.items():
        errors, con = failed_mart_build(clean_build, tmp_path, name, sql)
        checks = [line for line in errors if "CHECK constraint failed" in line and "hospital_equity" in line]
        assert any(expected in line for line in checks), (name, errors)
        with con:
            bad = con.sql(
                "select count(*) from marts.hospital_equity where income_coding = 'guessed' "
                "or is_scored <> (score_flag is null)"
            ).fetchall()[0][0]
        assert bad == 0, name


def test_a_broken_rule_of_a_shared_table_rules_test_fails_naming_the_relation_column_and_rule(clean_build, tmp_path):
    """The plain checks of a seed or model share one table_rules test (one query): each rule is
    still checked, and a broken one fails the test with a message naming the relation and, per
    broken rule, the column (or expression), the rule and how many rows break it."""
    db = tmp_path / "broken.duckdb"
    shutil.copy(clean_build.db, db)
    first = clean_build.query("select min(facility_id) from intermediate.int_hospitals_income_matched")[0][0]
    with duckdb.connect(str(db)) as con:
        con.execute("update reference.ref_us_states set census_region = 'Moon' where state_code = 'CA'")
        con.execute("update reference.ref_us_states set state_name = null where state_code in ('NY', 'TX')")
        matched = "intermediate.int_hospitals_income_matched"
        con.execute(f"insert into {matched} select * from {matched} where facility_id = '{first}'")
        con.execute(f"update {matched} set income_match_method = 'guessed' where facility_id = '{first}'")
    selected = [
        "table_rules_ref_us_states",
        "table_rules_int_hospitals_income_matched",
        "table_rules_ref_imd_quintiles",
    ]
    r = dbt(["test", "--select", *selected], db, tmp_path, {"raw_dir": str(clean_build.raw_dir)})
    assert r.returncode == 1, r.stdout[-3000:]
    assert "ref_us_states: census_region accepted_values (1 rows); state_name not_null (2 rows)" in r.stdout
    expected = "int_hospitals_income_matched: facility_id unique (1 rows); income_match_method accepted_values (2 rows)"
    assert expected in r.stdout, r.stdout[-3000:]
    assert " PASS table_rules_ref_imd_quintiles " in r.stdout and " ERROR=2 " in r.stdout, r.stdout[-3000:]
