{#-
    The raw extracts as tables, at the start of every build/run/test (on-run-start). DuckDB needs
    none: it reads each file where it lies (the source's meta external_location, which
    dbt-duckdb renders as source()). Spark has no such reader for a relation, so on Spark every
    declared extract (declared_extracts(), macros/extracts/extract_declaration.sql) gets its
    source schema and an unmanaged table over the same declaration: the file its meta path names
    (a file or a partitioned folder, local or a cloud storage URL), in the format var raw_format
    gives it (Parquet as it is, or CSV with its header and every column as text, no schema
    inference, as DuckDB reads it), so staging does all the casting. An optional extract whose file is absent
    gets no table (read_extract then selects no rows). Dropping such a table leaves the file alone.
-#}
{% macro register_extract_tables() %}
    {{- return(adapter.dispatch('register_extract_tables')()) -}}
{% endmacro %}

{% macro default__register_extract_tables() %}
    select 1 as extract_tables_registered
{% endmacro %}

{% macro spark__register_extract_tables() %}
    {%- if execute and flags.WHICH in ('build', 'run', 'test') -%}
        {%- for spec in declared_extracts() -%}
            {%- set src = extract_node(spec.source_name, spec.table_name) -%}
            {%- set relation = api.Relation.create(schema=src.schema, identifier=src.identifier) -%}
            {%- do run_query("create schema if not exists " ~ src.schema) -%}
            {%- do run_query("drop table if exists " ~ relation) -%}
            {%- if spec.optional and not extract_file_exists(spec.path) -%}
                {%- do log("spark source " ~ relation ~ ": optional file not supplied", info=true) -%}
            {%- else -%}
                {%- if spec.format == 'parquet' -%}
                    {%- set using = "using parquet options (path " ~ sql_string(spec.path) ~ ")" -%}
                {%- else -%}
                    {%- set using = "using csv options (path " ~ sql_string(spec.path)
                        ~ ", header 'true', inferSchema 'false', multiLine 'true', quote '\"', escape '\"'"
                        ~ ", encoding 'UTF-8', mode 'PERMISSIVE')" -%}
                {%- endif -%}
                {%- do run_query("create table " ~ relation ~ " " ~ using) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as extract_tables_registered
{% endmacro %}
