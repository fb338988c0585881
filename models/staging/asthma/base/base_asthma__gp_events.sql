-- Every GP event, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    {{ numbered_source('asthma_raw', 'gp_events') }}
),

registered as (
    select
        patient_id,
        date_of_birth,
        death_date
    from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
),

concepts as (
    select * from {{ ref('ref_snomed_asthma_concepts') }}
),

cleaned as (
    select
        source_row_number,
        identical_rows,
        identical_copy,
        {{ clean_text('gp_event_id') }} as gp_event_id,
        {{ clean_text('patient_id') }} as patient_id,
        {{ pseudonymise('patient_id') }} as patient_key,
        {{ clean_code('practice_code') }} as practice_code,
        {{ parse_date('event_date') }} as event_date,
        {{ clean_text('snomed_code') }} as snomed_code,
        {{ clean_text('term') }} as term
    from source
),

checked as (
    select
        cleaned.*,
        concepts.concept_group,
        registered.patient_id is not null as is_registered,
        registered.date_of_birth as patient_date_of_birth,
        registered.death_date as patient_death_date,
        count(*) over (partition by cleaned.gp_event_id) as rows_with_key
    from cleaned
    left join concepts on cleaned.snomed_code = concepts.snomed_concept_id
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        case
            when gp_event_id is null then 'null key: gp_event_id'
            {{ duplicate_reason('gp_event_id') }}
            when patient_id is null then 'null key: patient_id'
            when event_date is null then 'missing or unparseable event_date'
            when event_date not between date '{{ var("study_start") }}' and date '{{ var("study_end") }}'
                then 'date outside study window: event_date'
            when concept_group is null then 'unknown code: snomed_code'
            when event_date < patient_date_of_birth
                then 'implausible date: event_date before the patient''s birth'
            when event_date > patient_death_date
                then 'implausible date: event_date after the patient''s death'
            when not is_registered then 'patient not on the clean register'
        end as quarantine_reason
    from checked
)

select * from final
