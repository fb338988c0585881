-- Quarantined rows counted by extract and reason: what was kept out of the marts, and why.
select
    'asthma' as extract_family,
    extract_name,
    quarantine_reason,
    count(*) as rows_quarantined
from {{ ref('stg_asthma__quarantine') }}
group by extract_name, quarantine_reason
