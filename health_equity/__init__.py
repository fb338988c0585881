"""The Python half of the health-equity warehouse, in four subpackages by concern.

- ``health_equity.stats``: the statistics the dbt Python models call (rate ratios, k-means
  clusters, SII/RII, hospital regression, PHE confidence and funnel limits).
- ``health_equity.engine``: what dbt itself runs besides SQL (the dbt-duckdb plugin, the extract
  preflight and file facts, the relation-to-pandas bridge, the Spark wrapper).
- ``health_equity.outputs``: the tools that read the built warehouse and publish from it (exports,
  Tableau data sources, the HTML report, the offline docs site).
- ``health_equity.devtools``: developer checks that compare two builds (two warehouses, or DuckDB
  against Spark).

``stats`` and ``engine`` are the warehouse's inputs (a change there rebuilds it); ``outputs`` and
``devtools`` only read it.
"""
