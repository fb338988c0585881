{#- Alarms on whole extracts after staging: the quarantine guard and the empty-input warnings. -#}

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
