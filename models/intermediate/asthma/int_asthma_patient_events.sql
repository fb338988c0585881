-- Every countable utilisation and outcome event of a patient in one long table:
-- (patient_key, event_date, measure, amount). The marts count them per window in one place.
with

gp as (
    select * from {{ ref('stg_asthma__gp_events') }}
),

rx as (
    select * from {{ ref('stg_asthma__prescriptions') }}
),

op as (
    select * from {{ ref('stg_asthma__outpatient_appointments') }}
),

spells as (
    select * from {{ ref('int_asthma_admission_spells') }}
),

readmissions as (
    select * from {{ ref('int_admissions_linked_to_readmissions') }}
),

exacerbations as (
    select * from {{ ref('int_asthma_exacerbations') }}
),

events as (
    select patient_key, event_date, 'gp_asthma_visits' as measure, 1 as amount from gp where is_asthma_visit
    union all
    select patient_key, event_date, 'asthma_reviews', 1 from gp where is_asthma_review
    union all
    select patient_key, event_date, 'gp_acute_asthma_visits', 1 from gp where is_acute_asthma_visit
    union all
    select patient_key, appointment_date, 'outpatient_appointments', 1 from op where is_attended
    union all
    select patient_key, appointment_date, 'outpatient_missed_appointments', 1 from op where not is_attended
    union all
    select patient_key, issue_date, 'prescriptions', 1 from rx
    union all
    select patient_key, issue_date, lower(replace(medicine_class, '/', '_')) || '_prescriptions', 1 from rx
    union all
    select patient_key, issue_date, 'saba_canisters', saba_canisters from rx where medicine_class = 'SABA'
    union all
    select patient_key, exacerbation_start_date, 'exacerbations', 1 from exacerbations
    union all
    select patient_key, spell_start_date, 'emergency_admissions', 1
    from spells where admission_method = 'emergency' and is_asthma_spell
    union all
    select patient_key, spell_start_date, 'all_cause_emergency_admissions', 1
    from spells where admission_method = 'emergency'
    union all
    select patient_key, spell_start_date, 'elective_admissions', 1 from spells where admission_method = 'elective'
    union all
    select patient_key, readmission_date, 'readmissions_30d', 1 from readmissions where has_readmission_30d
    union all
    select patient_key, spell_end_date, 'readmission_index_spells', 1 from readmissions where is_index
)

select * from events
