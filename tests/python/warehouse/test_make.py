"""The front door (Makefile): a rejected setting changes nothing, the report can be written for
any warehouse without overwriting the default one, and the messages name the paths used."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO


def make(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True, text=True, env=env, check=False
    )


def snapshot(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob(".scale-*")} if folder.exists() else {}


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("SCALE=huge", "SCALE=huge is not one of: small medium large"),
        ("SCALE=", "is not one of: small medium large"),
        ("SEED=abc", "SEED=abc is not a whole number"),
    ],
)
def test_a_rejected_setting_stops_make_before_anything_changes(setting, named):
    data = REPO / "seeds" / "synthetic"
    before = snapshot(data)
    r = make("build", setting)
    assert r.returncode == 2
    assert named in r.stderr and "Nothing was changed" in r.stderr
    assert r.stdout == ""  # no recipe ran
    assert snapshot(data) == before  # the scale marker a plain `make build` relies on is still there


def test_make_report_out_writes_any_warehouse_and_leaves_the_default_report(clean_build, tmp_path):
    default = REPO / "reports" / "health_equity_report.html"
    before = default.stat().st_mtime_ns if default.exists() else None
    out = tmp_path / "other" / "report.html"
    r = make("report", f"OUT={out}", f"HEALTH_EQUITY_DB={clean_build.db}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"==> report: {out} from {clean_build.db}" in r.stdout
    assert out.stat().st_size > 100_000 and ">Asthma</h2>" in out.read_text()
    assert (default.stat().st_mtime_ns if default.exists() else None) == before
    # No dbt build ran for it: the warehouse is read as it is.
    assert "dbt build" not in r.stdout


def test_make_report_out_names_a_missing_warehouse(tmp_path):
    missing = tmp_path / "none.duckdb"
    r = make("report", f"OUT={tmp_path / 'r.html'}", f"HEALTH_EQUITY_DB={missing}")
    assert r.returncode != 0 and f"no warehouse at {missing}" in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_the_build_messages_name_the_warehouse_and_report_actually_used(tmp_path):
    db, out = tmp_path / "elsewhere.duckdb", tmp_path / "elsewhere.html"
    r = make("-n", "build", f"HEALTH_EQUITY_DB={db}", f"OUT={out}")
    assert r.returncode == 0, r.stderr
    assert f"==> dbt build into {db}" in r.stdout
    assert f"==> done: {db}, exports/*.parquet, {out}" in r.stdout
    assert "done: health_equity.duckdb" not in r.stdout
