"""The dbt docs site: every model, seed and column documented, and the static site opening offline
in a real browser."""

from __future__ import annotations

import json

import pytest
from conftest import dbt, warehouse_copy
from outputs.browser import open_in_browser

from health_equity.outputs import docs_site


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
