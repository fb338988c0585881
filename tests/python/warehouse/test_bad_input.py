"""Bad input never passes silently: faults are quarantined and counted; bad files stop the run."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
from conftest import MAKE_BUILD, NO_TESTS, NO_UNIT_TESTS, TEST_SALT, dbt
from dbt_declaration import declared_extracts

# Each injected fault kind and the quarantine reason it must produce.
REASON = {
    "duplicate_id": "duplicate key",
    "null_key": "null key",
    "unknown_code": "unknown code",
    "impossible_date": "impossible date",
    "date_outside_window": "date outside study window",
    "discharge_before_admission": "discharge before admission",
    "negative_quantity": "negative or zero quantity",
}


def test_every_injected_asthma_fault_is_caught_and_rows_reconcile(faulty_build):
    manifest = faulty_build.manifest
    q = faulty_build.df("select * from staging.stg_asthma__quarantine")
    rec = faulty_build.df("select * from marts.data_quality_reconciliation").set_index("extract_name")
    assert rec["is_reconciled"].all()
    assert (rec.rows_staged + rec.rows_quarantined == rec.rows_read).all()
    checked = 0
    # The asthma extracts as the declaration's reader gives them: file name, key column and base model.
    asthma = [e for e in declared_extracts() if e["family"] == "asthma"]
    faulted = [e for e in asthma if any(f["file"] == e["name"] for f in manifest["faults"])]
    asthma_files = {name for name, meta in manifest["files"].items() if meta["kind"] == "asthma"}
    # Every asthma file the generator faulted is a declared extract, and is checked here.
    assert faulted and {f["file"] for f in manifest["faults"]} & asthma_files == {e["name"] for e in faulted}
    for extract in faulted:
        file, (key,), base = extract["name"], extract["key"], extract["base_model"]
        recs = [f for f in manifest["faults"] if f["file"] == file]
        raw = pd.read_csv(faulty_build.raw_dir / f"{file}.csv", dtype=str, keep_default_na=False)
        fq = q[q.extract_name == file]
        for f in recs:
            row = raw.iloc[f["row"] - 1]
            if f["repairable"]:
                # White space and case are repaired: the row goes on unless something else is wrong.
                if row[key]:
                    in_q = fq.record_key.eq(row[key]).any()
                    staged = faulty_build.query(
                        f"select count(*) from staging.{base} where quarantine_reason is null and {key} = '{row[key]}'"
                    )[0][0]
                    assert in_q or staged == 1, f
                continue
            if f["kind"] == "null_key" and f["column"] == key:
                continue  # counted below: the row has no key to find it by
            hits = fq[fq.record_key == row[key]]
            expected = REASON[f["kind"]]
            if f["kind"] == "duplicate_id" and (raw.iloc[f["row"] - 2] == row).all():
                # The copied id made the row byte-identical to the one before it: one copy is kept.
                expected = "exact duplicate"
            assert hits.quarantine_reason.str.startswith(expected).any(), (f, hits)
            checked += 1
        null_keys = sum(1 for f in recs if f["kind"] == "null_key" and f["column"] == key)
        assert (fq.quarantine_reason == f"null key: {key}").sum() == null_keys
    assert checked > 50
    assert faulty_build.query("select count(*) from marts.asthma_patients")[0][0] == rec.loc["patients", "rows_staged"]


def test_a_missing_column_stops_the_run_naming_file_and_column(small_extracts, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    df = pd.read_csv(raw / "prescriptions.csv", dtype=str, keep_default_na=False)
    df.rename(columns={"issue_date": "date_issued"}).to_csv(raw / "prescriptions.csv", index=False)
    r = dbt(["build", "--select", "stg_asthma__prescriptions"], tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw)})
    assert r.returncode != 0
    assert "prescriptions.csv" in r.stdout and "missing column 'issue_date'" in r.stdout
    assert not (tmp_path / "w.duckdb").exists() or "START sql" not in r.stdout


def test_a_missing_file_stops_the_run_naming_it(small_extracts, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    (raw / "gp_events.csv").unlink()
    r = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw)})
    assert r.returncode != 0
    assert "file not found" in r.stdout and "gp_events.csv" in r.stdout


def test_one_extract_can_be_pointed_at_another_file_by_its_var(small_extracts, tmp_path):
    raw, other = tmp_path / "raw", tmp_path / "elsewhere"
    shutil.copytree(small_extracts, raw)
    other.mkdir()
    shutil.move(raw / "outpatient_appointments.csv", other / "op_extract_2024.csv")
    pointed = {"raw_dir": str(raw), "outpatient_appointments_path": str(other / "op_extract_2024.csv")}
    # The moved file has no manifest beside it, so it counts as supplied: beside the generated
    # extracts that is a mix of origins, which stops the run unless allowed on purpose.
    # Only the outpatient staging and what it reads: the pointed file is read where it is.
    build = ["build", "--select", "+stg_asthma__outpatient_appointments", "--indirect-selection", "cautious"]
    build += NO_UNIT_TESTS
    r = dbt(build, tmp_path / "w.duckdb", tmp_path, pointed)
    assert r.returncode != 0 and "Mixed data origins in asthma_raw" in r.stdout
    assert "op_extract_2024.csv" in r.stdout and "patients_path" in r.stdout
    r = dbt(
        build,
        tmp_path / "w.duckdb",
        tmp_path,
        {**pointed, "allow_mixed_origins": True},
    )
    assert r.returncode == 0, r.stdout[-3000:]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        staged = con.sql("select count(*) from staging.stg_asthma__outpatient_appointments").fetchall()[0][0]
    assert staged == len(pd.read_csv(other / "op_extract_2024.csv"))


# --- structural faults stop the run before DuckDB guesses, and nothing private leaks -------------


def test_structural_faults_stop_the_run_naming_file_and_line_and_no_patient_data_leaks(small_extracts, tmp_path):
    import gzip
    import re

    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    patients = (raw / "patients.csv").read_text().splitlines(keepends=True)
    victim = next(__import__("csv").reader([patients[4]]))  # line 5: gets an extra unquoted comma
    patients[4] = patients[4].replace(",", ",,", 1)
    (raw / "patients.csv").write_text("".join(patients))
    rx = (raw / "prescriptions.csv").read_bytes()
    cut = rx[: len(rx) // 2]
    cut = cut[: cut.rindex(b"\n") + 8]  # truncated mid-row
    (raw / "prescriptions.csv").write_bytes(cut)
    last_line = cut.count(b"\n") + 1
    (raw / "gp_practices.csv").write_bytes(gzip.compress((raw / "gp_practices.csv").read_bytes()))
    events = (raw / "gp_events.csv").read_text().splitlines(keepends=True)
    events[9] = events[9].replace(",", ',"', 1)  # line 10: a quote that never closes properly
    (raw / "gp_events.csv").write_text("".join(events))
    adm = (raw / "hospital_admissions.csv").read_text().splitlines(keepends=True)
    adm[0] = adm[0].replace('"provider_code"', '"admission_date"')
    (raw / "hospital_admissions.csv").write_text("".join(adm))
    op = (raw / "outpatient_appointments.csv").read_text().splitlines(keepends=True)
    (raw / "outpatient_appointments.csv").write_text(op[0])

    r = dbt(MAKE_BUILD, tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw)})
    assert r.returncode != 0
    out = r.stdout
    expected = [
        f"extract asthma_raw.patients ({raw}/patients.csv): wrong number of fields: line 5 has 21 fields, "
        "the header has 20",
        f"extract asthma_raw.prescriptions ({raw}/prescriptions.csv): wrong number of fields: line {last_line} "
        f"has 2 fields, the header has 7 (line {last_line} is the last line: the file looks truncated)",
        f"extract asthma_raw.gp_practices ({raw}/gp_practices.csv): the file is gzip-compressed data, not CSV text",
        f"extract asthma_raw.gp_events ({raw}/gp_events.csv): line 10 has a quote out of place",
        f"extract asthma_raw.hospital_admissions ({raw}/hospital_admissions.csv): duplicate column names in the "
        "header: 'admission_date', 'admission_date'",
        f"extract asthma_raw.outpatient_appointments ({raw}/outpatient_appointments.csv): the file has a header "
        "but no data rows",
    ]
    for message in expected:
        assert message in out, message
    assert "START sql" not in out  # nothing was built from the bad files
    # Privacy: neither the terminal nor the dbt log repeats any patient's identifiers.
    log = (tmp_path / "logs" / "dbt.log").read_text()
    nhs = set(pd.read_csv(raw / "patients.csv", dtype=str, usecols=["nhs_number"], on_bad_lines="skip").nhs_number)
    for text in (out, r.stderr, log):
        assert not set(re.findall(r"\d{10}", text)) & nhs
        assert not any(value in text for value in victim[1:7] if len(value) > 3)


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(df, path):
    df.to_csv(path, index=False)


def test_row_level_faults_end_counted_under_their_own_reason_and_every_row_reconciles(small_extracts, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    p, rx = _read(raw / "patients.csv"), _read(raw / "prescriptions.csv")
    gp, op = _read(raw / "gp_events.csv"), _read(raw / "outpatient_appointments.csv")
    adm = _read(raw / "hospital_admissions.csv")
    by_patient = rx.groupby("patient_id").size()
    # Absurd but parseable quantities: implausible, not "negative or zero".
    rx.loc[0, "quantity"], rx.loc[1, "quantity"] = "999999", "1e12"
    # A patient aged 134 at the study end: quarantined, and all their rows follow.
    taken = set(rx.loc[[0, 1], "patient_id"])
    old = p.loc[p.patient_id.isin(by_patient.index) & ~p.patient_id.isin(taken)].iloc[0]
    taken.add(old.patient_id)
    p.loc[p.patient_id == old.patient_id, "date_of_birth"] = "1890-05-05"
    # A prescription dated after its patient's death.
    dead = p[(p.date_of_death.between("2022-06-01", "2024-06-01")) & p.patient_id.isin(by_patient.index)]
    dead = dead[~dead.patient_id.isin(taken)].iloc[0]
    taken.add(dead.patient_id)
    after = (pd.Timestamp(dead.date_of_death) + pd.Timedelta(days=10)).strftime("%Y-%m-%d")
    rx.loc[rx[rx.patient_id == dead.patient_id].index[0], "issue_date"] = after
    # A patient who registered later than their prescriptions: excluded after staging (outside
    # their observation period), not lost.
    late = p[(p.registration_start_date < "2022-01-01") & (p.registration_end_date == "") & (p.date_of_death == "")]
    late = late[late.patient_id.isin(rx[rx.issue_date < "2023-01-01"].patient_id) & ~late.patient_id.isin(taken)]
    late = late.iloc[0]
    p.loc[p.patient_id == late.patient_id, "registration_start_date"] = "2023-01-01"
    n_before_registration = int(((rx.patient_id == late.patient_id) & (rx.issue_date < "2023-01-01")).sum())
    # An exact copy of an outpatient row (one kept) and two different rows under one GP event id.
    op = pd.concat([op, op.iloc[[5]]], ignore_index=True)
    gp.loc[11, "gp_event_id"] = gp.loc[10, "gp_event_id"]
    # A stay of 400 days.
    i = adm[adm.admission_date < "2023-06-01"].index[0]
    adm.loc[i, "discharge_date"] = (pd.Timestamp(adm.loc[i, "admission_date"]) + pd.Timedelta(days=400)).strftime(
        "%Y-%m-%d"
    )
    for df, name in ((p, "patients"), (rx, "prescriptions"), (gp, "gp_events"), (op, "outpatient_appointments")):
        _write(df, raw / f"{name}.csv")
    _write(adm, raw / "hospital_admissions.csv")

    db = tmp_path / "w.duckdb"
    # The edited patients file is supplied, not generated: it needs a secret salt.
    r = dbt(MAKE_BUILD, db, tmp_path, {"raw_dir": str(raw), "allow_mixed_origins": True}, salt=TEST_SALT)
    assert r.returncode == 0, r.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        q = con.sql("select * from staging.stg_asthma__quarantine").df()
        outcomes = con.sql("select * from marts.data_quality_row_outcomes").df()
        rec = con.sql("select * from marts.data_quality_reconciliation").df().set_index("extract_name")
        kept = con.sql(
            f"select count(*) from staging.stg_asthma__outpatient_appointments "
            f"where appointment_id = '{op.iloc[5].appointment_id}'"
        ).fetchall()[0][0]

    def reason(extract, text):
        return int(((q.extract_name == extract) & (q.quarantine_reason == text)).sum())

    assert reason("prescriptions", "implausible value: quantity above 200") == 2
    assert reason("prescriptions", "negative or zero quantity") == 0
    assert reason("patients", "implausible value: age over 115 years at study end") == 1
    assert reason("prescriptions", "patient not on the clean register") == by_patient[old.patient_id]
    assert reason("prescriptions", "implausible date: issue_date after the patient's death") == 1
    assert reason("outpatient_appointments", "exact duplicate: appointment_id") == 1 and kept == 1
    assert reason("gp_events", "duplicate key: gp_event_id") == 2
    assert reason("hospital_admissions", "implausible value: length of stay over 365 days") == 1
    outside = outcomes[
        (outcomes.extract_name == "prescriptions")
        & (outcomes.outcome == "excluded after staging: dated outside the patient's observation period")
    ]
    assert n_before_registration > 0 and outside.row_count.sum() == n_before_registration
    # Every raw row is used, quarantined or excluded after staging: nothing vanished.
    assert rec.is_reconciled.all() and rec.is_staging_reconciled.all()
    assert rec.loc["outpatient_appointments", "rows_read"] == len(op)
    assert (rec.rows_used + rec.rows_quarantined + rec.rows_excluded_after_staging == rec.rows_read).all()
    summed = outcomes.groupby("extract_name").row_count.sum()
    assert (summed.reindex(rec.index) == rec.rows_read).all()


def test_an_extract_that_vanishes_into_the_quarantine_fails_the_build_naming_it(small_extracts, tmp_path):
    import re

    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    rx = _read(raw / "prescriptions.csv")
    # Every date in another common format: each row would be quarantined, exit 0, no marts data.
    rx["issue_date"] = pd.to_datetime(rx.issue_date).dt.strftime("%d/%m/%Y")
    _write(rx, raw / "prescriptions.csv")
    # The guard and the asthma register it stands before (the hospital side never reads this file).
    asthma = ["build", "--select", "+asthma_patients", "--indirect-selection", "cautious", *NO_UNIT_TESTS]
    r = dbt(asthma, tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw), "allow_mixed_origins": True})
    assert r.returncode != 0
    n = len(rx)
    assert (
        f"1 extract(s) over the quarantine limit, causes first: extract prescriptions ({raw}/prescriptions.csv): "
        f"{n} of {n} rows (100.0%) quarantined, above var max_quarantined_share = 0.05; "
        f"top reasons: missing or unparseable issue_date ({n} rows); "
        "example rows (data-row numbers in the file): 1, 2, 3, 4, 5"
    ) in r.stdout
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        marts = con.sql("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    assert ("asthma_patients",) not in marts  # nothing downstream was built from it
    log = (tmp_path / "logs" / "dbt.log").read_text()
    nhs = set(_read(raw / "patients.csv").nhs_number)
    assert not set(re.findall(r"\d{10}", r.stdout + log)) & nhs


def test_a_hospital_file_that_vanishes_into_the_quarantine_fails_the_build_naming_it(small_extracts, tmp_path):
    import re

    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    path = raw / "ACSDT5Y.B19013-Data.csv"
    lines = path.read_text().splitlines(keepends=True)
    blanked = [lines[0]] + [re.sub(r'^"8600000US\d{5}"', '""', line) for line in lines[1:]]
    path.write_text("".join(blanked))
    # The hospital guard and what it reads (the asthma side has nothing to say about this file).
    hospitals = ["build", "--select", "+data_quality_hospital_extract_guard", "--indirect-selection", "cautious"]
    hospitals += NO_UNIT_TESTS
    r = dbt(hospitals, tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw), "allow_mixed_origins": True})
    assert r.returncode != 0
    n = len(lines) - 1
    assert (
        f"extract ACSDT5Y.B19013-Data ({path}): {n} of {n} rows (100.0%) quarantined, above var "
        f"max_quarantined_share = 0.05; top reasons: null key: GEO_ID ({n} rows)"
    ) in r.stdout


# --- every fault names its cause ------------------------------------------------------------------


def test_dates_of_birth_as_text_in_a_patients_parquet_file_are_named_as_the_cause(clean_build, tmp_path):
    """Unreadable dates of birth quarantine every patient, and with them every event (their patient
    is not on the clean register). The one message lists every extract over the limit, the patients
    extract and its date_of_birth first, the others marked as following from it."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    shutil.copytree(clean_build.raw_dir, raw)
    patients = pq.read_table(raw / "patients.parquet")
    column = patients.schema.get_field_index("date_of_birth")
    as_text = pc.strftime(patients["date_of_birth"].cast(pa.timestamp("s")), format="%d/%m/%Y")
    pq.write_table(patients.set_column(column, "date_of_birth", as_text), raw / "patients.parquet")
    asthma = ["build", "--select", "+asthma_patients", "--indirect-selection", "cautious", *NO_UNIT_TESTS]
    r = dbt(asthma, tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw), "allow_mixed_origins": True}, salt=TEST_SALT)
    assert r.returncode != 0
    n = patients.num_rows
    first = (
        f"5 extract(s) over the quarantine limit, causes first: extract patients ({raw}/patients.parquet): "
        f"{n} of {n} rows (100.0%) quarantined, above var max_quarantined_share = 0.05; "
        f"top reasons: missing or unparseable date_of_birth ({n} rows)"
    )
    assert first in r.stdout
    at = r.stdout.index(first)
    for name in ("gp_events", "hospital_admissions", "outpatient_appointments", "prescriptions"):
        listed = r.stdout.index(f"extract {name} ({raw}/{name}.parquet): ")
        assert listed > at, name
        following = r.stdout[listed : r.stdout.index(" || ", listed) if " || " in r.stdout[listed:] else None]
        assert "top reasons: patient not on the clean register" in following
        assert "(this follows from the patients extract, which is over the limit too" in following
    assert "gp_practices (" not in r.stdout.split(first)[1].split("\n")[0]  # within its limit: not listed


