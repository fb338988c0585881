"""dbt-duckdb plugin (profiles.yml ``plugins``): registers the extract preflight as a DuckDB
function, so the ``validate_sources`` macro can call it at on-run-start, and imports the
statistics stack once before dbt starts its threads."""

from __future__ import annotations

import importlib

from dbt.adapters.duckdb.plugins import BasePlugin

from health_equity.preflight import sql_check

# Python models run on dbt's worker threads. Two of them importing scikit-learn / statsmodels
# (and narwhals beneath them) at the same moment can deadlock Python's module import locks
# ("_DeadlockError ... narwhals.stable.v1"); importing them here, once, on the main thread
# before any model runs, removes the race.
WARM_IMPORTS = ("pandas", "numpy", "narwhals.stable.v1", "narwhals.stable.v2", "sklearn", "statsmodels.api")


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        for name in (*WARM_IMPORTS, "health_equity.clusters", "health_equity.rates", "health_equity.inequality",
                     "health_equity.hospital_regression"):  # fmt: skip
            try:
                importlib.import_module(name)
            except ImportError:  # a module another change removed: nothing to warm
                pass

    def configure_connection(self, conn):
        conn.create_function(
            "health_equity_preflight",
            sql_check,
            ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
