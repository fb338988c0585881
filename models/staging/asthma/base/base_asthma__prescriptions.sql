-- Every prescription item, cleaned, with the first reason (if any) it cannot be used.
-- The medicine class comes from the presentation when the seed lists it (ICS/LABA inhalers are
-- filed under their ICS chemical in the BNF), otherwise from the 9-character chemical code.
with

source as (
    {{ numbered_source(asthma_extract('prescriptions'), clean_text('prescription_id')) }}
),

registered as (
    {{ registered_patients() }}
),

presentations as (
    select * from {{ ref('ref_bnf_asthma_presentations') }}
),

chemicals as (
    select * from {{ ref('ref_bnf_asthma_medicines') }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('prescription_id') }} as prescription_id,
        {{ patient_columns() }},
        {{ parse_date('issue_date') }} as issue_date,
        {{ clean_code('bnf_code') }} as bnf_code,
        left({{ clean_code('bnf_code') }}, 9) as bnf_chemical_code,
        {{ clean_text('medicine') }} as medicine,
        -- Parsed as a number, so 1e12 is an implausible quantity, not an unparseable one.
        try_cast({{ clean_text('quantity') }} as double) as quantity,
        lower({{ clean_text('quantity_unit') }}) as quantity_unit
    from source
),

checked as (
    select
        cleaned.*,
        coalesce(presentations.medicine_class, chemicals.medicine_class) as medicine_class,
        {{ registration_columns() }}
    from cleaned
    left join presentations on cleaned.bnf_code = presentations.bnf_presentation_code
    left join chemicals on cleaned.bnf_chemical_code = chemicals.bnf_chemical_code
    left join registered on cleaned.patient_id = registered.patient_id
),

bounded as (
    {{ with_plausibility('prescriptions', ['quantity']) }}
),

final as (
    select
        {{ star_except(['plausibility_reason']) }},
        {% call patient_event_reason('prescription_id', ['issue_date']) -%}
            when medicine_class is null then 'unknown code: bnf_code'
            when quantity is null then 'missing or unparseable quantity'
            when quantity <= 0 then 'negative or zero quantity'
            when plausibility_reason is not null then plausibility_reason
            when quantity != round(quantity) then 'unparseable quantity: not a whole number'
        {%- endcall %} as quarantine_reason
    from bounded
)

select * from final
