{#- Cleaning helpers used by every staging model: one definition of "blank", "code" and "date". -#}

{#- Text with surrounding white space removed; empty strings become NULL. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as string)), '')
{%- endmacro %}

{#- A code: trimmed, upper-cased, blank -> NULL (repairs stray white space and case). -#}
{% macro clean_code(column) -%}
    upper({{ clean_text(column) }})
{%- endmacro %}

{#- ISO date (YYYY-MM-DD) or NULL when blank or unparseable. -#}
{% macro parse_date(column) -%}
    {{ try_iso_date(clean_text(column)) }}
{%- endmacro %}

{#- US date (MM/DD/YYYY), as CMS writes them, or NULL. -#}
{% macro parse_us_date(column) -%}
    {{ try_us_date(clean_text(column)) }}
{%- endmacro %}

{#- Pseudonymous key: salted SHA-256 of the source identifier. The salt is the var
    pseudonym_salt (env HEALTH_EQUITY_SALT); the demo default is public, so set it for real data
    (check_pseudonym_salt stops a build on supplied patients without one). -#}
{% macro pseudonymise(column) -%}
    {{ sha256_hex(pseudonym_salt_sql() ~ " || '|' || " ~ clean_text(column)) }}
{%- endmacro %}

{#- The salt as SQL. A secret salt from the environment is read by the SQL function
    health_equity_pseudonym_salt() when the query runs, so it is never written into the compiled
    SQL, target/ or dbt's log. The public demo salt, or one given with --vars (which dbt writes to
    its artifacts anyway), is a literal. -#}
{% macro pseudonym_salt_sql() -%}
    {%- if var("pseudonym_salt") == env_var("HEALTH_EQUITY_SALT", "") -%}
        health_equity_pseudonym_salt()
    {%- else -%}
        {{ sql_string(var("pseudonym_salt")) }}
    {%- endif -%}
{%- endmacro %}

{#- A column of a raw file named by its header (spaces and all), cleaned as clean_text. The
    name is quoted the adapter's way: "..." on DuckDB, `...` on Spark, where "..." is a string. -#}
{% macro header_text(header) -%}
    {{ clean_text(adapter.quote(header)) }}
{%- endmacro %}

{#- A unit-test fixture for a raw extract, in SQL: `columns` are the file's headers (spaces and
    all), each row a list of values in their order (none for an empty field), every value text,
    as the extracts are read. Headers are quoted the adapter's way, so one fixture serves DuckDB
    and Spark. Called from a fixture's `rows` inside {% raw %}, so it renders when the unit test
    compiles, where the adapter is known. -#}
{% macro text_fixture(columns, rows) -%}
    {%- for row in rows %}
    select
        {%- for column in columns %}
        {{ 'cast(null as string)' if row[loop.index0] is none else sql_string(row[loop.index0]) }}
            as {{ adapter.quote(column) }}{{ ',' if not loop.last }}
        {%- endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
