"""dbt on the local Spark target, Python models included: ``python -m health_equity.engine.spark``.

Use it exactly as ``dbt``, e.g. ``python -m health_equity.engine.spark build --target spark``.

Why it exists: dbt-spark (pinned 1.10.3) runs SQL models in its ``session`` method, inside the
dbt process, but submits Python models only to a Databricks workspace (its two submission
methods post the code to the workspace's REST API). This wrapper adds, before it hands over to
dbt's own command line, two things and nothing else:

1. a ``session`` submission method, the default when the profile's method is ``session``: the
   model's compiled code (dbt-spark's own ``py_write_table``: define ``model``, call it, write the
   result with ``saveAsTable``) is executed in this process with ``spark`` bound to the running
   SparkSession. On Databricks the same model files run as Databricks Python models, unchanged.
2. the project's SQL functions, ``health_equity_preflight`` (health_equity.engine.preflight),
   ``health_equity_file_info`` and ``health_equity_path_exists`` (health_equity.engine.extract_files),
   registered on that SparkSession the first time dbt runs a statement, as the dbt-duckdb plugin
   registers them on DuckDB, so the on-run-start checks and the provenance mart are one SQL for
   both engines.

It is tied to the attributes of dbt-spark it relies on (``SparkAdapter.python_submission_helpers``,
``SparkAdapter.default_python_submission_method``, ``session.Cursor.execute`` and
``Cursor.server_side_parameters``); :func:`check_adapter` fails loudly if the installed version
is not the one this was written for, and the test suite checks it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

SUPPORTED_DBT_SPARK = "1.10.3"
MODEL_FILE = "<dbt python model {}>"


def check_adapter() -> None:
    """Stop with a clear message unless the installed dbt-spark is the version this wraps."""
    try:
        from dbt.adapters.spark.__version__ import version
    except ImportError as exc:  # the extra is not installed
        raise SystemExit(
            "health_equity.engine.spark needs the Spark extra: pip install '.[spark]' (dbt-spark, pyspark)"
        ) from exc
    if version != SUPPORTED_DBT_SPARK:
        raise SystemExit(
            f"health_equity.engine.spark was written for dbt-spark {SUPPORTED_DBT_SPARK}, found {version}: "
            "check the adapter attributes it patches (see the module docstring) and update the pin"
        )


def register_functions(session: Any) -> None:
    """The project's SQL functions on a SparkSession (the dbt-duckdb plugin's, on Spark)."""
    from health_equity.engine.extract_files import path_exists, pseudonym_salt, sql_file_info
    from health_equity.engine.preflight import sql_check, sql_unknown_vars

    def preflight(label, path, columns_json, optional, path_var, raw_format):
        return sql_check(label, path, columns_json, bool(optional), path_var, raw_format)

    session.udf.register("health_equity_preflight", preflight, "string")
    session.udf.register("health_equity_file_info", sql_file_info, "string")
    session.udf.register("health_equity_unknown_vars", sql_unknown_vars, "string")
    session.udf.register("health_equity_path_exists", path_exists, "boolean")
    session.udf.register("health_equity_pseudonym_salt", pseudonym_salt, "string")


class SessionPythonJobHelper:
    """A PythonJobHelper that runs the compiled model in this process, on the active session."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.name = f"{parsed_model.get('schema')}.{parsed_model.get('alias') or parsed_model.get('name')}"

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        # dbt runs models on worker threads, where getActiveSession() (thread-local) is empty:
        # take the process's session, the one dbt-spark's session method created.
        session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        exec(compile(compiled_code, MODEL_FILE.format(self.name), "exec"), {"spark": session, "__name__": "__dbt__"})


def install() -> None:
    """Patch dbt-spark (see the module docstring); idempotent."""
    check_adapter()
    from dbt.adapters.spark import impl, session
    from pyspark.sql import SparkSession

    adapter = impl.SparkAdapter
    if getattr(adapter, "_health_equity_session", False):
        return
    helpers = adapter.python_submission_helpers.fget
    default_method = adapter.default_python_submission_method.fget

    def python_submission_helpers(self):
        return {**helpers(self), "session": SessionPythonJobHelper}

    def default_python_submission_method(self):
        if getattr(self.config.credentials, "method", None) == "session":
            return "session"
        return default_method(self)

    adapter.python_submission_helpers = property(python_submission_helpers)
    adapter.default_python_submission_method = property(default_python_submission_method)

    execute = session.Cursor.execute
    registered: list[Any] = []
    lock = threading.Lock()  # dbt's threads (profile `threads: 2`) may both start here

    def execute_with_functions(self, sql, *parameters):
        if not registered:
            with lock:
                if not registered:
                    builder = SparkSession.builder.enableHiveSupport()
                    for parameter, value in self.server_side_parameters.items():
                        builder = builder.config(parameter, value)
                    spark = builder.getOrCreate()  # the session dbt-spark's own execute gets next
                    register_functions(spark)
                    registered.append(spark)
        return execute(self, sql, *parameters)

    session.Cursor.execute = execute_with_functions
    adapter._health_equity_session = True


def main(argv: list[str] | None = None) -> int:
    # Spark's Python workers (which run the registered functions) must be this environment's
    # Python, where health_equity is installed, not whatever python3 is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    install()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        print(f"dbt: {result.exception}", file=sys.stderr)
    return 0 if result.success else (2 if result.exception is not None else 1)


if __name__ == "__main__":
    sys.exit(main())
