"""dbt-duckdb plugin (profiles.yml ``plugins``): registers the extract preflight as a DuckDB
function, so the ``validate_sources`` macro can call it at on-run-start."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from health_equity.preflight import sql_check


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        conn.create_function(
            "health_equity_preflight",
            sql_check,
            ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN"],
            "VARCHAR",
            side_effects=True,
        )
