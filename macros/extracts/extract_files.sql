{#- The file probes: SQL functions of the dbt plugin that look at a file without reading it into a model. -#}

{#- Whether a path (a file, a folder of Parquet parts or a glob pattern) matches a file, from the
    SQL function health_equity_path_exists, which reads no bytes (file_info hashes the file). -#}
{% macro extract_file_exists(path) -%}
    {%- set found = run_query("select health_equity_path_exists(" ~ sql_string(path) ~ ")") -%}
    {{- return(found.columns[0].values()[0]) -}}
{%- endmacro %}

{#- {exists, size, sha256, last_modified, origin} of the file at a path, from the SQL function
    health_equity_file_info (health_equity/engine/extract_files.py), which the dbt-duckdb plugin
    registers on DuckDB and health_equity.engine.spark on Spark: one query for both engines. -#}
{% macro file_info(path) -%}
    {%- set found = run_query("select health_equity_file_info(" ~ sql_string(path) ~ ")") -%}
    {{- return(fromjson(found.columns[0].values()[0])) -}}
{%- endmacro %}
