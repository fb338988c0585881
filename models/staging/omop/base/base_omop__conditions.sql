-- Every row of the OMOP condition_occurrence table, cleaned, with the asthma concept set it
-- falls in (if any) and the first reason (if any) it cannot be used.
with

source as (
    {{ omop_select('condition_occurrence', {
        'condition_occurrence_id': 'condition_occurrence_id', 'person_id': 'person_id',
        'condition_concept_id': 'condition_concept_id', 'start_date': 'condition_start_date',
        'start_datetime': 'condition_start_datetime', 'visit_occurrence_id': 'visit_occurrence_id'}) }}
),

members as (
    -- An exacerbation concept is an asthma concept too; the more specific set wins.
    select
        concept_id,
        max_by(concept_set, concept_set = 'asthma_exacerbation') as concept_set,
        max_by(maps_to, concept_set = 'asthma_exacerbation') as snomed_code
    from {{ ref('stg_omop__concept_set_members') }}
    where concept_set in ('asthma_condition', 'asthma_exacerbation')
    group by concept_id
),

concepts as (
    select * from {{ ref('stg_omop__concepts') }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_ids(['condition_occurrence_id', 'person_id', 'condition_concept_id']) }},
        {{ omop_date('start_date', 'start_datetime') }} as condition_start_date,
        {{ omop_id('visit_occurrence_id') }} as visit_occurrence_id
    from source
),

classified as (
    select
        cleaned.*,
        members.concept_set,
        members.snomed_code,
        concepts.concept_id is not null as is_in_vocabulary
    from cleaned
    left join members on cleaned.condition_concept_id = members.concept_id
    left join concepts on cleaned.condition_concept_id = concepts.concept_id
),

final as (
    select
        *,
        {{ omop_exclusion_reason('condition_occurrence_id', ['condition_start_date']) }} as exclusion_reason
    from classified
)

select * from final
order by omop_row_number
