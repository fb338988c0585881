-- depends_on: {{ ref('stg_asthma__extract_guard') }}
-- Clean outpatient appointments.
select
    appointment_id,
    patient_key,
    appointment_date,
    treatment_specialty_code,
    treatment_specialty,
    attendance,
    attendance = 'Attended' as is_attended
from {{ ref('base_asthma__outpatient_appointments') }}
where quarantine_reason is null
