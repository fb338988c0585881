"""What people take away: the Parquet, Hyper and Tableau exports of the published marts of a
real build, and the manifest-driven rules that keep patient-level marts out of the default export."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from health_equity.outputs import exports, report


def release_classes(manifest_path: Path) -> tuple[set[str], set[str]]:
    """(published, restricted) marts of dbt's manifest, read here without the code under test:
    the model nodes configured into schema marts, by their meta.release."""
    classes: dict[str, set[str]] = {"published": set(), "restricted": set()}
    for node in json.loads(manifest_path.read_text())["nodes"].values():
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts":
            classes[node["config"]["meta"]["release"]].add(node["alias"] or node["name"])
    return classes["published"], classes["restricted"]


def hyper_tables(path: Path) -> dict[str, pa.Table]:
    """{table name: table} of a Hyper file."""
    import pantab

    frames = pantab.frames_from_hyper(path, return_type="pyarrow")
    return {(k[-1] if isinstance(k, tuple) else str(k)): v for k, v in frames.items()}


def parquet_columns(path: Path) -> list[str]:
    with duckdb.connect() as con:
        return [r[0] for r in con.sql(f"describe select * from '{path}'").fetchall()]


def parquet_rows(path: Path) -> int:
    with duckdb.connect() as con:
        return con.sql(f"select count(*) from '{path}'").fetchall()[0][0]


@pytest.fixture(scope="module")
def manifest_path(clean_build) -> Path:
    """The session build's manifest (the tests' dbt builds write to <tmp>/target/manifest.json)."""
    path = clean_build.db.parent / "target" / "manifest.json"
    assert path.exists()
    return path


@pytest.fixture(scope="module")
def exported(clean_build, manifest_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    args = ["--db", str(clean_build.db), "--out", str(out), "--hyper", "yes", "--manifest", str(manifest_path)]
    assert exports.main(args) == 0
    return out


def test_the_published_marts_and_only_they_are_exported_with_their_rows(clean_build, manifest_path, exported):
    published, restricted = release_classes(manifest_path)
    assert len(published) >= 11 and {"asthma_patients", "asthma_patient_clusters"} <= restricted
    built = {
        t for (t,) in clean_build.query("select table_name from information_schema.tables where table_schema = 'marts'")
    }
    assert built == published | restricted  # every mart the build made is classified
    assert {p.stem for p in exported.glob("*.parquet")} == published
    assert {p.relative_to(exported).as_posix() for p in exported.rglob("*.parquet")} == {
        f"{m}.parquet" for m in published
    }
    for m in published:
        assert parquet_rows(exported / f"{m}.parquet") == clean_build.query(f"select count(*) from marts.{m}")[0][0], m
    assert not list(exported.glob(".*tmp"))
    # Wide numerics are cast for Tableau: no DECIMAL/HUGEINT reaches the files.
    with duckdb.connect() as con:
        types = con.sql(f"describe select * from '{exported}/asthma_inequalities.parquet'").df().column_type
    assert not types.str.contains("DECIMAL|HUGEINT").any()
    # Counts stay whole numbers: every integer column of every mart is an integer in its file.
    for m in published:
        with duckdb.connect() as con:
            described = con.sql(f"describe select * from '{exported}/{m}.parquet'").fetchall()
        exported_types = {r[0]: r[1] for r in described}
        source_types = dict(
            clean_build.query(
                "select column_name, data_type from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{m}'"
            )
        )
        for col, t in source_types.items():
            if t in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT"):
                assert exported_types[col] in ("BIGINT", "INTEGER", "SMALLINT"), (m, col, t, exported_types[col])


def test_the_hyper_file_holds_the_published_marts_with_their_row_counts(clean_build, manifest_path, exported):
    published, _ = release_classes(manifest_path)
    counts = {t: v.num_rows for t, v in hyper_tables(exported / "health_equity.hyper").items()}
    assert set(counts) == published
    for m in published:
        assert counts[m] == clean_build.query(f"select count(*) from marts.{m}")[0][0], m


def test_the_default_export_holds_nothing_at_patient_grain(clean_build, exported):
    """No file and no Hyper table of the default export is patient-level: none has a patient_key
    column, as many rows as there are patients, or the name of a patient-level mart; no .tds
    relationship reaches outside the extract."""
    import xml.etree.ElementTree as ET

    patients = clean_build.query("select count(*) from marts.asthma_patients")[0][0]
    assert patients > 100
    patient_marts = {"asthma_patients", "asthma_patient_clusters"}
    assert not (exported / "restricted").exists()
    files = list(exported.rglob("*.parquet"))
    assert files
    for path in files:
        assert path.stem not in patient_marts, path
        assert "patient_key" not in parquet_columns(path), path
        assert parquet_rows(path) != patients, path
    hyper = hyper_tables(exported / "health_equity.hyper")
    assert not patient_marts & set(hyper)
    for table, data in hyper.items():
        assert "patient_key" not in data.column_names, table
        assert data.num_rows != patients, table
    for path in exported.glob("*.tds"):
        root = ET.parse(path).getroot()
        assert "patient_key" not in {r.findtext("remote-name") for r in root.iter("metadata-record")}, path
        named = {r.get("name") for r in root.iter("relation") if r.get("type") == "table"}
        assert named <= set(hyper), path
        for rel in root.iter("relationship"):
            ends = {rel.find("first-end-point").get("object-id"), rel.find("second-end-point").get("object-id")}
            assert ends <= set(hyper), (path, ends)


def test_each_tableau_data_source_matches_the_hyper_file_it_points_at(clean_build, exported):
    """Every field of every .tds exists in the Hyper table it names, with a matching type; roles,
    aggregations and descriptions come through; relationships join fields that exist."""
    import xml.etree.ElementTree as ET

    hyper = {k: v.schema for k, v in hyper_tables(exported / "health_equity.hyper").items()}
    tds = sorted(exported.glob("*.tds"))
    assert {p.name for p in tds} == {
        "health_equity_asthma.tds",
        "health_equity_hospitals.tds",
        "health_equity_data_quality.tds",
    }
    expected_type = {
        "string": "string",
        "large_string": "string",
        "int64": "integer",
        "int32": "integer",
        "int16": "integer",
        "double": "real",
        "bool": "boolean",
        "date32[day]": "date",
    }
    tables_seen = set()
    for path in tds:
        root = ET.parse(path).getroot()
        conn = root.find("connection/named-connections/named-connection/connection")
        assert conn.get("class") == "hyper" and conn.get("dbname") == "health_equity.hyper"
        records = {r.findtext("local-name"): r for r in root.iter("metadata-record")}
        columns = {c.get("name"): c for c in root.findall("column")}
        assert set(records) == set(columns) and records
        for local, rec in records.items():
            table = rec.findtext("parent-name").strip("[]")
            tables_seen.add(table)
            field = hyper[table].field(rec.findtext("remote-name"))
            t = str(field.type).split("[")[0] if "timestamp" in str(field.type) else str(field.type)
            assert expected_type.get(t, "datetime") == rec.findtext("local-type") == columns[local].get("datatype"), (
                local
            )
            col = columns[local]
            if col.get("datatype") in ("integer", "real") and col.get("role") == "measure":
                assert col.get("aggregation") == ("Sum" if col.get("datatype") == "integer" else "Avg")
        for rel in root.iter("relationship"):
            ends = [e.get("op") for e in rel.iter("expression") if e.get("op") not in ("=", "AND")]
            assert ends and all(e in records for e in ends), ends
    assert tables_seen == set(hyper)
    hospitals = ET.parse(exported / "health_equity_hospitals.tds").getroot()
    facility = hospitals.find("column[@name='[facility_id]']")
    assert facility.get("role") == "dimension" and "CMS Certification Number" in facility.findtext(
        "desc/formatted-text/run"
    )
    assert len(list(hospitals.iter("relationship"))) >= 3
    # The asthma extract is aggregate: cluster profiles are there, the patient-to-cluster joins not.
    asthma = ET.parse(exported / "health_equity_asthma.tds").getroot()
    assert "asthma_cluster_profiles" in {o.get("id") for o in asthma.iter("object")}
    assert not any("patient_key" in (e.get("op") or "") for e in asthma.iter("expression"))


def test_the_restricted_flag_writes_patient_level_marts_only_under_restricted(
    clean_build, manifest_path, tmp_path, capsys
):
    import xml.etree.ElementTree as ET

    published, restricted = release_classes(manifest_path)
    out = tmp_path / "out"
    args = ["--db", str(clean_build.db), "--out", str(out), "--hyper", "yes", "--manifest", str(manifest_path)]
    assert exports.main([*args, "--include-restricted-patient-level"]) == 0
    err = capsys.readouterr().err
    assert {p.stem for p in (out / "restricted").glob("*.parquet")} == restricted
    assert {p.stem for p in out.glob("*.parquet")} == published
    for m in restricted:
        rows = clean_build.query(f"select count(*) from marts.{m}")[0][0]
        assert parquet_rows(out / "restricted" / f"{m}.parquet") == rows, m
    assert set(hyper_tables(out / "health_equity.hyper")) == published
    for path in out.glob("*.tds"):  # no table, field or relationship end of a .tds is restricted
        root = ET.parse(path).getroot()
        named = {r.get("name") for r in root.iter("relation")} | {o.get("id") for o in root.iter("object")}
        named |= {r.findtext("parent-name").strip("[]") for r in root.iter("metadata-record")}
        assert not named & restricted and named - {None} <= published, path
    warning = next(line for line in err.splitlines() if "warning" in line)
    assert "not for publication" in warning.lower() and f"{out / 'restricted'}/" in warning
    assert all(m in warning for m in restricted)
    assert err.splitlines()[-1].startswith(f"exported {len(published)} published marts")
    assert f"{len(restricted)} restricted marts (patient-level) written only to" in err.splitlines()[-1]

    # The next default run takes back what the flagged one released.
    assert exports.main(args) == 0
    assert not (out / "restricted").exists()
    assert {p.stem for p in out.rglob("*.parquet")} == published
    err = capsys.readouterr().err
    assert "warning" not in err
    assert err.splitlines()[-1].endswith(f"; {len(restricted)} restricted marts (patient-level) not exported")


def test_a_default_export_removes_stale_patient_level_files_and_nothing_else(
    clean_build, manifest_path, tmp_path, capsys
):
    """An export folder from before the release rules (every mart at its top level, a stale Hyper
    file with every mart in it) keeps no patient-level file after one default run; files of the
    user's own, not named after a mart, stay."""
    out = tmp_path / "out"
    (out / "restricted").mkdir(parents=True)
    with duckdb.connect(str(clean_build.db), read_only=True) as con:
        stale = [
            exports.write_parquet(con, "asthma_patients", out),
            exports.write_parquet(con, "asthma_patient_clusters", out / "restricted"),
        ]
    (out / "health_equity.hyper").write_bytes(b"an extract from before, with asthma_patients in it")
    (out / "health_equity_asthma.tds").write_text("<datasource/>")
    kept = [out / "notes.parquet", out / "restricted" / "my_cohort.parquet", out / "asthma_patients.csv"]
    for path in kept:
        path.write_text("the user's")
    args = ["--db", str(clean_build.db), "--out", str(out), "--hyper", "no", "--manifest", str(manifest_path)]
    assert exports.main(args) == 0
    assert not any(p.exists() for p in stale)
    assert not (out / "health_equity.hyper").exists() and not (out / "health_equity_asthma.tds").exists()
    assert all(p.read_text() == "the user's" for p in kept)
    published, _ = release_classes(manifest_path)
    assert {p.stem for p in out.glob("*.parquet")} == published | {"notes"}
    err = capsys.readouterr().err
    assert f"{out / 'asthma_patients.parquet'}" in err and "stale" in err


