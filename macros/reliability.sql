{#- Helpers for the base models: row numbers, exact duplicates, plausibility. -#}

{#- Every row of a raw source with its data-row number in the file (1 = the first row after the
    header; DuckDB runs on one thread and keeps the file's order), how many rows share its key
    (rows_with_key; `key` is the cleaned key as an expression over the raw columns), how many
    byte-identical copies of the whole row the file holds (identical_rows) and which copy this is
    (identical_copy, 1 = first in the file).
    Byte-identical rows share their key, so a row whose key is on no other row is its only copy.
    The windows over whole rows (the costly part: a sort of every column) therefore run only on
    the rows whose key repeats or is missing, found by a grouped count, and the rest get 1, 1, 1:
    three scans of the file instead of two windows over every row of it. -#}
{% macro numbered_source(source_name, table_name, key) -%}
    select
        numbered.*,
        coalesce(repeated.rows_with_key, 1) as rows_with_key,
        coalesce(repeated.identical_rows, 1) as identical_rows,
        coalesce(repeated.identical_copy, 1) as identical_copy
    from (
        select
            raw_row.*,
            {{ file_row_number() }} as source_row_number
        from {{ source(source_name, table_name) }} as raw_row
    ) as numbered
    left join (
        select
            source_row_number,
            count(*) over (partition by row_key) as rows_with_key,
            count(*) over (partition by whole_row) as identical_rows,
            row_number() over (partition by whole_row order by source_row_number) as identical_copy
        from (
            select
                {{ key }} as row_key,
                {{ whole_row('raw_row') }} as whole_row,
                {{ file_row_number() }} as source_row_number
            from {{ source(source_name, table_name) }} as raw_row
        ) as keyed
        where
            row_key is null
            or row_key in (
                select {{ key }} as repeated_key
                from {{ source(source_name, table_name) }}
                group by {{ key }}
                having count(*) > 1
            )
    ) as repeated on numbered.source_row_number = repeated.source_row_number
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

{#- Guard on whole extracts: one row per extract with its quarantined share, which fails the
    build (raise_error()) when any share is above var max_quarantined_share. The one message lists
    every extract over the limit, each with its file (in the message only), its top three reasons with counts and up to
    five example rows (`example_column`: the data-row number for patient extracts, never the row's
    content). Causes come first: an extract whose rows are quarantined mostly because their
    patient is not on the clean register is listed after the extracts with a cause of their own,
    and is marked as following from the patients extract when that one is over the limit too.
    Materialise as a table. -#}
{% macro quarantine_guard(counts_model, quarantine_model, example_column) -%}
with

counts as (
    select
        extract_name,
        file_path,
        rows_read
    from {{ ref(counts_model) }}
),

quarantined as (
    select
        extract_name,
        quarantine_reason,
        {{ example_column }} as example
    from {{ ref(quarantine_model) }}
),

by_reason as (
    select
        extract_name,
        quarantine_reason,
        count(*) as rows_quarantined,
        row_number() over (partition by extract_name order by count(*) desc, quarantine_reason) as reason_rank
    from quarantined
    group by extract_name, quarantine_reason
),

reasons as (
    select
        extract_name,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined,
        {{ ordered_string_agg(
            "case when reason_rank <= 3 then quarantine_reason || ' (' || rows_quarantined || ' rows)' end",
            "'; '", 'reason_rank',
        ) }} as top_reasons,
        max(case when reason_rank = 1 then quarantine_reason end) as main_reason
    from by_reason
    group by extract_name
),

examples as (
    select
        extract_name,
        {{ ordered_string_agg('cast(example as string)', "', '", 'example') }} as example_rows
    from (
        select
            extract_name,
            example,
            row_number() over (partition by extract_name order by example) as example_rank
        from quarantined
        where example is not null
    )
    where example_rank <= 5
    group by extract_name
),

shares as (
    select
        counts.extract_name,
        counts.file_path,
        counts.rows_read,
        coalesce(reasons.rows_quarantined, 0) as rows_quarantined,
        coalesce(reasons.rows_quarantined, 0) / nullif(counts.rows_read, 0) as quarantined_share,
        cast({{ var('max_quarantined_share') }} as double) as max_quarantined_share,
        reasons.top_reasons,
        coalesce(reasons.main_reason = 'patient not on the clean register', false) as follows_from_register,
        examples.example_rows
    from counts
    left join reasons on counts.extract_name = reasons.extract_name
    left join examples on counts.extract_name = examples.extract_name
),

final as (
    select
        *,
        coalesce(quarantined_share > max_quarantined_share, false) as is_over_limit
    from shares
),

{%- set message -%}
    'extract ' || extract_name || ' (' || file_path || '): ' || rows_quarantined || ' of ' || rows_read
                || ' rows (' || round(100 * quarantined_share, 1) || '%) quarantined, above var max_quarantined_share = '
                || max_quarantined_share || '; top reasons: ' || top_reasons
                || '; example rows (data-row numbers in the file): ' || coalesce(example_rows, 'none')
                || case
                    when follows_from_register and patients_over
                        then ' (this follows from the patients extract, which is over the limit too: '
                        || 'its patients are not on the clean register)'
                    else ''
                end
{%- endset %}

alarm as (
    select
        count(*) as extracts_over_limit,
        {{ ordered_string_agg(message, "' || '", 'follows_from_register, extract_name') }} as messages
    from (
        select
            *,
            max(case when extract_name = 'patients' then 1 else 0 end) over () = 1 as patients_over
        from final
        where is_over_limit
    )
)

select
    final.extract_name,
    final.rows_read,
    final.rows_quarantined,
    final.quarantined_share,
    final.max_quarantined_share,
    final.top_reasons,
    final.example_rows,
    case
        when alarm.extracts_over_limit > 0
            then {{ raise_error(
                "alarm.extracts_over_limit || ' extract(s) over the quarantine limit, causes first: '
                || alarm.messages"
            ) }}
        else 'within limit'
    end as guard_status
from final
cross join alarm
{%- endmacro %}

{#- Post-hook of data_quality_empty_inputs: one warning in the build output per input that came
    out empty, naming the extract, what is empty and why (no row-level data: the mart holds none). -#}
{% macro warn_empty_inputs(relation) -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select extract_name, input_kind, input_name, rows_read, empty_reason from " ~ relation
            ~ " order by extract_family, extract_name, input_kind, input_name"
        ) -%}
        {%- for row in found.rows -%}
            {%- do exceptions.warn(
                "WARNING: empty input: extract " ~ row[0] ~ ", " ~ row[1] ~ " " ~ row[2] ~ " (" ~ row[3]
                ~ " rows read): " ~ row[4] ~ " (data_quality_empty_inputs)"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
