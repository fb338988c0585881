-- Inpatient visits of the OMOP input in the layout of the hospital_admissions extract. OMOP
-- marks no primary diagnosis reliably, so an admission is an asthma admission when an asthma
-- condition is recorded on the visit (J459, asthma unspecified); otherwise R69 (not asthma: the
-- marts read only whether it is asthma). The discharge destination is "died" when the patient's
-- death falls within the visit, else from the discharge concept (doc omop_mapping).
with

visits as (
    {{ omop_rows_with_outcome('base_omop__visits', 'visit_occurrence', 'used: hospital_admissions') }}
),

asthma_conditions as (
    {{ omop_rows_with_outcome('base_omop__conditions', 'condition_occurrence',
        'used: hospital_admissions (asthma diagnosis)') }}
),

asthma_visits as (
    select distinct visit_occurrence_id from asthma_conditions
),

register as (
    select * from {{ ref('stg_omop__register') }}
),

final as (
    select
        cast(visits.visit_occurrence_id as string) as admission_id,
        cast(visits.person_id as string) as patient_id,
        coalesce('CS' || cast(visits.care_site_id as string), 'OMOP') as provider_code,
        cast(visits.visit_start_date as string) as admission_date,
        cast(coalesce(visits.visit_end_date, visits.visit_start_date) as string) as discharge_date,
        visits.admission_method,
        case when asthma_visits.visit_occurrence_id is not null then 'J459' else 'R69' end as primary_diagnosis,
        case
            when
                register.death_date
                between visits.visit_start_date and coalesce(visits.visit_end_date, visits.visit_start_date)
                then 'died'
            else visits.discharged_to
        end as discharge_destination
    from visits
    left join asthma_visits on visits.visit_occurrence_id = asthma_visits.visit_occurrence_id
    left join register on visits.person_id = register.person_id
)

select * from final
order by admission_id
