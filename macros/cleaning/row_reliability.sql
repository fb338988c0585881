{#- Helpers for the base models: row numbers, exact duplicates, plausibility. -#}

{#- Every row of a raw extract (`relation`, such as asthma_extract('patients')) with its data-row
    number in the file (1 = the first row after the header; DuckDB runs on one thread and keeps
    the file's order), how many rows share its key
    (rows_with_key; `key` is the cleaned key as an expression over the raw columns), how many
    byte-identical copies of the whole row the file holds (identical_rows) and which copy this is
    (identical_copy, 1 = first in the file).
    Byte-identical rows share their key, so a row whose key is on no other row is its only copy.
    The windows over whole rows (the costly part: a sort of every column) therefore run only on
    the rows whose key repeats or is missing, found by a grouped count, and the rest get 1, 1, 1:
    three scans of the rows instead of two windows over every row of it. On DuckDB a raw file (CSV
    or Parquet) is read once into a materialized CTE that the three scans share: each raw file is
    read once per build for its data. That read-once rule has a price on Parquet: letting the three
    scans read the file themselves, each only the columns it needs, was measured faster (22.5M
    prescriptions at 1M patients: 28 s of CPU against 47 s), but reads the file three times. A table
    (the OMOP stand-in models) is scanned three times. Elsewhere (Spark reads a table registered
    over the file) the relation is scanned three times. -#}
{% macro numbered_source(relation, key) -%}
    {{ return(adapter.dispatch('numbered_source')(relation, key)) }}
{%- endmacro %}

{% macro duckdb__numbered_source(relation, key) -%}
    {%- set source_sql = relation | string | trim %}
    {%- set parquet_file = source_sql.startswith('read_parquet(') and source_sql.endswith(')') %}
    {%- set raw_file = parquet_file or 'read_csv' in source_sql %}
    with numbered_rows as {{ '' if raw_file else 'not ' }}materialized (
        select
        {%- if parquet_file %}
            {#- The Parquet reader's own row number (0-based), the same number as row_number() over ()
                on the file, but counted by every thread: row_number() over () runs the whole
                pipeline above it, cleaning and joins included, on one thread. #}
            raw_row.* exclude (file_row_number),
            raw_row.file_row_number + 1 as source_row_number
        from {{ source_sql[:-1] }}, file_row_number = true) as raw_row
        {%- else %}
            raw_row.*,
            {{ file_row_number() }} as source_row_number
        from {{ relation }} as raw_row
        {%- endif %}
    )

    {% set keyed -%}
        select
            {{ key }} as row_key,
            numbered_rows.*
        from numbered_rows
    {%- endset %}
    {#- The whole raw row, as whole_row('raw_row') over the file: every column but the number,
        packed only for the rows whose key repeats or is missing. #}
    {{ rows_with_repeats(
        'numbered_rows', 'numbered_rows', keyed, key, 'numbered_rows',
        whole_row_sql='struct_pack(*columns(* exclude (row_key, source_row_number)))', hashed_keys=true,
    ) }}
{%- endmacro %}

{% macro default__numbered_source(relation, key) -%}
    {% set numbered -%}
        (
            select
                raw_row.*,
                {{ file_row_number() }} as source_row_number
            from {{ relation }} as raw_row
        ) as numbered
    {%- endset %}
    {% set keyed -%}
        select
            {{ key }} as row_key,
            {{ whole_row('raw_row') }} as whole_row,
            {{ file_row_number() }} as source_row_number
        from {{ relation }} as raw_row
    {%- endset %}
    {{ rows_with_repeats(numbered, 'numbered', keyed, key, relation) }}
{%- endmacro %}

{#- What both versions of numbered_source share: the numbered rows with their repeat counts,
    the whole-row windows taken only over the rows whose key repeats or is missing. `whole_row_sql`
    is the whole row as an SQL expression over `keyed`'s columns, taken after that filter (by default
    keyed's own whole_row column). With hashed_keys the repeated keys are found by grouping the
    keys' hashes (a number, cheaper to group than text): every row of a repeated key shares its
    hash, so it is still taken; a key that only shares its hash with another key is taken too, and
    the windows, partitioned by the key and the row themselves, still count it once: exact. -#}
{% macro rows_with_repeats(numbered, numbered_alias, keyed, key, key_rows, whole_row_sql='whole_row', hashed_keys=false) -%}
    {#- The key as compared to find repeats: itself, or its hash; over the raw rows and over keyed. -#}
    {%- set repeated_on = ('hash(' ~ key ~ ')') if hashed_keys else key %}
    {%- set probe = 'hash(row_key)' if hashed_keys else 'row_key' %}
    select
        {{ numbered_alias }}.*,
        coalesce(repeated.rows_with_key, 1) as rows_with_key,
        coalesce(repeated.identical_rows, 1) as identical_rows,
        coalesce(repeated.identical_copy, 1) as identical_copy
    from {{ numbered }}
    left join (
        select
            source_row_number,
            count(*) over (partition by row_key) as rows_with_key,
            count(*) over (partition by whole_row) as identical_rows,
            row_number() over (partition by whole_row order by source_row_number) as identical_copy
        from (
            select
                row_key,
                {{ whole_row_sql }} as whole_row,
                source_row_number
            from (
                {{ keyed }}
            ) as keyed
            where
                row_key is null
                or {{ probe }} in (
                    select {{ repeated_on }} as repeated_key
                    from {{ key_rows }}
                    group by {{ repeated_on }}
                    having count(*) > 1
                )
        ) as suspects
    ) as repeated on {{ numbered_alias }}.source_row_number = repeated.source_row_number
{%- endmacro %}

{#- The duplicate rules, one for every extract (patients, events, the CMS and ACS files), first of
    a base model's reasons after the null key: rows under one key that are all byte-identical keep
    the first copy and quarantine the rest as 'exact duplicate'; rows under one key that differ are
    all quarantined as 'duplicate key' (no copy can be told to be the right one). -#}
{% macro duplicate_reason(key) -%}
    when rows_with_key > 1 and identical_rows < rows_with_key then 'duplicate key: {{ key }}'
    when identical_copy > 1 then 'exact duplicate: {{ key }}'
{%- endmacro %}

{#- Body of a `bounded` CTE: every row of `relation` with plausibility_reason, the reason of the
    first of `columns` (this extract's columns the seed ref_plausibility_bounds may bound) whose
    bound the row breaks; NULL when every one is within its bounds or NULL. The seed has at most
    one row per extract and column (a unique test says so), so each column's bound is a left join
    that matches one row or none: one pass, no per-row subquery, and `relation` is read once. -#}
{% macro with_plausibility(extract_name, columns, relation='checked') -%}
    select
        {{ relation }}.*,
        coalesce(
            {%- for col in columns %}
                bounds_{{ col }}.quarantine_reason{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as plausibility_reason
    from {{ relation }}
    {%- for col in columns %}
        left join {{ ref('ref_plausibility_bounds') }} as bounds_{{ col }}
            on
                bounds_{{ col }}.extract_name = '{{ extract_name }}'
                and bounds_{{ col }}.column_name = '{{ col }}'
                and (
                    {{ relation }}.{{ col }} < bounds_{{ col }}.min_value
                    or {{ relation }}.{{ col }} > bounds_{{ col }}.max_value
                )
    {%- endfor %}
{%- endmacro %}
