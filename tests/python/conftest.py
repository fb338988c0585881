"""Shared fixtures: small generated datasets and real `dbt build` runs on temporary DuckDB files."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# CSV, as supplied files come: the tests that break extracts on purpose edit these as text.
SMALL = ["--patients", "4000", "--hospitals", "600", "--seed", "7", "--format", "csv", "--quiet"]
# What `make build` generates (Parquet): the "default data" the statistical checks are stated on.
DEFAULT = ["--scale", "small", "--seed", "42", "--quiet"]
# Enough patients for every planted effect to show its sign.
MEDIUM = ["--patients", "100000", "--hospitals", "600", "--seed", "42", "--quiet"]
# `dbt build` arguments that build what is selected and the seeds it reads, without data or unit
# tests: for builds whose point is the tables (the session warehouses run the tests).
NO_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]
# The flag `make build` leaves the unit tests out with (DBT_BUILD_FLAGS). Unit tests check a
# model's SQL on fixed input rows, so the extracts a build reads do not change what they find:
# they run in the default build (`clean_build`) and the OMOP build on the MIMIC demo, where the
# OMOP input's SQL is compiled (test_contracts.py and test_omop.py check every one passes there),
# and the other test builds leave them out, as `make build` does (15 unit tests are about a
# quarter of a small build's node time).
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
# The `dbt build` command `make build` runs.
MAKE_BUILD = ["build", *NO_UNIT_TESTS]


# `make test` runs the tests in two worker processes, one test file at a time each (pytest -n
# auto --dist loadfile; pyproject.toml). The files that take minutes start first, longest first,
# so that the workers finish together instead of one waiting for the Spark build at the end; the
# first files the worker beside Spark runs build the shared warehouses (faulty_build,
# clean_build, medium_build) that later files only read.
FIRST = [
    "test_spark.py",
    "test_bad_input.py",
    "test_measures.py",
    "test_hospital_real_files.py",
    "test_omop.py",
    "test_omop_deprivation.py",
]


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST))


_setup_seconds: dict[str, float] = {}


def pytest_report_teststatus(report, config):
    """Each test's line says how long it took, as it goes: its fixtures (setup) and its own run."""
    if report.when == "setup" and report.passed:
        _setup_seconds[report.nodeid] = report.duration
    if report.when != "call" or report.outcome not in ("passed", "failed"):
        return None
    took = f"({_setup_seconds.pop(report.nodeid, 0.0):.1f}s setup + {report.duration:.1f}s)"
    if report.passed:
        return "passed", ".", (f"PASSED {took}", {"green": True})
    return "failed", "F", (f"FAILED {took}", {"red": True})


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

    @property
    def unit_test_statuses(self) -> dict[str, str | None]:
        """Each unit test of the project (dbt's manifest) and its status in this build (None: it
        did not run). The target folder is the one `dbt()` gives a build: beside its warehouse."""
        target = self.db.parent / "target"
        unit_tests = json.loads((target / "manifest.json").read_text())["unit_tests"]
        ran = {r["unique_id"]: r["status"] for r in json.loads((target / "run_results.json").read_text())["results"]}
        return {u: ran.get(u) for u in unit_tests}

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


# A secret salt for the tests that build on a patients file they edited: a supplied patients
# extract with the public demo salt stops the build (macro check_pseudonym_salt).
TEST_SALT = "a-test-secret-not-the-demo-salt"


