"""Developer checks on two builds of the warehouse.

``compare`` says whether two DuckDB warehouses hold the same tables, columns and rows (a refactor
must not change the marts); ``engines`` compares the DuckDB marts with a Spark build's, within
stated tolerances. Neither is part of ``make build``.
"""
