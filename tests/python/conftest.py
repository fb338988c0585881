"""Shared fixtures: small generated datasets and real `dbt build` runs on temporary DuckDB files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SMALL = ["--patients", "4000", "--hospitals", "600", "--seed", "7", "--quiet"]
# What `make build` generates: the "default data" the statistical checks are stated on.
DEFAULT = ["--scale", "small", "--seed", "42", "--quiet"]
# Enough patients for every planted effect to show its sign.
MEDIUM = ["--patients", "100000", "--hospitals", "600", "--seed", "42", "--quiet"]


def generate(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generators", "--out", str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class Build:
    raw_dir: Path
    db: Path
    result: subprocess.CompletedProcess

    def query(self, sql: str):
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.sql(sql).fetchall()

    def df(self, sql: str):
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.sql(sql).df()

    @property
    def manifest(self) -> dict:
        return json.loads((self.raw_dir / "manifest.json").read_text())

    @property
    def truth(self) -> dict:
        return json.loads((self.raw_dir / "truth.json").read_text())


def dbt(
    command: list[str], db: Path, work: Path, vars_: dict | None = None, project: Path = REPO
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI of this environment against a temporary DuckDB file (target `test`)."""
    env = {
        **os.environ,
        "DBT_TARGET": "test",
        "HEALTH_EQUITY_TEST_DB": str(db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    args = [
        str(BIN / "dbt"),
        *command,
        "--profiles-dir",
        str(project),
        "--project-dir",
        str(project),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    if vars_:
        args += ["--vars", json.dumps(vars_)]
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)


def build(tmp: Path, *gen_args: str, vars_: dict | None = None) -> Build:
    raw = tmp / "raw"
    gen = generate(raw, *gen_args)
    assert gen.returncode == 0, gen.stderr
    db = tmp / "warehouse.duckdb"
    result = dbt(["build"], db, tmp, {"raw_dir": str(raw), **(vars_ or {})})
    return Build(raw, db, result)


@pytest.fixture(scope="session")
def clean_build(tmp_path_factory) -> Build:
    """`dbt build` on the default synthetic data (as `make build` makes it); must succeed."""
    b = build(tmp_path_factory.mktemp("clean"), *DEFAULT)
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def medium_build(tmp_path_factory) -> Build:
    """`dbt build` on 100,000 patients; must succeed."""
    b = build(tmp_path_factory.mktemp("medium"), *MEDIUM)
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def faulty_build(tmp_path_factory) -> Build:
    """`dbt build` on data with injected faults; must still succeed (faults are quarantined)."""
    b = build(tmp_path_factory.mktemp("faulty"), *SMALL, "--fault-rate", "0.01")
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def strict_disclosure_build(tmp_path_factory) -> Build:
    """`dbt build` on 4,000 patients with suppress_below = 30: many small cells to protect."""
    b = build(tmp_path_factory.mktemp("strict_disclosure"), *SMALL, vars_={"suppress_below": 30})
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


PROJECT_FILES = [
    "dbt_project.yml",
    "profiles.yml",
    "selectors.yml",
    "models",
    "macros",
    "seeds/reference",
    "tests/dbt",
    "analyses",
]


def project_copy(dest: Path) -> Path:
    """A copy of the dbt project (not the Python package, which stays installed from the repo), for
    tests that must change a model or keep dbt's artefacts out of the repository's target folder."""
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / name)
    return dest
