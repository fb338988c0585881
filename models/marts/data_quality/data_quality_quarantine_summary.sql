-- Quarantined rows counted by extract and reason, with the file read: what was kept out of the
-- marts, and why.
with

quarantined as (
    select
        'asthma' as extract_family,
        extract_name,
        quarantine_reason
    from {{ ref('stg_asthma__quarantine') }}
    union all
    select
        'hospitals' as extract_family,
        extract_name,
        quarantine_reason
    from {{ ref('stg_hospitals__quarantine') }}
),

files as (
    select
        extract_name,
        file_path
    from {{ ref('stg_asthma__extract_row_counts') }}
    union all
    select
        extract_name,
        file_path
    from {{ ref('stg_hospitals__extract_row_counts') }}
)

select
    quarantined.extract_family,
    quarantined.extract_name,
    any_value(files.file_path) as file_path,
    quarantined.quarantine_reason,
    count(*) as rows_quarantined
from quarantined
left join files on quarantined.extract_name = files.extract_name
group by quarantined.extract_family, quarantined.extract_name, quarantined.quarantine_reason
