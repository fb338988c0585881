-- depends_on: {{ ref('stg_asthma__extract_guard') }}
-- Clean hospital episodes (one row per episode; spells are built in intermediate).
select
    admission_id,
    patient_key,
    provider_code,
    admission_date,
    discharge_date,
    admission_method,
    primary_diagnosis,
    is_asthma_diagnosis,
    discharge_destination
from {{ ref('base_asthma__hospital_admissions') }}
where quarantine_reason is null
