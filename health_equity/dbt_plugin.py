"""dbt-duckdb plugin (profiles.yml ``plugins``): registers the extract preflight and the file
facts as DuckDB functions (``health_equity_preflight``, ``health_equity_file_info``,
``health_equity_path_exists``), so the ``validate_sources``, ``extract_file_exists``,
``file_origin`` and ``extract_format`` macros can call them, and imports
the statistics stack once before dbt starts its threads. ``health_equity.spark_dbt`` registers
the same functions on Spark."""

from __future__ import annotations

import importlib

from dbt.adapters.duckdb.plugins import BasePlugin

from health_equity.extract_files import path_exists, sql_file_info
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
        conn.create_function("health_equity_file_info", sql_file_info, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function("health_equity_path_exists", path_exists, ["VARCHAR"], "BOOLEAN", side_effects=True)
