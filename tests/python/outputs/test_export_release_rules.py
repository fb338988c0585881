"""The export's release rules on a warehouse and dbt manifest small enough to write by hand: which
marts are published or restricted, and what an export writes, without a dbt build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from health_equity.outputs import exports

# A warehouse and manifest small enough to write by hand: the release rules without a dbt build.
TINY_MARTS = {
    "asthma_inequalities": ("group_value varchar, patients bigint", "published"),
    "asthma_cluster_profiles": ("cluster_id integer, patients bigint", "published"),
    "hospital_scores": ("facility_id varchar, risk_score double", "published"),
    "asthma_patients": ("patient_key varchar, age_band varchar", "restricted"),
    "asthma_patient_clusters": ("patient_key varchar, cluster_id integer", "restricted"),
}


def tiny_warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(db)) as con:
        con.sql("create schema marts")
        con.sql("create table main.stg_patients (patient_key varchar)")  # not a mart: not classified
        for name, (columns, _) in TINY_MARTS.items():
            con.sql(f"create table marts.{name} ({columns})")
    return db


def tiny_manifest(**edits: dict) -> dict:
    """A manifest of the tiny marts; ``edits`` replaces fields of a node by model name."""
    nodes = {
        f"model.health_equity.{name}": {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": "marts",
            "config": {"schema": "marts", "meta": {"release": release}},
            "meta": {"release": release},
        }
        for name, (_, release) in TINY_MARTS.items()
    }
    nodes["model.health_equity.stg_patients"] = {
        "resource_type": "model",
        "name": "stg_patients",
        "alias": "stg_patients",
        "schema": "main",
        "config": {"schema": None, "meta": {}},
    }
    for name, fields in edits.items():
        nodes[f"model.health_equity.{name}"].update(fields)
    return {"metadata": {}, "nodes": nodes}


def tiny_classify(tmp_path: Path, manifest: dict) -> exports.Release:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with duckdb.connect(str(tiny_warehouse(tmp_path)), read_only=True) as con:
        return exports.classify(con, exports.mart_tables(con), path)


def test_the_manifest_classifies_the_marts_of_a_tiny_warehouse(tmp_path):
    release = tiny_classify(tmp_path, tiny_manifest())
    assert release.published == ["asthma_cluster_profiles", "asthma_inequalities", "hospital_scores"]
    assert release.restricted == ["asthma_patient_clusters", "asthma_patients"]
    # The relation is the alias; a prefixed node schema still counts when its config says marts; a
    # release in the node's meta alone is read; the most restrictive of two models of one relation wins.
    manifest = tiny_manifest(
        asthma_inequalities={"name": "asthma_inequalities_v2", "schema": "dev_marts"},
        hospital_scores={"config": {"schema": "marts", "meta": {}}},
    )
    manifest["nodes"]["model.health_equity.asthma_cluster_profiles_copy"] = {
        **manifest["nodes"]["model.health_equity.asthma_cluster_profiles"],
        "config": {"schema": "marts", "meta": {"release": "restricted"}},
        "meta": {"release": "restricted"},
    }
    (tmp_path / "again").mkdir()
    release = tiny_classify(tmp_path / "again", manifest)
    assert release.published == ["asthma_inequalities", "hospital_scores"]
    assert release.restricted == ["asthma_cluster_profiles", "asthma_patient_clusters", "asthma_patients"]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        (
            {"hospital_scores": {"config": {"schema": "marts", "meta": {}}, "meta": {}}},
            "marts.hospital_scores: no meta",
        ),
        ({"hospital_scores": {"resource_type": "seed"}}, "marts.hospital_scores: no model"),
        (
            {"hospital_scores": {"config": {"schema": "marts", "meta": {"release": "public"}}}},
            "hospital_scores = 'public'",
        ),
        ({"asthma_patients": {"config": {"schema": "marts", "meta": {"release": "published"}}}}, "patient_key column"),
    ],
    ids=["no-release", "no-node", "unknown-release", "patient-level-called-published"],
)
def test_a_mart_the_tiny_manifest_does_not_vouch_for_is_an_error(tmp_path, edits, expected):
    with pytest.raises(exports.ReleaseError, match=re.escape(expected)):
        tiny_classify(tmp_path, tiny_manifest(**edits))


def test_a_tiny_export_releases_patient_level_marts_only_when_asked(tmp_path, capsys):
    db = tiny_warehouse(tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(tiny_manifest()))
    out = tmp_path / "out"
    args = ["--db", str(db), "--out", str(out), "--hyper", "no", "--manifest", str(manifest)]
    assert exports.main([*args, "--include-restricted-patient-level"]) == 0
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.parquet")} == {
        "asthma_cluster_profiles.parquet",
        "asthma_inequalities.parquet",
        "hospital_scores.parquet",
        "restricted/asthma_patient_clusters.parquet",
        "restricted/asthma_patients.parquet",
    }
    assert "warning" in capsys.readouterr().err
    (out / "asthma_patients.parquet").write_bytes((out / "restricted" / "asthma_patients.parquet").read_bytes())
    assert exports.main(args) == 0
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.parquet")} == {
        "asthma_cluster_profiles.parquet",
        "asthma_inequalities.parquet",
        "hospital_scores.parquet",
    }
    assert not (out / "restricted").exists()
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("exported 3 published marts to ")
    assert last.endswith("; 2 restricted marts (patient-level) not exported")