def test_a_broken_parquet_path_is_reported_as_what_it_is_under_its_own_name(small_extracts, tmp_path):
    import os

    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    (raw / "patients.csv").unlink()
    os.symlink(raw / "patients.parquet", raw / "patients.parquet")  # a loop
    (raw / "hospital_admissions.csv").unlink()
    (raw / "hospital_admissions.parquet").mkdir()
    vars_ = {"raw_dir": str(raw), "raw_format": "parquet"}  # the broken paths are the Parquet ones
    r = dbt(["build", "--select", "stg_asthma__patients"], tmp_path / "w.duckdb", tmp_path, vars_)
    assert r.returncode != 0
    assert (
        f"extract asthma_raw.patients ({raw}/patients.parquet): is a symbolic link that leads nowhere (it loops, "
        f"or its target '{raw}/patients.parquet' does not exist)"
    ) in r.stdout
    assert f"extract asthma_raw.hospital_admissions ({raw}/hospital_admissions.parquet): is an empty folder" in r.stdout
    # Not a file nobody mentioned.
    assert "patients.csv" not in r.stdout and "hospital_admissions.csv" not in r.stdout


def test_encoding_delimiter_and_oversized_field_faults_stop_the_run_naming_file_line_and_cause(
    small_extracts, tmp_path
):
    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    practices = raw / "gp_practices.csv"
    practices.write_text(practices.read_text().replace(",", ";"))
    appointments = raw / "outpatient_appointments.csv"
    appointments.write_bytes(appointments.read_text().encode("utf-16"))
    rx = (raw / "prescriptions.csv").read_text().splitlines(keepends=True)
    rx[4458] = rx[4458].rstrip("\n") + "é\n"  # line 4459 of the file
    (raw / "prescriptions.csv").write_bytes("".join(rx).encode("latin-1"))
    events = (raw / "gp_events.csv").read_text().splitlines(keepends=True)
    events[6] = events[6].replace(",", ',"' + "x" * 3_000_000 + '",', 1)
    (raw / "gp_events.csv").write_text("".join(events))
    r = dbt(["build", "--select", "stg_asthma__patients"], tmp_path / "w.duckdb", tmp_path, {"raw_dir": str(raw)})
    assert r.returncode != 0
    out = r.stdout
    assert (
        f"extract asthma_raw.gp_practices ({practices}): line 1 is delimited by semicolon ';', not by the comma" in out
    )
    assert (
        f"extract asthma_raw.outpatient_appointments ({appointments}): the file is UTF-16 (little-endian) text" in out
    )
    assert (
        f"extract asthma_raw.prescriptions ({raw}/prescriptions.csv): the file is not UTF-8 text: line 4459, byte"
        in out
    )
    assert "Latin-1 (ISO-8859-1) or Windows-1252" in out
    assert (
        f"extract asthma_raw.gp_events ({raw}/gp_events.csv): line 7 has a field longer than 2,097,152 characters"
    ) in out
    assert "could not detect" not in out and "header row missing" not in out


