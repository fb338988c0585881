-- Where every row of the OMOP tables read ended (built only on the OMOP input): per table,
-- the rows in its file, and per outcome the rows used (and for which staging contract) or left
-- out (with the reason). rows_accounted = rows_read table by table (a test says so). Rows used
-- go on into the asthma extracts' own accounting (data_quality_row_outcomes).
with

counts as (
    select * from {{ ref('stg_omop__table_row_counts') }}
),

outcomes as (
    select
        omop_table,
        outcome,
        count(*) as row_count
    from {{ ref('stg_omop__row_outcomes') }}
    group by omop_table, outcome
),

final as (
    select
        counts.omop_table,
        counts.file_path,
        counts.rows_read,
        case
            when outcomes.outcome is null then 'no rows'
            when outcomes.outcome like 'used%' then 'used'
            else 'excluded by the OMOP input'
        end as pipeline_stage,
        coalesce(outcomes.outcome, 'no rows') as outcome,
        coalesce(outcomes.row_count, 0) as row_count,
        cast(sum(coalesce(outcomes.row_count, 0)) over (partition by counts.omop_table) as bigint) as rows_accounted
    from counts
    left join outcomes on counts.omop_table = outcomes.omop_table
)

select * from final
order by omop_table asc, pipeline_stage desc, outcome asc
