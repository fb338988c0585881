{#-
    Work in progress (issue 12): the raw extracts as tables on Spark, which has no equivalent of
    DuckDB's reading of a relation's `external` location. For every declared extract
    (declared_extracts(), macros/extracts.sql) this creates the source's schema and an unmanaged
    table over the file that extract_spec() works out from the vars: a .parquet path (a
    file or a partitioned folder) is read as Parquet, anything else as CSV with its header and
    every column as text (no schema inference), as DuckDB reads it, so staging does all the
    casting. Dropping such a table leaves the file alone.

        dbt run-operation spark_create_source_tables --target spark --vars '{raw_dir: ...}'

    No model uses it yet; the plan is to run it from on-run-start on Spark only. Not handled yet:
    an absent optional extract (it needs an existence check first; Spark has no glob()).
-#}
{% macro spark_create_source_tables() %}
    {%- for spec in declared_extracts() -%}
        {%- set src = extract_node(spec.source_name, spec.table_name) -%}
        {%- set path = spec.path -%}
        {%- set relation = api.Relation.create(schema=src.schema, identifier=src.identifier) -%}
        {%- if path.endswith('.parquet') -%}
            {%- set using = "using parquet options (path " ~ sql_string(path) ~ ")" -%}
        {%- else -%}
            {%- set using = "using csv options (path " ~ sql_string(path)
                ~ ", header 'true', inferSchema 'false', multiLine 'true', quote '\"', escape '\"'"
                ~ ", encoding 'UTF-8', mode 'PERMISSIVE')" -%}
        {%- endif -%}
        {%- do run_query("create schema if not exists " ~ src.schema) -%}
        {%- do run_query("drop table if exists " ~ relation) -%}
        {%- do run_query("create table " ~ relation ~ " " ~ using) -%}
        {%- do log("spark source " ~ relation ~ " over " ~ path, info=true) -%}
    {%- endfor -%}
{% endmacro %}
