"""dbt-duckdb plugin (profiles.yml ``plugins``): registers the extract preflight and the file
facts as DuckDB functions (``health_equity_preflight``, ``health_equity_file_info``,
``health_equity_path_exists``, ``health_equity_unknown_vars``,
``health_equity_pseudonym_salt``), so the ``validate_vars``,
``validate_sources``, ``extract_file_exists``
and ``file_origin`` macros can call them. ``health_equity.spark_dbt`` registers
the same functions on Spark. The Python models import the statistics stack themselves, once, through
``health_equity.stack``: a run without a Python model does not pay for it."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from health_equity.extract_files import path_exists, pseudonym_salt, sql_file_info
from health_equity.preflight import sql_check, sql_unknown_vars


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        conn.create_function(
            "health_equity_preflight",
            sql_check,
            ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
        conn.create_function(
            "health_equity_unknown_vars", sql_unknown_vars, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("health_equity_file_info", sql_file_info, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function("health_equity_path_exists", path_exists, ["VARCHAR"], "BOOLEAN", side_effects=True)
        conn.create_function("health_equity_pseudonym_salt", pseudonym_salt, [], "VARCHAR")
