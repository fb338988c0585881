-- depends_on: {{ ref('stg_asthma__extract_guard') }}
-- Clean GP consultations, classed through the SNOMED reference seed.
select
    gp_event_id,
    patient_key,
    practice_code,
    event_date,
    snomed_code,
    concept_group,
    concept_group in ('exacerbation', 'review') as is_asthma_visit,
    concept_group = 'review' as is_asthma_review,
    concept_group = 'exacerbation' as is_acute_asthma_visit
from {{ ref('base_asthma__gp_events') }}
where quarantine_reason is null
