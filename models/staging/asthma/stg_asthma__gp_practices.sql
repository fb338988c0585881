-- depends_on: {{ ref('stg_asthma__extract_guard') }}
select
    practice_code,
    practice_name,
    town
from {{ ref('base_asthma__gp_practices') }}
where quarantine_reason is null
