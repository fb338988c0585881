"""Statistics behind the dbt Python models: pure functions, DataFrame in, DataFrame out.

Emergency-admission rate ratios (``rates``: Poisson and negative binomial), utilisation clusters
(``clusters``: k-means with stability checks), slope and relative index of inequality
(``inequality``, after PHEindicatormethods), hospital scores against ZIP income (``hospital_regression``:
OLS with HC3 errors) and PHE confidence, funnel and standardised-rate arithmetic (``measures``, the
Python twin of the SQL macros, used by the tests and the report). Nothing here reads a file or a
database: the dbt Python models hand these functions DataFrames and write back what they return.
"""
