"""The asthma half on an OMOP CDM input: the real `dbt build` on the MIMIC-IV demo in OMOP CDM 5.3
(tests/fixtures/omop-mimic-iv-demo, ODbL; see its SOURCE.md), data no one here wrote, and on a
small generated world written in both layouts (`python -m generators --layout omop`).

The expected register and row counts are worked out here from the CSV files with the csv module
and hashlib, sharing no code with the warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MAKE_BUILD, NO_TESTS, REPO, TEST_SALT, Build, dbt, generate, warehouse_copy

MIMIC = REPO / "tests" / "fixtures" / "omop-mimic-iv-demo"
# MIMIC shifts every patient's dates by their own amount into 2110-2202: the window covers all of
# it, follow-up the last year of data, and ages are taken when each patient was last observed.
MIMIC_WINDOW = {"study_start": "2110-01-01", "followup_start": "2201-08-27", "study_end": "2202-08-26"}
# The asthma_condition concept set as the seed lists it (the demo ships no concept_ancestor).
ASTHMA_CONCEPTS = {"317009", "45768910", "257581"}
ACCOUNTED = [
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "death",
    "location",
]


def rows(table: str) -> list[dict]:
    with open(MIMIC / f"{table}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def patient_key(person_id: str) -> str:
    return hashlib.sha256(f"{TEST_SALT}|{person_id}".encode()).hexdigest()


def expected_register() -> set[str]:
    """Persons with an asthma condition starting inside one of their observation periods."""
    periods: dict[str, list[tuple[str, str]]] = {}
    for p in rows("observation_period"):
        periods.setdefault(p["person_id"], []).append(
            (p["observation_period_start_date"], p["observation_period_end_date"])
        )
    return {
        c["person_id"]
        for c in rows("condition_occurrence")
        if c["condition_concept_id"] in ASTHMA_CONCEPTS
        and any(start <= c["condition_start_date"] <= end for start, end in periods.get(c["person_id"], []))
    }


def omop_vars(raw: Path, omop_dir: Path, **extra) -> dict:
    return {"raw_dir": str(raw), "asthma_input": "omop", "omop_dir": str(omop_dir), **extra}


@pytest.fixture(scope="module")
def mimic_build(small_extracts, tmp_path_factory) -> Build:
    """The whole warehouse on the MIMIC demo (the hospital half on the small generated files)."""
    tmp = tmp_path_factory.mktemp("omop_mimic")
    db = tmp / "warehouse.duckdb"
    vars_ = omop_vars(small_extracts, MIMIC, omop_age_date="last_observed", **MIMIC_WINDOW)
    # Supplied patient data: the public demo salt is refused, so the build has a secret one.
    result = dbt(["build"], db, tmp, vars_, salt=TEST_SALT)
    return Build(small_extracts, db, result)


def test_mimic_builds_with_every_test_passing(mimic_build):
    out = mimic_build.result.stdout
    assert mimic_build.result.returncode == 0, out[-5000:]
    assert "ERROR=0" in out and "SKIP=0" in out
    # The unit tests run here too, on the SQL the OMOP input compiles (the other OMOP builds leave
    # them out, as `make build` does).
    statuses = mimic_build.unit_test_statuses
    assert len(statuses) >= 10
    assert statuses == dict.fromkeys(statuses, "pass")


def test_asthma_patients_are_exactly_the_register_by_the_documented_rule(mimic_build):
    register = expected_register()
    assert len(register) == 13
    keys = {k for (k,) in mimic_build.query("select patient_key from marts.asthma_patients")}
    assert keys == {patient_key(p) for p in register}


def test_every_omop_row_read_is_used_or_excluded_with_a_reason(mimic_build):
    accounted = dict(
        mimic_build.query(
            "select omop_table, sum(row_count) from marts.data_quality_omop_row_outcomes group by omop_table"
        )
    )
    assert accounted == {table: len(rows(table)) for table in ACCOUNTED}
    reasons = dict(
        mimic_build.query(
            "select outcome, sum(row_count) from marts.data_quality_omop_row_outcomes"
            " where omop_table = 'drug_exposure' group by outcome"
        )
    )
    register = expected_register()
    unmapped = sum(1 for d in rows("drug_exposure") if d["drug_concept_id"] == "0" and d["person_id"] in register)
    assert unmapped > 0 and reasons["unmapped concept (concept_id 0)"] == unmapped
    # The demo's trimmed vocabulary lacks every drug concept it uses: counted, not dropped.
    assert reasons["concept missing from the supplied vocabulary (not classifiable)"] > 0
    used_persons = mimic_build.query(
        "select row_count from marts.data_quality_omop_row_outcomes"
        " where omop_table = 'person' and outcome = 'used: patients'"
    )
    assert used_persons == [(13,)]


def test_the_extract_accounting_holds_on_the_omop_rows_used(mimic_build):
    assert mimic_build.query("select count(*) from marts.data_quality_reconciliation where not is_reconciled") == [(0,)]
    staged = mimic_build.query(
        "select rows_read from marts.data_quality_reconciliation where extract_name = 'hospital_admissions'"
    )
    used = mimic_build.query(
        "select row_count from marts.data_quality_omop_row_outcomes"
        " where omop_table = 'visit_occurrence' and outcome = 'used: hospital_admissions'"
    )
    assert staged == used


def test_without_area_data_deprivation_says_not_available(mimic_build):
    notes = mimic_build.query("select distinct note from marts.asthma_inequality_indices")
    assert notes == [("not available: no patient has a deprivation quintile (no deprivation data for their areas)",)]
    groups = mimic_build.query(
        "select distinct group_value from marts.asthma_inequalities where dimension = 'imd_quintile'"
    )
    assert groups == [("not available: no deprivation for the area",)]
    assert mimic_build.query("select count(*) from marts.asthma_patients where imd_quintile is not null") == [(0,)]


def test_too_few_patients_for_a_model_gives_a_row_saying_why(mimic_build):
    statuses = mimic_build.query("select distinct estimate_status from marts.asthma_admission_rate_ratios")
    assert statuses and all(s.startswith("not estimated: ") for (s,) in statuses)


def test_the_exports_and_the_report_run_on_the_omop_warehouse(mimic_build, tmp_path):
    db = warehouse_copy(mimic_build, tmp_path / "copy")
    manifest = mimic_build.db.parent / "target" / "manifest.json"
    exports = [sys.executable, "-m", "health_equity.outputs.exports", "--db", str(db), "--out", str(tmp_path / "out")]
    run = subprocess.run([*exports, "--hyper", "no", "--manifest", str(manifest)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "data_quality_omop_row_outcomes.parquet").exists()
    assert not (tmp_path / "out" / "asthma_patients.parquet").exists()
    report = [sys.executable, "-m", "health_equity.outputs.report", "--db", str(db), "--out", str(tmp_path / "r.html")]
    run = subprocess.run(report, capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "r.html").stat().st_size > 0


def test_a_window_that_misses_shifted_dates_stops_and_says_what_to_set(small_extracts, tmp_path):
    result = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, MIMIC))
    assert result.returncode != 0
    assert "cover 2110-01-04 to 2202-08-26" in result.stdout
    assert "study_start: 2110-01-01, followup_start: 2201-08-27, study_end: 2202-08-26" in result.stdout


def test_ages_on_one_calendar_date_stop_and_name_the_var(small_extracts, tmp_path):
    result = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, MIMIC, **MIMIC_WINDOW))
    assert result.returncode != 0
    assert "omop_age_date: last_observed" in result.stdout


def test_an_omop_database_with_the_public_demo_salt_stops_naming_the_salt_variable(small_extracts, tmp_path):
    vars_ = omop_vars(small_extracts, MIMIC, omop_age_date="last_observed", **MIMIC_WINDOW)
    result = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, vars_)
    assert result.returncode != 0
    assert f"The OMOP person table {MIMIC}/person.csv is supplied" in result.stdout
    assert "HEALTH_EQUITY_SALT" in result.stdout and "START sql" not in result.stdout


def test_upper_case_file_names_and_a_missing_table_are_handled(small_extracts, tmp_path):
    folder = tmp_path / "omop"
    folder.mkdir()
    for table in ["person", "observation_period", "visit_occurrence", "condition_occurrence"]:
        (folder / f"{table.upper()}.csv").write_bytes((MIMIC / f"{table}.csv").read_bytes())
    result = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, folder, **MIMIC_WINDOW))
    assert result.returncode != 0
    assert "no file for table(s) drug_exposure" in result.stdout
    assert "person" not in result.stdout.split("no file for table(s)")[1].split("(looked")[0]


# What OMOP cannot say, so differs from the extract route by construction (doc omop_mapping):
# reviews (procedures, not read), did-not-attend appointments, smoking, BMI, the practice's code.
NOT_IN_OMOP = {
    "practice_code",
    "smoking_status",
    "bmi_band",
    "baseline_asthma_reviews",
    "followup_asthma_reviews",
    "baseline_gp_asthma_visits",
    "followup_gp_asthma_visits",
    "baseline_outpatient_missed_appointments",
    "followup_outpatient_missed_appointments",
    "ethnicity_group",
    # Which measure the quintile is: the extracts' IMD, the OMOP route's supplied lookup (the same
    # IMD deciles here, but the build can only say they come from the lookup).
    "deprivation_measure",
}


@pytest.fixture(scope="module")
def both_routes(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, Build]:
    """One generated world (same seed) built from its extracts and from its OMOP tables."""
    tmp = tmp_path_factory.mktemp("omop_generated")
    raw = tmp / "raw"
    gen = generate(raw, "--patients", "2000", "--hospitals", "300", "--seed", "11", "--quiet", "--layout", "omop")
    assert gen.returncode == 0, gen.stderr
    # The same secret salt on both routes (the OMOP tables count as supplied), so the keys agree.
    # The extract route is the reference for one mart, asthma_patients: it and what it reads.
    extracts = dbt(
        ["build", "--select", "+asthma_patients", *NO_TESTS],
        tmp / "extracts.duckdb",
        tmp / "extracts",
        {"raw_dir": str(raw)},
        salt=TEST_SALT,
    )
    assert extracts.returncode == 0, extracts.stdout[-5000:]
    lookup = {"omop_area_deprivation_path": str(raw / "area_deprivation.csv")}
    omop = Build(
        raw,
        tmp / "omop.duckdb",
        dbt(MAKE_BUILD, tmp / "omop.duckdb", tmp / "omop", omop_vars(raw, raw / "omop", **lookup), salt=TEST_SALT),
    )
    assert omop.result.returncode == 0, omop.result.stdout[-5000:]
    by_extracts = Build(raw, tmp / "extracts.duckdb", extracts).df("select * from marts.asthma_patients")
    by_omop = omop.df("select * from marts.asthma_patients")
    return by_extracts.set_index("patient_key").sort_index(), by_omop.set_index("patient_key").sort_index(), omop


def test_the_generated_omop_world_builds_with_every_test_passing(both_routes):
    out = both_routes[2].result.stdout
    assert "ERROR=0" in out and "SKIP=0" in out
    accounted = both_routes[2].query(
        "select count(*) from marts.data_quality_omop_row_outcomes where rows_accounted != rows_read"
    )
    assert accounted == [(0,)]


def test_both_routes_give_the_same_patients_and_figures_where_omop_can_say_them(both_routes):
    by_extracts, by_omop, _ = both_routes
    assert len(by_extracts) == 2000 and list(by_omop.index) == list(by_extracts.index)
    compared = [c for c in by_extracts.columns if c not in NOT_IN_OMOP]
    assert "imd_quintile" in compared and "followup_emergency_admissions" in compared
    for column in compared:
        a, b = by_extracts[column], by_omop[column]
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            assert np.allclose(a.astype(float), b.astype(float), rtol=0, atol=1e-9, equal_nan=True), column
        else:
            assert [None if pd.isna(v) else v for v in a] == [None if pd.isna(v) else v for v in b], column


def test_what_omop_cannot_say_differs_only_as_documented(both_routes):
    by_extracts, by_omop, _ = both_routes
    mixed = by_extracts.ethnicity_group == "Mixed/multiple"
    assert mixed.any() and (by_omop.ethnicity_group[mixed] == "Not stated or unknown").all()
    assert (by_omop.ethnicity_group[~mixed] == by_extracts.ethnicity_group[~mixed]).all()
    for window in ["baseline", "followup"]:
        assert (by_omop[f"{window}_asthma_reviews"] == 0).all()
        assert (by_omop[f"{window}_outpatient_missed_appointments"] == 0).all()
        without_reviews = by_extracts[f"{window}_gp_asthma_visits"] - by_extracts[f"{window}_asthma_reviews"]
        assert (by_omop[f"{window}_gp_asthma_visits"] == without_reviews).all()
    assert by_omop.smoking_status.isna().all() and (by_omop.practice_code == "OMOP").all()
    assert set(by_extracts.deprivation_measure) == {"IMD 2019 quintile"}
    lookup = "deprivation quintile of the supplied area lookup (var omop_area_deprivation_path)"
    assert set(by_omop.deprivation_measure) == {lookup}
