"""The asthma extracts come as CSV or Parquet (var raw_format, default auto: the file in raw_dir
decides). The generator's Parquet and the same seed written as CSV text stage to the same rows; a
folder holding one extract in both formats, or a raw_format that is neither, stops the run saying
what to do."""

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
    """The same seed generated as CSV and as Parquet (the default), each staged."""
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


def test_the_generator_writes_parquet_by_default_and_auto_reads_whichever_format_is_there(staged):
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


def test_one_extract_in_both_formats_stops_the_run_until_raw_format_says_which(staged, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(staged["csv"][0], raw)
    shutil.copy(staged["parquet"][0] / "patients.parquet", raw / "patients.parquet")
    r = dbt(["run", "--select", "base_asthma__patients"], tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw)})
    assert r.returncode != 0
    assert f"({raw}/patients.csv, {raw}/patients.parquet)" in r.stdout
    assert "set var raw_format to csv or parquet" in r.stdout
    chosen = {"raw_dir": str(raw), "raw_format": "csv"}
    r = dbt(["build", "--select", "+base_asthma__patients", *NO_TESTS], tmp_path / "w.duckdb", tmp_path / "csv", chosen)
    assert r.returncode == 0, r.stdout[-3000:]


def test_a_raw_format_that_is_neither_csv_nor_parquet_stops_the_run_naming_the_choices(staged, tmp_path):
    vars_ = {"raw_dir": str(staged["csv"][0]), "raw_format": "xlsx"}
    r = dbt(["run", "--select", "base_asthma__patients"], tmp_path / "w.duckdb", tmp_path, vars_)
    assert r.returncode != 0
    assert "var raw_format is 'xlsx': use auto, csv or parquet" in r.stdout