def test_exact_duplicates_follow_one_rule_in_every_extract(small_extracts, tmp_path):
    """An exact copy of a row keeps one copy, in the patients extract and in the CMS and Census
    files alike; two different rows under one key are both kept out."""
    raw = tmp_path / "raw"
    shutil.copytree(small_extracts, raw)
    copies = {
        "patients.csv": 7,
        "Hospital_General_Information.csv": 3,
        "ACSDT5Y.B19013-Data.csv": 40,
        "Complications_and_Deaths-Hospital.csv": 11,
    }
    for name, line in copies.items():
        lines = (raw / name).read_text().splitlines(keepends=True)
        (raw / name).write_text("".join(lines + [lines[line]]))
    staged_models = [
        "stg_asthma__patients",
        "stg_cms__hospitals",
        "stg_cms__complications_and_deaths",
        "stg_acs__median_household_income",
        "stg_asthma__quarantine",
        "stg_hospitals__quarantine",
    ]
    select = ["build", "--select", *(f"+{m}" for m in staged_models)]
    select += NO_TESTS
    db = tmp_path / "w.duckdb"
    r = dbt(select, db, tmp_path, {"raw_dir": str(raw), "allow_mixed_origins": True}, salt=TEST_SALT)
    assert r.returncode == 0, r.stdout[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        quarantined = dict(
            con.sql(
                "select extract_name, list(quarantine_reason order by quarantine_reason) from "
                "(select extract_name, quarantine_reason from staging.stg_asthma__quarantine union all "
                "select extract_name, quarantine_reason from staging.stg_hospitals__quarantine) group by all"
            ).fetchall()
        )
        staged = {
            "patients": con.sql("select count(*) from staging.stg_asthma__patients").fetchall()[0][0],
            "hgi": con.sql("select count(*) from staging.stg_cms__hospitals").fetchall()[0][0],
            "acs": con.sql("select count(*) from staging.stg_acs__median_household_income").fetchall()[0][0],
        }
    assert quarantined["patients"] == ["exact duplicate: patient_id"]
    assert quarantined["Hospital_General_Information"] == ["exact duplicate: Facility ID"]
    assert quarantined["ACSDT5Y.B19013-Data"] == ["exact duplicate: GEO_ID"]
    assert quarantined["Complications_and_Deaths-Hospital"] == ["exact duplicate: Facility ID x Measure ID"]
    # One copy of each went on: every distinct row is staged.
    n_rows = {name: len((raw / name).read_text().splitlines()) - 1 for name in copies}
    assert staged["patients"] == n_rows["patients.csv"] - 1
    assert staged["hgi"] == n_rows["Hospital_General_Information.csv"] - 1
