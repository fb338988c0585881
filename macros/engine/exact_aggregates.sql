{#-
    Aggregates of DOUBLE values whose result does not depend on the order in which rows reach
    them, so that a build gives the same marts, bit for bit, on one DuckDB thread or on every
    core. A plain sum(), avg() or stddev_samp() of doubles adds in whatever order the threads
    hand their partial results over, and floating-point addition is not associative: two builds
    of the same extracts then differ in the last bits. Counts and whole days need none of this
    (integer sums are exact); sum them as integers and divide after aggregating.
-#}

{#- Sum of a DOUBLE expression, exact whatever the order: each value is rounded to 18 decimals
    (DECIMAL(38, 18); below a DOUBLE's precision for the values of this project, |x| from 1e-3
    to 1e19), the DECIMAL sum is integer arithmetic, and the total is rounded to a DOUBLE once.
    A value of 1e20 or more is an overflow error, not a wrong answer. For sums over many rows
    (patients): no sort, and as fast as a DOUBLE sum. Works in windows too. -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 18))) as double)
{%- endmacro %}

{#- Mean of a DOUBLE expression, exact_sum over the count of its non-null values (NULL when none). -#}
{% macro exact_avg(expression) -%}
    {{ exact_sum(expression) }} / nullif(count({{ expression }}), 0)
{%- endmacro %}

{#- Any aggregate of an expression (sum, avg, stddev_samp, ...) fed the values in a stated total
    order, so the same rows always give the same bits: for statistics an exact sum cannot give
    (a standard deviation, by DuckDB's own algorithm) and for small groups (a hospital's
    measures, a group's age bands). order_by must be a total order within each group; filter, if
    given, is the condition of a FILTER clause. DuckDB collects the group's values into a list in
    that order and runs the aggregate over the list; Spark runs the aggregate itself (the
    determinism at any core count is a DuckDB guarantee of this project). Not for windows. -#}
{% macro ordered_aggregate(function, expression, order_by, filter=none) -%}
    {{ return(adapter.dispatch('ordered_aggregate')(function, expression, order_by, filter)) }}
{%- endmacro %}

{% macro duckdb__ordered_aggregate(function, expression, order_by, filter) -%}
    list_aggregate(
        list({{ expression }} order by {{ order_by }}){% if filter %} filter (where {{ filter }}){% endif %},
        '{{ function }}'
    )
{%- endmacro %}

{% macro spark__ordered_aggregate(function, expression, order_by, filter) -%}
    {{ function }}({{ expression }}){% if filter %} filter (where {{ filter }}){% endif %}
{%- endmacro %}