def dbt(
    command: list[str],
    db: Path,
    work: Path,
    vars_: dict | None = None,
    project: Path = REPO,
    salt: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI of this environment against a temporary DuckDB file (target `test`).

    dbt runs inside the test process through its programmatic entry point (`dbtRunner`, the one
    dbt's own functional tests use): the same click command and arguments as the `dbt` script,
    without paying dbt's ~4 s of imports (and the Python models' ~4 s of statistics imports)
    again for every call. What the command prints comes back as `stdout` and its exit code as `returncode`
    (0 success, 1 a node failed, 2 an error stopped the run), as from the script. `salt` sets
    HEALTH_EQUITY_SALT and `env` adds other environment variables (such as
    HEALTH_EQUITY_DUCKDB_THREADS), for this one command."""
    env = {
        **({"HEALTH_EQUITY_SALT": salt} if salt else {}),
        "DBT_TARGET": "test",
        "HEALTH_EQUITY_TEST_DB": str(db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
        **(env or {}),
    }
    args = [
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
    vars_ = with_raw_format(vars_)
    if vars_:
        args += ["--vars", json.dumps(vars_)]
    return _invoke_dbt(args, env, project)


def with_raw_format(vars_: dict | None) -> dict | None:
    """The vars, with raw_format set from the generator's manifest.json in raw_dir when the test
    does not set it: the format is an explicit setting of the build (var raw_format), decided
    before dbt compiles, as the Makefile's data is the generator's default (Parquet)."""
    if not vars_ or "raw_dir" not in vars_ or "raw_format" in vars_:
        return vars_
    manifest = Path(vars_["raw_dir"]) / "manifest.json"
    if not manifest.is_file():
        return vars_
    return {**vars_, "raw_format": json.loads(manifest.read_text()).get("format", "parquet")}


def _invoke_dbt(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    saved_env = {key: os.environ.get(key) for key in env}
    saved_cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.update(env)
    os.chdir(cwd)
    capture_stdout_logs(out)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = dbtRunner().invoke(args)
    finally:
        stop_capture_stdout_logs()
        # dbt-duckdb keeps its database open for the process's next command (and closes it at
        # exit); let it go now, so the test can open the file read-only itself.
        DuckDBConnectionManager.close_all_connections()
        gc.collect()
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    code = 0 if result.success else 2 if result.exception is not None else 1
    return subprocess.CompletedProcess(["dbt", *args], code, out.getvalue(), err.getvalue())


def build(tmp: Path, *gen_args: str, vars_: dict | None = None, unit_tests: bool = False) -> Build:
    """Generate extracts into tmp/raw and `dbt build` them into tmp/warehouse.duckdb, as `make build`
    does (without the unit tests, unless `unit_tests`)."""
    raw = tmp / "raw"
    gen = generate(raw, *gen_args)
    assert gen.returncode == 0, gen.stderr
    db = tmp / "warehouse.duckdb"
    command = ["build"] if unit_tests else MAKE_BUILD
    result = dbt(command, db, tmp, {"raw_dir": str(raw), **(vars_ or {})})
    return Build(raw, db, result)


def shared_build(
    tmp_path_factory, name: str, *gen_args: str, vars_: dict | None = None, unit_tests: bool = False
) -> Build:
    """`build`, done once per test run even when pytest-xdist runs the tests in several worker
    processes: the first worker to ask builds under a file lock in the run's shared temporary
    folder and records the result; the others wait for the lock and reuse the warehouse. Tests
    only read a shared warehouse (a test that writes works on a copy)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name), *gen_args, vars_=vars_, unit_tests=unit_tests)
    root = tmp_path_factory.getbasetemp().parent  # one folder per run, shared by its workers
    record = root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            tmp = root / name
            tmp.mkdir()
            b = build(tmp, *gen_args, vars_=vars_, unit_tests=unit_tests)
            r = b.result
            record.write_text(
                json.dumps(
                    {"raw_dir": str(b.raw_dir), "db": str(b.db), "args": r.args, "returncode": r.returncode}
                    | {"stdout": r.stdout, "stderr": r.stderr}
                )
            )
    saved = json.loads(record.read_text())
    result = subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"], saved["stderr"])
    return Build(Path(saved["raw_dir"]), Path(saved["db"]), result)


@pytest.fixture(scope="session")
def clean_build(tmp_path_factory) -> Build:
    """`dbt build` on the default synthetic data (as `make build` makes it), with the unit tests;
    must succeed."""
    b = shared_build(tmp_path_factory, "clean", *DEFAULT, unit_tests=True)
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def medium_build(tmp_path_factory) -> Build:
    """`dbt build` on 100,000 patients; must succeed."""
    b = shared_build(tmp_path_factory, "medium", *MEDIUM)
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def faulty_build(tmp_path_factory) -> Build:
    """`dbt build` on data with injected faults; must still succeed (faults are quarantined)."""
    b = shared_build(tmp_path_factory, "faulty", *SMALL, "--fault-rate", "0.01")
    assert b.result.returncode == 0, b.result.stdout[-5000:]
    return b


@pytest.fixture(scope="session")
def small_extracts(tmp_path_factory) -> Path:
    """The SMALL extracts, generated once per test process; a test that changes files works on a
    copy (`shutil.copytree(small_extracts, tmp_path / "raw")`)."""
    raw = tmp_path_factory.mktemp("small_extracts") / "raw"
    gen = generate(raw, *SMALL)
    assert gen.returncode == 0, gen.stderr
    return raw


def warehouse_copy(b: Build, dest: Path) -> Path:
    """A private copy of a shared warehouse, for a test that writes to it (dbt run, docs generate)."""
    dest.mkdir(parents=True, exist_ok=True)
    db = dest / b.db.name
    shutil.copy(b.db, db)
    return db


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


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    """Render and run one inline SQL statement with the project's macros through the real `dbt show`
    (its own empty warehouse per test module); the rows as dicts."""
    work = tmp_path_factory.mktemp("show")

    def run(sql: str) -> list[dict]:
        r = dbt(["--quiet", "show", "--inline", sql, "--output", "json", "--limit", "-1"], work / "m.duckdb", work)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return json.loads(r.stdout)["show"]

    return run
