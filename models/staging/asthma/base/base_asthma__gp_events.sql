-- Every GP event, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    {{ numbered_source(asthma_extract('gp_events'), clean_text('gp_event_id')) }}
),

registered as (
    {{ registered_patients() }}
),

concepts as (
    select * from {{ ref('ref_snomed_asthma_concepts') }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('gp_event_id') }} as gp_event_id,
        {{ patient_columns() }},
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
        {{ registration_columns() }}
    from cleaned
    left join concepts on cleaned.snomed_code = concepts.snomed_concept_id
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        {% call patient_event_reason('gp_event_id', ['event_date']) -%}
            when concept_group is null then 'unknown code: snomed_code'
        {%- endcall %} as quarantine_reason
    from checked
)

select * from final
