select
    practice_code,
    practice_name,
    town
from {{ ref('base_asthma__gp_practices') }}
where quarantine_reason is null
