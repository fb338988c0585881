-- Every row of the OMOP visit_occurrence table, cleaned, with its visit concept set (and so the
-- contract it goes to), its discharge destination, and the first reason (if any) it cannot be
-- used. CDM 5.3 names the admission and discharge columns admitting_source_concept_id and
-- discharge_to_concept_id; 5.4 admitted_from_concept_id and discharged_to_concept_id.
with

source as (
    {{ omop_select('visit_occurrence', {
        'visit_occurrence_id': 'visit_occurrence_id', 'person_id': 'person_id',
        'visit_concept_id': 'visit_concept_id', 'start_date': 'visit_start_date',
        'start_datetime': 'visit_start_datetime', 'end_date': 'visit_end_date', 'end_datetime': 'visit_end_datetime',
        'care_site_id': 'care_site_id',
        'admitted_from_concept_id': ['admitted_from_concept_id', 'admitting_source_concept_id'],
        'discharged_to_concept_id': ['discharged_to_concept_id', 'discharge_to_concept_id']}) }}
),

members as (
    select * from {{ ref('stg_omop__concept_set_members') }}
),

concepts as (
    select * from {{ ref('stg_omop__concepts') }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_ids(['visit_occurrence_id', 'person_id', 'visit_concept_id']) }},
        {{ omop_date('start_date', 'start_datetime') }} as visit_start_date,
        {{ omop_date('end_date', 'end_datetime') }} as visit_end_date,
        {{ omop_ids(['care_site_id', 'admitted_from_concept_id', 'discharged_to_concept_id']) }}
    from source
),

classified as (
    select
        cleaned.*,
        visit_type.concept_set as visit_concept_set,
        case
            when visit_type.concept_set in ('visit_inpatient', 'visit_emergency_admission') then 'hospital_admissions'
            when visit_type.concept_set = 'visit_outpatient' then 'outpatient_appointments'
            when visit_type.concept_set = 'visit_primary_care' then 'gp_events'
        end as staging_contract,
        -- An inpatient visit admitted from an emergency room, or from another hospital, says so.
        case
            when visit_type.concept_set = 'visit_emergency_admission' then 'emergency'
            when admitted_from.concept_set = 'visit_emergency_not_admitted' then 'emergency'
            when admitted_from.concept_set = 'discharge_transfer' then 'transfer'
            else visit_type.maps_to
        end as admission_method,
        case
            when discharged_to.concept_set in ('discharge_home', 'discharge_transfer') then discharged_to.maps_to
            else 'other'
        end as discharged_to,
        concepts.concept_id is not null as is_in_vocabulary
    from cleaned
    left join members as visit_type
        on cleaned.visit_concept_id = visit_type.concept_id and visit_type.concept_set like 'visit\_%' escape '\'
    left join members as admitted_from
        on
            cleaned.admitted_from_concept_id = admitted_from.concept_id
            and admitted_from.concept_set in ('visit_emergency_not_admitted', 'discharge_transfer')
    left join members as discharged_to
        on
            cleaned.discharged_to_concept_id = discharged_to.concept_id
            and discharged_to.concept_set like 'discharge\_%' escape '\'
    left join concepts on cleaned.visit_concept_id = concepts.concept_id
),

final as (
    select
        *,
        {{ omop_exclusion_reason('visit_occurrence_id', ['visit_start_date']) }} as exclusion_reason
    from classified
)

select * from final
order by omop_row_number
