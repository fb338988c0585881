-- Per extract: rows read from the file, rows staged and rows quarantined; and, at the end of the
-- pipeline, rows used in the marts and rows excluded after staging by a later rule (from
-- data_quality_row_outcomes). is_reconciled: rows read = used + quarantined + excluded after
-- staging, so a row lost in any later join fails the build. Nothing is dropped silently. One row
-- per extract declared in the sources YAML (macros/extracts/extract_declaration.sql).
{{ depends_on_extracts() }}
with

rows_read as (
    {{ union_families('extract_row_counts', ['extract_name', 'file_path', 'rows_read']) }}
),

quarantined as (
    select
        extract_name,
        count(*) as rows_quarantined
    from ({{ union_families('quarantine', ['extract_name']) }})
    group by extract_name
),

staged as (
    select
        extract_name,
        count(*) as rows_staged
    from ({{ extract_staged_rows(declared_extracts()) }})
    group by extract_name
),

outcomes as (
    select
        extract_name,
        cast(coalesce(sum(row_count) filter (where pipeline_stage = 'used'), 0) as bigint) as rows_used,
        cast(coalesce(
            sum(row_count) filter (where pipeline_stage = 'excluded after staging'), 0
        ) as bigint) as rows_excluded_after_staging
    from {{ ref('data_quality_row_outcomes') }}
    group by extract_name
),

final as (
    select
        rows_read.extract_family,
        rows_read.extract_name,
        rows_read.file_path,
        rows_read.rows_read,
        coalesce(staged.rows_staged, 0) as rows_staged,
        coalesce(quarantined.rows_quarantined, 0) as rows_quarantined,
        coalesce(outcomes.rows_excluded_after_staging, 0) as rows_excluded_after_staging,
        coalesce(outcomes.rows_used, 0) as rows_used,
        rows_read.rows_read
        = coalesce(staged.rows_staged, 0) + coalesce(quarantined.rows_quarantined, 0) as is_staging_reconciled,
        rows_read.rows_read
        = coalesce(outcomes.rows_used, 0) + coalesce(quarantined.rows_quarantined, 0)
        + coalesce(outcomes.rows_excluded_after_staging, 0) as is_reconciled
    from rows_read
    left join staged on rows_read.extract_name = staged.extract_name
    left join quarantined on rows_read.extract_name = quarantined.extract_name
    left join outcomes on rows_read.extract_name = outcomes.extract_name
)

select * from final
