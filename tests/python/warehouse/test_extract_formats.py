"""The asthma extracts come as CSV or Parquet (var raw_format, an explicit setting: parquet, the
generator's default, or csv). The generator's Parquet and the same seed written as CSV text stage
to the same rows; a folder in the other format than raw_format says, or a raw_format that is
neither, stops the run naming the file and the setting."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from conftest import NO_TESTS, dbt, generate

from health_equity.devtools.compare import canonical, tables

GEN = ["--patients", "1500", "--hospitals", "200", "--seed", "5", "--quiet"]
ASTHMA = ["patients", "gp_practices", "gp_events", "prescriptions", "hospital_admissions", "outpatient_appointments"]


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> dict:
    """The same seed generated as CSV and as Parquet (the default), each staged (raw_format from
    the generator's manifest.json: conftest.with_raw_format, as the Makefile's data is Parquet)."""
    tmp = tmp_path_factory.mktemp("formats")
    out = {}
    for fmt, args in (("csv", ["--format", "csv"]), ("parquet", [])):
        raw = tmp / fmt
        gen = generate(raw, *GEN, *args)
        assert gen.returncode == 0, gen.stderr
        db = tmp / f"{fmt}.duckdb"
        r = dbt(["build", "--select", "+models/staging", *NO_TESTS], db, tmp / f"{fmt}-work", {"raw_dir": str(raw)})
        assert r.returncode == 0, r.stdout[-3000:]
        out[fmt] = (raw, db)
    return out


def _df(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


def test_the_generator_writes_parquet_by_default_and_raw_format_reads_that_format(staged):
    for fmt, (raw, db) in staged.items():
        assert sorted(p.name for p in raw.iterdir() if p.stem in ASTHMA) == sorted(f"{n}.{fmt}" for n in ASTHMA)
        read = _df(db, "select extract_name, file_path from staging.stg_asthma__extract_row_counts")
        assert sorted(read.extract_name) == sorted(ASTHMA)
        assert (read.file_path == [str(raw / f"{n}.{fmt}") for n in read.extract_name]).all(), read


def test_csv_and_parquet_of_the_same_seed_stage_to_identical_rows(staged):
    csv_db, pq_db = staged["csv"][1], staged["parquet"][1]
    with duckdb.connect(str(csv_db), read_only=True) as con:
        names = tables(con, "staging")
    with duckdb.connect(str(pq_db), read_only=True) as con:
        assert tables(con, "staging") == names
    assert len(names) >= 10 and "base_asthma__prescriptions" in names
    for name in names:
        a, b = (_df(db, f"select * from staging.{name}") for db in (csv_db, pq_db))
        if "file_path" in a:  # the one column that names the file read, which differs on purpose
            a, b = a.drop(columns="file_path"), b.drop(columns="file_path")
        assert len(a) == len(b), name
        pd.testing.assert_frame_equal(canonical(a), canonical(b), check_exact=True, obj=f"staging.{name}")


def test_extracts_in_the_other_format_stop_the_run_naming_the_file_and_the_setting(staged, tmp_path):
    """A folder of CSV extracts read with raw_format parquet (the default) stops before any model,
    naming the file found and the setting; a folder holding both formats reads the one it says."""
    raw = tmp_path / "raw"
    shutil.copytree(staged["csv"][0], raw)
    wrong = {"raw_dir": str(raw), "raw_format": "parquet"}
    r = dbt(["run", "--select", "base_asthma__patients"], tmp_path / "w.duckdb", tmp_path, wrong)
    assert r.returncode != 0
    assert (
        f"extract asthma_raw.patients: file not found: {raw}/patients.parquet; found {raw}/patients.csv, "
        "but var raw_format is parquet: set raw_format: csv"
    ) in r.stdout
    assert "START sql" not in r.stdout
    shutil.copy(staged["parquet"][0] / "patients.parquet", raw / "patients.parquet")
    chosen = {"raw_dir": str(raw), "raw_format": "csv"}
    r = dbt(["build", "--select", "+base_asthma__patients", *NO_TESTS], tmp_path / "w.duckdb", tmp_path / "csv", chosen)
    assert r.returncode == 0, r.stdout[-3000:]


def test_a_raw_format_that_is_neither_csv_nor_parquet_stops_the_run_naming_the_choices(staged, tmp_path):
    vars_ = {"raw_dir": str(staged["csv"][0]), "raw_format": "xlsx"}
    r = dbt(["run", "--select", "base_asthma__patients"], tmp_path / "w.duckdb", tmp_path, vars_)
    assert r.returncode != 0
    assert "var raw_format is 'xlsx': use csv or parquet" in r.stdout
