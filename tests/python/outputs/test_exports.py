"""What people read: Parquet/Hyper exports, the docs site and the HTML report in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from conftest import REPO, dbt, warehouse_copy
from playwright.sync_api import sync_playwright

from health_equity.outputs import docs_site, exports, report

SCREENSHOTS = REPO / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise RuntimeError("no Chromium found: run `make browser` (or set CHROMIUM) before the browser tests")


@contextmanager
def open_in_browser(url: str, shot: str, settle_ms: int = 1000):
    """Open a page in headless Chromium, screenshot it; yield (page, console errors so far)."""
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(settle_ms)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
        yield page, errors
        browser.close()


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


@pytest.fixture(scope="module")
def docs_site_file(clean_build, tmp_path_factory):
    work = tmp_path_factory.mktemp("docs")
    db = warehouse_copy(clean_build, work)  # docs generate opens the warehouse for writing
    r = dbt(["docs", "generate", "--static"], db, work, {"raw_dir": str(clean_build.raw_dir)})
    assert r.returncode == 0, r.stdout[-3000:]
    site = work / "target" / "static_index.html"
    assert docs_site.patch(site) > 0
    return work / "target"


def test_every_model_seed_and_column_is_documented(docs_site_file):
    manifest = json.loads((docs_site_file / "manifest.json").read_text())
    catalog = json.loads((docs_site_file / "catalog.json").read_text())
    missing = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed") or node["package_name"] != "health_equity":
            continue
        if not node["description"].strip():
            missing.append(uid)
        documented = {c.lower() for c, meta in node["columns"].items() if meta["description"].strip()}
        for col in catalog["nodes"].get(uid, {}).get("columns", {}):
            if col.lower() not in documented:
                missing.append(f"{uid}.{col}")
    for uid, src in manifest["sources"].items():
        if not src["description"].strip() or any(not c["description"].strip() for c in src["columns"].values()):
            missing.append(uid)
    assert not missing, f"undocumented: {missing[:20]}"
    assert "health-equity" in manifest["docs"]["doc.health_equity.__overview__"]["block_contents"]
    assert {e.split(".")[-1] for e in manifest["exposures"]} == {"tableau_health_equity_dashboard", "html_report"}


def test_the_static_docs_site_opens_offline_without_console_errors(docs_site_file):
    url = (docs_site_file / "static_index.html").as_uri() + "#!/model/model.health_equity.hospital_equity"
    with open_in_browser(url, "docs_hospital_equity", settle_ms=2000) as (page, errors):
        assert "hospital_equity" in page.locator("body").inner_text()
        assert "clinical_risk_score" in page.locator("body").inner_text()
    assert not errors, errors


def _tick_value(label: str) -> float | None:
    """A tick label as a number: "$50k" is 50000, "1.5" is 1.5, "−0.5" (plotly's minus) is -0.5;
    None for a category label."""
    text = label.replace("\u2212", "-").replace(",", "").replace("$", "").strip()
    scale = 1.0
    if text.endswith("k"):
        text, scale = text[:-1], 1e3
    try:
        return float(text) * scale
    except ValueError:
        return None


def test_the_report_renders_every_chart_with_data_in_a_real_browser(clean_build, tmp_path):
    out = tmp_path / "report.html"
    assert report.main(["--db", str(clean_build.db), "--out", str(out)]) == 0
    html = out.read_text()
    assert "cdn" not in html.lower().split("<script", 1)[0]  # nothing fetched: plotly.js is inline
    with open_in_browser(out.as_uri(), "report_full") as (page, errors):
        charts = page.evaluate("""() => [...document.querySelectorAll('section.chart')].map(s => {
            const gd = s.querySelector('.js-plotly-plot');
            return {name: s.dataset.chart, title: s.querySelector('h3').innerText,
                    caption: s.querySelector('.caption').innerText,
                    traces: gd ? gd.data.length : 0,
                    marks: gd ? gd.querySelectorAll(
                        'path.point, .bars path, .heatmaplayer image, path.js-line').length : 0,
                    xtitle: gd && gd.layout.xaxis && gd.layout.xaxis.title ? gd.layout.xaxis.title.text || '' : '',
                    // Every axis's tick labels in screen order, and whether each axis title fits the chart.
                    ticks: gd ? [...gd.querySelectorAll('.xaxislayer-above, .yaxislayer-above')].map(layer => {
                        const isX = layer.classList.contains('xaxislayer-above');
                        return [...layer.querySelectorAll('text')]
                            .map(t => ({text: t.textContent, pos: isX ? t.getBoundingClientRect().x
                                                                       : -t.getBoundingClientRect().y}))
                            .sort((a, b) => a.pos - b.pos).map(t => t.text);
                    }) : [],
                    clipped: gd ? [...gd.querySelectorAll('.g-xtitle, .g-ytitle, .g-x2title, .g-y2title')]
                        .filter(t => t.getBBox().width > 0).filter(t => {
                            const r = t.getBoundingClientRect(), box = gd.getBoundingClientRect();
                            return r.left < box.left - 1 || r.right > box.right + 1
                                || r.top < box.top - 1 || r.bottom > box.bottom + 1;
                        }).map(t => t.textContent) : []};
        })""")
        for c in charts:
            page.locator(f'section[data-chart="{c["name"]}"]').screenshot(
                path=str(SCREENSHOTS / f"chart_{c['name']}.png")
            )
        kpis = page.locator(".kpi").count()
    assert not errors, errors
    names = {c["name"] for c in charts}
    assert names == {
        "state_map",
        "income_scatter",
        "tier_bars",
        "funnel",
        "hotspots",
        "cluster_profiles",
        "forest_plot",
        "dsr_imd",
        "dsr_ethnicity",
        "sii_rii",
        "funnel_readmissions",
        "funnel_saba",
    }
    for c in charts:
        assert c["traces"] > 0 and c["marks"] > 0, c
        assert c["title"] and len(c["caption"]) > 40, c
    # Axis titles sit inside their chart, and numeric tick labels read in order along each axis
    # (a log axis labelled "4 5 ... 9 1 2 3" or "2 ... 9 100 2" fails here).
    for c in charts:
        assert not c["clipped"], (c["name"], c["clipped"])
        for labels in c["ticks"]:
            values = [_tick_value(t) for t in labels]
            if len(labels) > 1 and all(v is not None for v in values):
                assert all(a < b for a, b in zip(values, values[1:])), (c["name"], labels)
    # Every chart but the tile map has a labelled value axis.
    assert all(c["xtitle"] for c in charts if c["name"] != "state_map"), charts
    assert kpis == 3
