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
from conftest import NO_TESTS, REPO, TEST_SALT, Build, dbt, generate, warehouse_copy

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
    assert notes == [("not available: no patient has an IMD quintile (no deprivation data for their areas)",)]
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
    result = dbt(["build"], tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, MIMIC))
    assert result.returncode != 0
    assert "cover 2110-01-04 to 2202-08-26" in result.stdout
    assert "study_start: 2110-01-01, followup_start: 2201-08-27, study_end: 2202-08-26" in result.stdout


def test_ages_on_one_calendar_date_stop_and_name_the_var(small_extracts, tmp_path):
    result = dbt(["build"], tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, MIMIC, **MIMIC_WINDOW))
    assert result.returncode != 0
    assert "omop_age_date: last_observed" in result.stdout


def test_an_omop_database_with_the_public_demo_salt_stops_naming_the_salt_variable(small_extracts, tmp_path):
    vars_ = omop_vars(small_extracts, MIMIC, omop_age_date="last_observed", **MIMIC_WINDOW)
    result = dbt(["build"], tmp_path / "w.duckdb", tmp_path, vars_)
    assert result.returncode != 0
    assert f"The OMOP person table {MIMIC}/person.csv is supplied" in result.stdout
    assert "HEALTH_EQUITY_SALT" in result.stdout and "START sql" not in result.stdout


