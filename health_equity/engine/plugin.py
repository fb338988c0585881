"""dbt-duckdb plugin (profiles.yml ``plugins``): registers the extract preflight and the file
facts as DuckDB functions (``health_equity_preflight``, ``health_equity_file_info``,
``health_equity_path_exists``, ``health_equity_unknown_vars``,
``health_equity_pseudonym_salt``), so the ``validate_vars``,
``validate_sources``, ``extract_file_exists``
and ``file_origin`` macros can call them. ``health_equity.engine.spark`` registers
the same functions on Spark. The Python models import the statistics stack themselves, once, through
``health_equity.engine.stack``: a run without a Python model does not pay for it.

It also sets how many threads DuckDB runs each query on: the plugin's ``duckdb_threads``
(profiles.yml sets it from the environment variable HEALTH_EQUITY_DUCKDB_THREADS), a whole number
from 1, or ``all`` (the default: DuckDB's own default, every core). Any number gives the same
marts to the last bit (the SQL aggregates exactly or in a stated order), so a cap only trades speed
for a share of the machine."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from health_equity.engine.extract_files import path_exists, pseudonym_salt, sql_file_info
from health_equity.engine.preflight import sql_check, sql_unknown_vars


def duckdb_threads(value: object) -> int | None:
    """The thread count a ``duckdb_threads`` setting asks for: None for ``all`` (or unset, or
    empty), else a whole number from 1; anything else is a ValueError naming the setting."""
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "all"):
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"duckdb_threads (HEALTH_EQUITY_DUCKDB_THREADS) must be a whole number from 1 or 'all', not {value!r}"
        )
    return int(text)


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        self.threads = duckdb_threads(plugin_config.get("duckdb_threads"))

    def configure_connection(self, conn):
        # threads is a setting of the whole database instance: every cursor dbt opens runs with it.
        if self.threads is not None:
            conn.execute(f"set threads = {self.threads}")
        conn.create_function(
            "health_equity_preflight",
            sql_check,
            ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR", "VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
        conn.create_function(
            "health_equity_unknown_vars", sql_unknown_vars, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("health_equity_file_info", sql_file_info, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function("health_equity_path_exists", path_exists, ["VARCHAR"], "BOOLEAN", side_effects=True)
        conn.create_function("health_equity_pseudonym_salt", pseudonym_salt, [], "VARCHAR")
