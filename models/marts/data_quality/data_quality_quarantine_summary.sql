-- Quarantined rows counted by extract and reason: what was kept out of the marts, and why.
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
)

select
    extract_family,
    extract_name,
    quarantine_reason,
    count(*) as rows_quarantined
from quarantined
group by extract_family, extract_name, quarantine_reason