def test_upper_case_file_names_and_a_missing_table_are_handled(small_extracts, tmp_path):
    folder = tmp_path / "omop"
    folder.mkdir()
    for table in ["person", "observation_period", "visit_occurrence", "condition_occurrence"]:
        (folder / f"{table.upper()}.csv").write_bytes((MIMIC / f"{table}.csv").read_bytes())
    result = dbt(["build"], tmp_path / "w.duckdb", tmp_path, omop_vars(small_extracts, folder, **MIMIC_WINDOW))
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
    extracts = dbt(
        ["build", *NO_TESTS], tmp / "extracts.duckdb", tmp / "extracts", {"raw_dir": str(raw)}, salt=TEST_SALT
    )
    assert extracts.returncode == 0, extracts.stdout[-5000:]
    lookup = {"omop_area_deprivation_path": str(raw / "area_deprivation.csv")}
    omop = Build(
        raw,
        tmp / "omop.duckdb",
        dbt(["build"], tmp / "omop.duckdb", tmp / "omop", omop_vars(raw, raw / "omop", **lookup), salt=TEST_SALT),
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


# The built-in U.S. deprivation (doc omop_deprivation): without an area lookup, a patient whose
# location has a ZIP gets the ACS median household income quintile of that ZIP's ZCTA, from the
# ACS file the hospital half reads (here the real Census file of tests/fixtures/real).
REAL = REPO / "tests" / "fixtures" / "real"
ACS_FILE = REAL / "ACSDT5Y2020.B19013-Data.csv"
ACS_LABEL = "ACS 5-year 2016-2020 median household income quintile of the ZIP (as ZCTA)"


def acs_quintiles() -> dict[str, int]:
    """ZCTA -> income quintile worked out here from the Census file with pandas: every ZCTA with an
    income ("250,000+" and "2,500-" at their bound, "-" none), sorted by income then ZCTA code and
    cut into five groups, the first N mod 5 one larger (numpy.array_split)."""
    acs = pd.read_csv(ACS_FILE, dtype=str, keep_default_na=False)
    acs = acs.assign(
        zcta=acs.GEO_ID.str[-5:], income=pd.to_numeric(acs.B19013_001E.str.replace("[,+-]", "", regex=True))
    )
    ranked = acs.dropna(subset=["income"]).sort_values(["income", "zcta"])
    return {z: q + 1 for q, part in enumerate(np.array_split(ranked.zcta.to_numpy(), 5)) for z in part}


@pytest.fixture(scope="module")
def acs_build(small_extracts, tmp_path_factory) -> tuple[Build, dict[str, str], dict[str, int]]:
    """The MIMIC demo with a location for each patient on its register (real ZIPs of the ACS file,
    ZIP+4s, a ZIP that is no ZCTA, a ZCTA without an income, an LSOA, no location), built with no
    area lookup and the real CMS and Census files for the hospital half (so nothing is synthetic)."""
    tmp = tmp_path_factory.mktemp("omop_acs")
    folder = tmp / "omop"
    folder.mkdir()
    for table in [
        "observation_period",
        "visit_occurrence",
        "condition_occurrence",
        "drug_exposure",
        "death",
        "concept",
    ]:
        (folder / f"{table}.csv").write_bytes((MIMIC / f"{table}.csv").read_bytes())
    quintiles = acs_quintiles()
    by_rank = sorted(quintiles, key=lambda z: (quintiles[z], z))
    first_of = {q: min(z for z in quintiles if quintiles[z] == q) for q in range(1, 6)}
    last_of_1 = max((z for z in quintiles if quintiles[z] == 1), key=by_rank.index)
    first_of_2 = by_rank[by_rank.index(last_of_1) + 1]
    acs = pd.read_csv(ACS_FILE, dtype=str, keep_default_na=False)
    top_coded = acs.GEO_ID[acs.B19013_001E == "250,000+"].str[-5:].min()
    no_income = acs.GEO_ID[acs.B19013_001E == "-"].str[-5:].min()
    # zip column, location_source_value of each register patient's location (None: no location).
    places = [
        (last_of_1, ""),  # the last ZCTA of quintile 1 ...
        (first_of_2 + "-1234", ""),  # ... and the next one, the first of quintile 2, as a ZIP+4
        (first_of[1], ""),
        (first_of[2], ""),
        (first_of[3] + "-0001", ""),
        (first_of[4], ""),
        (first_of[5], ""),
        (top_coded, ""),
        ("00000", ""),  # five digits, but no ZCTA
        (no_income, ""),  # a ZCTA whose income the Census could not compute
        ("", "E01000001"),  # an LSOA: not a U.S. ZIP
        None,
        ("02115-5000", ""),
    ]
    register = sorted(expected_register())
    assert len(places) == len(register)
    areas = {}
    with open(folder / "location.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["location_id", "address_1", "city", "state", "zip", "location_source_value"])
        for i, place in enumerate(places):
            if place is not None:
                w.writerow([100 + i, "", "", "", place[0], place[1]])
                areas[register[i]] = place[0][:5] or place[1]
    persons = rows("person")
    with open(folder / "person.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(persons[0]))
        w.writeheader()
        for p in persons:
            i = register.index(p["person_id"]) if p["person_id"] in register else None
            w.writerow({**p, "location_id": 100 + i if i is not None and places[i] is not None else ""})
    vars_ = omop_vars(
        small_extracts,
        folder,
        omop_age_date="last_observed",
        acs_income_path=str(ACS_FILE),
        hospital_general_information_path=str(REAL / "Hospital_General_Information_2025.csv"),
        complications_and_deaths_path=str(tmp / "no-such-file.csv"),
        **MIMIC_WINDOW,
    )
    db = tmp / "warehouse.duckdb"
    return Build(small_extracts, db, dbt(["build"], db, tmp, vars_, salt=TEST_SALT)), areas, quintiles


def test_zip_income_quintiles_build_with_every_test_passing(acs_build):
    out = acs_build[0].result.stdout
    assert acs_build[0].result.returncode == 0, out[-5000:]
    assert "ERROR=0" in out and "SKIP=0" in out


def test_every_zcta_quintile_is_the_independent_one(acs_build):
    b, _, quintiles = acs_build
    built = dict(b.query("select zcta, income_quintile from staging.stg_omop__zcta_income_quintiles"))
    assert len(built) == 33120 - 2556 and built == quintiles


def test_each_zip_patient_has_its_zcta_income_quintile_labelled_as_acs_income(acs_build):
    b, areas, quintiles = acs_build
    got = {
        key: (quintile, measure)
        for key, quintile, measure in b.query(
            "select patient_key, imd_quintile, deprivation_measure from marts.asthma_patients"
        )
    }
    register = sorted(expected_register())
    assert len(got) == len(register) == 13
    reasons = {
        "00000": "not available: ZIP not a ZCTA of the ACS income file",
        "E01000001": "not available: area code is not a U.S. ZIP and no lookup is given"
        " (var omop_area_deprivation_path)",
        None: "not available: no area code (no location with a zip or location_source_value)",
    }
    with_income = 0
    for person in register:
        area = areas.get(person)
        quintile, measure = got[patient_key(person)]
        if area in quintiles:
            with_income += 1
            assert (quintile, measure) == (quintiles[area], ACS_LABEL), (person, area)
        elif area in reasons:
            assert (quintile, measure) == (None, reasons[area]), (person, area)
        else:
            assert (quintile, measure) == (
                None,
                "not available: ACS median household income not computable for the ZCTA",
            )
    assert with_income == 9
    # The ZIP+4s are read as their ZIP: every quintile is there, both sides of the 1|2 cut-off too.
    assert sorted(q for q, _ in got.values() if q is not None) == sorted([1, 2, 1, 2, 3, 4, 5, 5, quintiles["02115"]])
    assert "IMD" not in ACS_LABEL and "ACS" in ACS_LABEL and "income" in ACS_LABEL


def test_the_published_marts_say_the_quintiles_are_acs_income_not_imd(acs_build):
    b = acs_build[0]
    labels = b.query(
        "select distinct group_value like 'not available%', deprivation_measure from marts.asthma_inequalities"
        " where dimension = 'imd_quintile' order by 1"
    )
    assert labels == [(False, ACS_LABEL), (True, "not available: no deprivation for the area")]
    assert b.query("select distinct deprivation_measure from marts.asthma_inequality_indices") == [(ACS_LABEL,)]
    others = b.query(
        "select count(*) from marts.asthma_inequalities"
        " where dimension != 'imd_quintile' and deprivation_measure is not null"
    )
    assert others == [(0,)]


def test_the_report_says_the_deprivation_groups_are_acs_income_not_imd(acs_build, tmp_path):
    db = warehouse_copy(acs_build[0], tmp_path / "copy")
    report = [sys.executable, "-m", "health_equity.report", "--db", str(db), "--out", str(tmp_path / "r.html")]
    run = subprocess.run(report, capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "r.html").read_text()
    asthma = html[html.index('<h2 id="asthma">') :]
    assert f'Deprivation here is not the IMD: the groups called "IMD quintile" below are the {ACS_LABEL}' in asthma


def test_a_lookup_is_used_instead_of_acs_and_a_generated_acs_file_is_not_used_for_real_patients(acs_build, tmp_path):
    """One build, one measure: with a lookup, a ZIP it lacks has no deprivation (no ACS fallback);
    without one, real patients get no quintile from the generated ACS file of the test extracts."""
    b, areas, quintiles = acs_build
    folder = b.db.parent / "omop"
    zips = sorted(a for a in areas.values() if a in quintiles)
    listed, unlisted = zips[0], zips[1]
    (tmp_path / "areas.csv").write_text(f"area_code,deprivation_quintile\n{listed},3\n")
    select = ["build", "--select", "+stg_omop__patient_deprivation", *NO_TESTS]
    base = omop_vars(b.raw_dir, folder, omop_age_date="last_observed", **MIMIC_WINDOW)
    with_lookup = {
        **base,
        "acs_income_path": str(ACS_FILE),
        "hospital_general_information_path": str(REAL / "Hospital_General_Information_2025.csv"),
        "complications_and_deaths_path": str(tmp_path / "no-such-file.csv"),
        "omop_area_deprivation_path": str(tmp_path / "areas.csv"),
    }
    sql = "select area_code, imd_decile, deprivation_measure from staging.stg_omop__patient_deprivation"
    for name, vars_ in [("lookup", with_lookup), ("generated_acs", base)]:
        db = tmp_path / f"{name}.duckdb"
        result = dbt(select, db, tmp_path / name, vars_, salt=TEST_SALT)
        assert result.returncode == 0, result.stdout[-5000:]
        got = {area: (decile, measure) for area, decile, measure in Build(b.raw_dir, db, result).query(sql)}
        if name == "lookup":
            lookup = "deprivation quintile of the supplied area lookup (var omop_area_deprivation_path)"
            assert got[listed] == (5, lookup)
            assert got[unlisted] == (
                None,
                "not available: area not in the lookup (var omop_area_deprivation_path);"
                " ACS income quintiles are used only without a lookup",
            )
        else:
            assert got[unlisted] == (
                None,
                "not available: the ACS income file read is synthetic (generated) and the OMOP data are not;"
                " point var acs_income_path at the Census file",
            )
