{#-
    Reading extracts that a source may declare optional (meta.optional: true in the sources YAML).

    read_extract(source_name, table_name) selects every row of the source. For an optional
    extract whose file is absent it selects no rows, with the columns declared in the YAML (all
    text), so every model downstream still builds and can say why it has nothing. A header-only
    file is read as it is (DuckDB reads the header and no rows).
-#}
{% macro extract_node(source_name, table_name) -%}
    {%- for node in graph.sources.values() if node.source_name == source_name and node.name == table_name -%}
        {{- return(node) -}}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error("no source " ~ source_name ~ "." ~ table_name) -}}
{%- endmacro %}

{% macro extract_file_exists(path) -%}
    {%- set found = run_query("select count(*) from glob(" ~ sql_string(path) ~ ")") -%}
    {{- return(found.columns[0].values()[0] > 0) -}}
{%- endmacro %}

{% macro read_extract(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- In a unit test the source is a mocked CTE: read it whatever the file system holds. -#}
    {%- set mocked = '__dbt__cte__' in (relation | string) -%}
    {%- if execute and not mocked -%}
        {%- set node = extract_node(source_name, table_name) -%}
        {%- if node.meta.get('optional') and not extract_file_exists(node.meta.extract_path) -%}
            select
            {%- for col in node.columns.keys() %}
                cast(null as varchar) as "{{ col }}"{{ "," if not loop.last }}
            {%- endfor %}
            where false
        {%- else -%}
            select * from {{ relation }}
        {%- endif -%}
    {%- else -%}
        select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- The General Information file's outcome groups with better/worse counts: (column prefix used
    in staging, the group's code in ref_cms_star_rating_groups and in the file's headers). -#}
{% macro cms_outcome_groups() -%}
    {{- return([('mort', 'MORT'), ('safety', 'Safety'), ('readm', 'READM')]) -}}
{%- endmacro %}
