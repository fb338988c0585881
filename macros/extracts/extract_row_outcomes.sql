{#- The bodies of the data-quality models that account for every row of the declared extracts:
    quarantined rows, rows read and rows staged, per family. -#}

{#- A base row's key as text: the key column, or the key columns joined by spaces. -#}
{% macro record_key(columns) -%}
    cast({{ columns[0] }} as string)
    {%- for col in columns[1:] %} || ' ' || coalesce(cast({{ col }} as string), ''){% endfor %}
{%- endmacro %}

{#- stg_<family>__quarantine: every quarantined row of the family's extracts, with the extract,
    the row's key, its number in the file where the base model numbers rows, and the reason. -#}
{% macro extract_quarantine(family) -%}
    {{ depends_on_extracts(family) }}
    {%- set extracts = declared_extracts(family) %}
    {%- for e in extracts %}
        select
            {{ sql_string(e.name) }} as extract_name,
            {{ record_key(e.key) }} as record_key,
            {%- if e.numbered_rows %}
                source_row_number,
            {%- endif %}
            quarantine_reason
        from {{ ref(e.base_model) }}
        where quarantine_reason is not null
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select cast(null as string) as extract_name, cast(null as string) as record_key, cast(null as string) as quarantine_reason
        where false
    {%- endfor %}
{%- endmacro %}

{#- stg_<family>__extract_row_counts: rows read from each file of the family, with the path of
    the file actually read. The base model holds every row of its file (quarantined ones too) and
    is the one read of the file for its data, so the rows are counted there rather than by reading
    the file again; an absent optional file reads 0 (its base model has no rows). -#}
{% macro extract_row_counts(family) -%}
    {{ depends_on_extracts(family) }}
    {%- for e in declared_extracts(family) %}
        select
            {{ sql_string(e.name) }} as extract_name,
            {{ sql_string(e.path) }} as file_path,
            count(*) as rows_read
        from {{ ref(e.base_model) }}
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select cast(null as string) as extract_name, cast(null as string) as file_path, cast(0 as bigint) as rows_read
        where false
    {%- endfor %}
{%- endmacro %}

{#- One select per family, over the family's stg_<family>__<model>, with its extract_family. -#}
{% macro union_families(model, columns) -%}
    {%- for family in extract_families() %}
        select
            {{ sql_string(family) }} as extract_family,
            {{ columns | join(', ') }}
        from {{ ref('stg_' ~ family ~ '__' ~ model) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- One row per staged (not quarantined) row of each given extract: its family and name. -#}
{% macro extract_staged_rows(extracts) -%}
    {%- for e in extracts %}
        select
            {{ sql_string(e.family) }} as extract_family,
            {{ sql_string(e.name) }} as extract_name
        from {{ ref(e.base_model) }}
        where quarantine_reason is null
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select cast(null as string) as extract_family, cast(null as string) as extract_name
        where false
    {%- endfor %}
{%- endmacro %}
