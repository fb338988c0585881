"""The same project on Apache Spark (local session): every model, data test and unit test builds,
and every mart equals the DuckDB one built from the same extracts.

The Spark side is the real thing: ``python -m health_equity.engine.spark build --target spark`` (dbt
with dbt-spark's session method, the project's Python models run in-process) on a local Spark;
`make test` installs the Spark extra and a Java runtime first (`make spark-env`). The comparison
is health_equity.devtools.engines: rows sorted, floats to a relative 1e-9, k-means clusters after
matching labels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pandas as pd
import pytest
from conftest import NO_TESTS, REPO, dbt, generate

from health_equity.devtools import engines
from health_equity.engine import spark as spark_dbt

# Small: the Spark cost is per statement, not per row; enough patients for every model to fit,
# with injected faults so the quarantine rules (casts, dates, duplicates) are compared too.
SPARK_GEN = [
    "--patients",
    "1500",
    "--hospitals",
    "400",
    "--seed",
    "11",
    "--fault-rate",
    "0.01",
    "--format",
    "csv",
    "--quiet",
]

# The JVM's quick (C1) compiler only and one GC thread: this build is ~500 short statements on
# tiny data, where the JVM spends its time compiling, not running (profiles.yml, spark output).
# C1 alone shrinks the JVM's default code cache to 48 MB, which this build fills: the JVM then
# stops compiling and fails the next statement that needs a new method handle ("Out of space in
# CodeCache for method handle intrinsic"), or dies. 256 MB is the size with both compilers; this
# build's use peaks at about 80 MB (-XX:+PrintCodeCache: max_used=79,760 KB, 47,642 methods).
SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC"


def spark_dbt_run(command: list[str], work, raw) -> Callable[..., subprocess.CompletedProcess]:
    """Start the Spark dbt command; the function returned waits for it (or kills it, kill=True)
    and gives what it printed.
    Its output goes to files, so nothing stalls on a full pipe while the caller does other work."""
    env = {
        **os.environ,
        "HEALTH_EQUITY_SPARK_DIR": str(work / "spark"),
        "HEALTH_EQUITY_SPARK_JAVA_OPTIONS": SPARK_JAVA_OPTIONS,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    args = [sys.executable, "-m", "health_equity.engine.spark", *command, "--target", "spark"]
    args += ["--profiles-dir", str(REPO), "--project-dir", str(REPO)]
    args += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    args += ["--vars", json.dumps({"raw_dir": str(raw), "raw_format": "csv"})]  # SPARK_GEN writes CSV
    work.mkdir(parents=True, exist_ok=True)
    out, err = work / "stdout.txt", work / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=stdout, stderr=stderr, text=True)

    def wait(kill: bool = False) -> subprocess.CompletedProcess:
        if kill:
            proc.kill()
        proc.wait()
        return subprocess.CompletedProcess(args, proc.returncode, out.read_text(), err.read_text())

    return wait


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("engines")
    raw = tmp / "raw"
    gen = generate(raw, *SPARK_GEN)
    assert gen.returncode == 0, gen.stderr
    # Spark first, and the DuckDB build while it runs (Spark leaves a core idle much of the time).
    spark = spark_dbt_run(["build"], tmp / "spark_run", raw)
    # The reference marts only: the data and unit tests run on the Spark side (and on DuckDB in
    # every other build of the suite), and leave the tables as they are.
    try:
        duck = dbt(["build", *NO_TESTS], tmp / "warehouse.duckdb", tmp / "duckdb", {"raw_dir": str(raw)})
    except BaseException:
        spark(kill=True)
        raise
    spark_result = spark()
    assert duck.returncode == 0, duck.stdout[-5000:]
    return tmp / "warehouse.duckdb", tmp / "spark_run" / "spark" / "warehouse", spark_result


def first_failure(spark: subprocess.CompletedProcess) -> str:
    """What to read when the Spark build fails: its first error (the later ones often only follow
    from it, as every statement fails once the JVM is gone), the JVM's own warnings, and the end."""
    lines = spark.stdout.splitlines()
    marks = ("ERROR", "Unhandled error", "Runtime Error", "Database Error", "Compilation Error", "Error:")
    first = next((i for i, line in enumerate(lines) if any(m in line for m in marks)), len(lines))
    jvm = [line for line in (spark.stdout + spark.stderr).splitlines() if "[warning]" in line or "# " in line[:2]]
    return "\n".join(
        ["first error:", *lines[max(first - 12, 0) : first + 40], "JVM warnings:", *jvm[:20], "end:", *lines[-15:]]
    )


def test_whole_project_builds_on_local_spark(both_engines):
    _, _, spark = both_engines
    assert spark.returncode == 0, first_failure(spark)
    done = [line for line in spark.stdout.splitlines() if "Done. PASS=" in line]
    assert done and " ERROR=0 " in done[-1] and " SKIP=0 " in done[-1], first_failure(spark)


def test_every_mart_on_spark_equals_duckdb(both_engines):
    duck, warehouse, spark = both_engines
    assert spark.returncode == 0, first_failure(spark)
    matched, problems = engines.compare_engines(duck, warehouse, "marts")
    assert not problems, "\n".join(problems)
    assert len(matched) >= 19, matched


def test_comparison_catches_a_float_beyond_1e9_and_forgives_below():
    a = pd.DataFrame({"k": ["x", "y"], "v": [1.0, 2.0]})
    assert engines.compare_frames("m", a, a.assign(v=[1.0 + 1e-12, 2.0])) == []
    assert engines.compare_frames("m", a, a.assign(v=[1.0 + 1e-6, 2.0]))
    assert engines.compare_frames("m", a, a.assign(k=["x", "z"]))
    assert engines.compare_frames("m", a, a.assign(v=[None, 2.0]))


def test_cluster_labels_are_matched_before_comparing():
    a = pd.DataFrame({"patient_key": list("abcdef"), "cluster_id": [1, 1, 2, 2, 3, 3]})
    permuted = a.assign(cluster_id=[3, 3, 1, 1, 2, 2])
    assert engines.compare_frames("asthma_patient_clusters", a, permuted) == []
    split = a.assign(cluster_id=[3, 1, 1, 1, 2, 2])
    assert engines.compare_frames("asthma_patient_clusters", a, split)


def test_session_wrapper_patches_the_pinned_dbt_spark():
    """The wrapper depends on dbt-spark internals of one version: fail loudly if they move."""
    from dbt.adapters.spark import impl, session
    from dbt.adapters.spark.__version__ import version

    assert version == spark_dbt.SUPPORTED_DBT_SPARK
    assert isinstance(impl.SparkAdapter.python_submission_helpers, property)
    assert isinstance(impl.SparkAdapter.default_python_submission_method, property)
    spark_dbt.install()
    helpers = impl.SparkAdapter.python_submission_helpers.fget(object.__new__(impl.SparkAdapter))
    assert helpers["session"] is spark_dbt.SessionPythonJobHelper
    assert {"job_cluster", "all_purpose_cluster"} <= set(helpers)
    cursor = session.Cursor(server_side_parameters={"spark.master": "local[1]"})
    assert cursor.server_side_parameters == {"spark.master": "local[1]"}
