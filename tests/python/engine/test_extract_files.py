"""health_equity.engine.extract_files: the file facts the build asks for on every engine."""

from __future__ import annotations

import hashlib
import json

import pytest

from health_equity.engine.extract_files import file_info, sql_file_info


def test_file_info_hashes_the_file_and_reads_the_manifest_beside_it(tmp_path):
    data = tmp_path / "patients.csv"
    data.write_bytes(b"patient_id\n1\n")
    sha = hashlib.sha256(b"patient_id\n1\n").hexdigest()
    info = file_info(str(data))
    assert info["exists"] and info["size"] == 13 and info["sha256"] == sha
    assert info["origin"] == "supplied"  # no manifest.json beside it
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"patients.csv": {"sha256": sha}}}))
    assert file_info(str(data))["origin"] == "synthetic"
    data.write_bytes(b"patient_id\n2\n")  # replaced by another file: no longer the generated one
    assert file_info(str(data))["origin"] == "supplied"
    assert json.loads(sql_file_info(str(data)))["sha256"] == hashlib.sha256(b"patient_id\n2\n").hexdigest()


def test_file_info_of_a_folder_a_glob_and_a_missing_path(tmp_path):
    parts = tmp_path / "prescriptions"
    (parts / "year=2024").mkdir(parents=True)
    (parts / "year=2024" / "b.parquet").write_bytes(b"b")
    (parts / "year=2024" / "a.parquet").write_bytes(b"aa")
    assert file_info(str(parts))["size"] == 2  # the first part in sorted order
    assert file_info(str(parts / "*" / "*.parquet"))["exists"]
    missing = file_info(str(tmp_path / "absent.csv"))
    assert missing == {"exists": False, "origin": "absent"}


def test_the_preflight_hashes_each_file_in_its_one_pass_so_provenance_never_reads_it_again(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from health_equity.engine import extract_files
    from health_equity.engine.preflight import check

    text = tmp_path / "patients.csv"
    text.write_bytes(b"patient_id\n1\n2\n")
    parquet = tmp_path / "gp_events.parquet"
    pq.write_table(pa.table({"gp_event_id": ["1", "2"]}), parquet)
    assert check("asthma_raw.patients", str(text), ["patient_id"]) == []
    assert check("asthma_raw.gp_events", str(parquet), ["gp_event_id"]) == []

    def no_second_read(*args, **kwargs):
        raise AssertionError(f"file_info read {args[0]} again")

    monkeypatch.setattr(extract_files, "open", no_second_read, raising=False)
    assert file_info(str(text))["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest()
    assert file_info(str(parquet))["sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
    # A file edited after the preflight is hashed again (here: the patched open says it tried).
    text.write_bytes(b"patient_id\n1\n2\n3\n")
    with pytest.raises(AssertionError, match="read .*patients.csv again"):
        file_info(str(text))
