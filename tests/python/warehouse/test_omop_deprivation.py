"""The OMOP input's built-in U.S. deprivation, built on the MIMIC demo with real ZIPs added: the ACS
median household income quintile of each patient's ZIP, labelled as income, never as the IMD."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import MAKE_BUILD, NO_TESTS, REPO, TEST_SALT, Build, dbt, warehouse_copy
from warehouse.test_omop import MIMIC, MIMIC_WINDOW, expected_register, omop_vars, patient_key, rows

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
    return Build(small_extracts, db, dbt(MAKE_BUILD, db, tmp, vars_, salt=TEST_SALT)), areas, quintiles


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
    report = [sys.executable, "-m", "health_equity.outputs.report", "--db", str(db), "--out", str(tmp_path / "r.html")]
    run = subprocess.run(report, capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "r.html").read_text()
    asthma = html[html.index('<h2 id="asthma">') :]
    assert f'Deprivation here is not the IMD: the groups called "income quintile" below are the {ACS_LABEL}' in asthma
    # Every chart, caption and note names the groups by what they measure, never as the IMD (this
    # small build has no deprivation rate ratio or headline; Settings.quintile_label names those).
    assert "IMD quintile" not in html
    assert "Income quintile (1 = lowest income)" in asthma  # the DSR chart's axis
    assert "inequality across income quintiles" in asthma  # the SII/RII chart's title
    assert "income quintile 1 is the lowest income fifth of areas, 5 the highest income" in asthma  # forest caption


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