def _without_release(node: dict) -> None:
    node["config"]["meta"].pop("release")
    node.get("meta", {}).pop("release", None)


def _published(node: dict) -> None:
    node["config"]["meta"]["release"] = "published"
    node.setdefault("meta", {})["release"] = "published"


@pytest.mark.parametrize(
    ("model", "edit", "expected"),
    [
        ("hospital_scores", _without_release, "marts.hospital_scores: no meta.release"),
        ("asthma_patients", _without_release, "marts.asthma_patients: no meta.release"),
        ("asthma_patients", _published, "marts.asthma_patients: a patient_key column"),
        ("asthma_inequalities", lambda node: node.update(resource_type="seed"), "marts.asthma_inequalities: no model"),
    ],
    ids=["no-release-published-mart", "no-release-restricted-mart", "patient-level-called-published", "no-node"],
)
def test_an_export_the_manifest_does_not_vouch_for_stops_and_writes_nothing(
    clean_build, manifest_path, tmp_path, capsys, model, edit, expected
):
    manifest = json.loads(manifest_path.read_text())
    edit(manifest["nodes"][f"model.health_equity.{model}"])
    edited = tmp_path / "manifest.json"
    edited.write_text(json.dumps(manifest))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        exports.main(["--db", str(clean_build.db), "--out", str(out), "--manifest", str(edited)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert expected in err and "dbt build" in err and str(edited) in err, err
    assert not out.exists()


@pytest.mark.parametrize("content", [None, "{not json", '{"metadata": {}}'], ids=["missing", "not-json", "no-nodes"])
def test_an_export_without_a_readable_manifest_stops_and_writes_nothing(clean_build, tmp_path, capsys, content):
    manifest = tmp_path / "target" / "manifest.json"
    if content is not None:
        manifest.parent.mkdir()
        manifest.write_text(content)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        exports.main(["--db", str(clean_build.db), "--out", str(out), "--manifest", str(manifest)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--manifest {manifest}" in err and "dbt build" in err, err
    assert not out.exists()


def test_a_failed_export_leaves_the_previous_file_whole(clean_build, tmp_path, monkeypatch):
    with duckdb.connect(str(clean_build.db), read_only=True) as con:
        good = exports.write_parquet(con, "hospital_income_tiers", tmp_path)
        before = good.read_bytes()
        # A query that fails part-way: the temporary file may be half written, the real one not.
        monkeypatch.setattr(
            exports,
            "export_select",
            lambda con, table: "select i, case when i > 5000 then error('boom') end from range(10000) t(i)",
        )
        with pytest.raises(duckdb.Error):
            exports.write_parquet(con, "hospital_income_tiers", tmp_path)
    assert good.read_bytes() == before
    assert pd.read_parquet(good).shape[0] == clean_build.query("select count(*) from marts.hospital_income_tiers")[0][0]


def test_export_cli_validates_its_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        exports.main(["--db", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path)])
    assert e.value.code == 2 and "missing.duckdb" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        report.main(["--db", str(tmp_path / "missing.duckdb")])
    assert e.value.code == 2
    # The flag that releases patient-level data says so in its help.
    with pytest.raises(SystemExit):
        exports.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    flag = help_text.split("--include-restricted-patient-level ", 2)[-1]
    assert flag.startswith("ALSO write the restricted, patient-level pseudonymous marts")
    assert "asthma_patients, asthma_patient_clusters" in flag and "<out>/restricted/" in flag
    assert "NOT for publication" in flag and "never go into the Hyper extract or the .tds" in flag
