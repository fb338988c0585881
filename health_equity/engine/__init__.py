"""What dbt runs besides SQL: the glue between the dbt project and its engines.

``plugin`` is the dbt-duckdb plugin that registers the project's SQL functions (the extract
``preflight`` and the file facts of ``extract_files``); ``spark`` is the same for dbt on a local
Spark session; ``relations`` turns what ``dbt.ref()`` returns on any engine into pandas; ``stack``
imports the statistics stack once, first, for the Python models. These modules run inside a dbt
build, so a change here rebuilds the warehouse.
"""
