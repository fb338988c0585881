"""What people read: Parquet/Hyper exports, the docs site and the HTML report in a real browser."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager

import duckdb
import pandas as pd
import pytest
from conftest import REPO, dbt, warehouse_copy
from playwright.sync_api import sync_playwright

from health_equity import docs_site, exports, report

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


@pytest.fixture(scope="module")
def exported(clean_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    manifest = clean_build.db.parent / "target" / "manifest.json"
    assert manifest.exists()
    assert (
        exports.main(["--db", str(clean_build.db), "--out", str(out), "--hyper", "yes", "--manifest", str(manifest)])
        == 0
    )
    return out


def test_every_mart_is_exported_to_parquet_with_its_rows(clean_build, exported):
    marts = [
        t for (t,) in clean_build.query("select table_name from information_schema.tables where table_schema = 'marts'")
    ]
    assert len(marts) >= 11
    for m in marts:
        df = pd.read_parquet(exported / f"{m}.parquet")
        assert len(df) == clean_build.query(f"select count(*) from marts.{m}")[0][0], m
    assert not list(exported.glob(".*tmp"))
    # Wide numerics are cast for Tableau: no DECIMAL/HUGEINT reaches the files.
    with duckdb.connect() as con:
        types = con.sql(f"describe select * from '{exported}/asthma_inequalities.parquet'").df().column_type
    assert not types.str.contains("DECIMAL|HUGEINT").any()
    # Counts stay whole numbers: every integer column of every mart is an integer in its file.
    for m in marts:
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


def test_the_hyper_file_reads_back_with_the_marts_row_counts(clean_build, exported):
    import pantab

    frames = pantab.frames_from_hyper(exported / "health_equity.hyper")
    counts = {k[-1] if isinstance(k, tuple) else str(k): len(v) for k, v in frames.items()}
    for (m,) in clean_build.query("select table_name from information_schema.tables where table_schema = 'marts'"):
        assert counts[m] == clean_build.query(f"select count(*) from marts.{m}")[0][0], m


def test_each_tableau_data_source_matches_the_hyper_file_it_points_at(clean_build, exported):
    """Every field of every .tds exists in the Hyper table it names, with a matching type; roles,
    aggregations and descriptions come through; relationships join fields that exist."""
    import xml.etree.ElementTree as ET

    import pantab

    hyper = {
        k[-1]: v.schema
        for k, v in pantab.frames_from_hyper(exported / "health_equity.hyper", return_type="pyarrow").items()
    }
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
    asthma = ET.parse(exported / "health_equity_asthma.tds").getroot()
    assert any("patient_key" in (e.get("op") or "") for e in asthma.iter("expression"))


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
