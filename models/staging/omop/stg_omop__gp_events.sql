-- Primary-care consultations of the OMOP input in the layout of the gp_events extract: each
-- primary-care visit (its code: an asthma exacerbation when one is recorded on it, otherwise a
-- generic consultation), and each asthma exacerbation recorded outside a primary-care visit or
-- an admission (an acute asthma consultation). Exactly the rows stg_omop__row_outcomes marks
-- as used for gp_events.
with

visits as (
    {{ omop_rows_with_outcome('base_omop__visits', 'visit_occurrence', 'used: gp_events') }}
),

conditions as (
    {{ omop_rows_with_outcome('base_omop__conditions', 'condition_occurrence', [
        'used: gp_events (code of the consultation)', 'used: gp_events (acute asthma consultation)']) }}
),

snomed as (
    select * from {{ ref('ref_snomed_asthma_concepts') }}
),

visit_events as (
    select
        'V' || cast(visits.visit_occurrence_id as string) as gp_event_id,
        visits.person_id,
        visits.care_site_id,
        visits.visit_start_date as event_date,
        coalesce(
            (
                select min(conditions.snomed_code)
                from conditions
                where
                    conditions.visit_occurrence_id = visits.visit_occurrence_id
                    and conditions.outcome = 'used: gp_events (code of the consultation)'
            ),
            '185345009'
        ) as snomed_code
    from visits
),

condition_events as (
    select
        'C' || cast(condition_occurrence_id as string) as gp_event_id,
        person_id,
        cast(null as bigint) as care_site_id,
        condition_start_date as event_date,
        snomed_code
    from conditions
    where outcome = 'used: gp_events (acute asthma consultation)'
),

events as (
    select * from visit_events
    union all
    select * from condition_events
),

final as (
    select
        events.gp_event_id,
        cast(events.person_id as string) as patient_id,
        coalesce('CS' || cast(events.care_site_id as string), 'OMOP') as practice_code,
        cast(events.event_date as string) as event_date,
        events.snomed_code,
        snomed.term
    from events
    left join snomed on events.snomed_code = snomed.snomed_concept_id
)

select * from final
order by gp_event_id
