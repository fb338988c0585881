"""health_equity.engine.extract_files: the file facts the build asks for on every engine."""

from __future__ import annotations

import hashlib
import json

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
