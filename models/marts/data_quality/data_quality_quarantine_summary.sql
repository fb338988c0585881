-- Quarantined rows counted by extract and reason, with the file read: what was kept out of the
-- marts, and why. The staging-quarantine rows of data_quality_row_outcomes, which counts where
-- every raw row ended.
with

outcomes as (
    select * from {{ ref('data_quality_row_outcomes') }}
    where pipeline_stage = 'quarantined at staging'
),

files as (
    {{ union_families('extract_row_counts', ['extract_name', 'file_path']) }}
)

select
    outcomes.extract_family,
    outcomes.extract_name,
    files.file_path,
    outcomes.outcome as quarantine_reason,
    outcomes.row_count as rows_quarantined
from outcomes
left join files on outcomes.extract_name = files.extract_name
