-- Every prescription item, cleaned, with the first reason (if any) it cannot be used.
-- The medicine class comes from the presentation when the seed lists it (ICS/LABA inhalers are
-- filed under their ICS chemical in the BNF), otherwise from the 9-character chemical code.
with

source as (
    {{ numbered_source('asthma_raw', 'prescriptions') }}
),

registered as (
    select
        patient_id,
        date_of_birth,
        death_date
    from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
),

presentations as (
    select * from {{ ref('ref_bnf_asthma_presentations') }}
),

chemicals as (
    select * from {{ ref('ref_bnf_asthma_medicines') }}
),

cleaned as (
    select
        source_row_number,
        identical_rows,
        identical_copy,
        {{ clean_text('prescription_id') }} as prescription_id,
        {{ clean_text('patient_id') }} as patient_id,
        {{ pseudonymise('patient_id') }} as patient_key,
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
        registered.patient_id is not null as is_registered,
        registered.date_of_birth as patient_date_of_birth,
        registered.death_date as patient_death_date,
        count(*) over (partition by cleaned.prescription_id) as rows_with_key
    from cleaned
    left join presentations on cleaned.bnf_code = presentations.bnf_presentation_code
    left join chemicals on cleaned.bnf_chemical_code = chemicals.bnf_chemical_code
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        case
            when prescription_id is null then 'null key: prescription_id'
            {{ duplicate_reason('prescription_id') }}
            when patient_id is null then 'null key: patient_id'
            when issue_date is null then 'missing or unparseable issue_date'
            when issue_date not between date '{{ var("study_start") }}' and date '{{ var("study_end") }}'
                then 'date outside study window: issue_date'
            when medicine_class is null then 'unknown code: bnf_code'
            when quantity is null then 'missing or unparseable quantity'
            when quantity <= 0 then 'negative or zero quantity'
            when {{ plausibility_reason('prescriptions', ['quantity']) }} is not null
                then {{ plausibility_reason('prescriptions', ['quantity']) }}
            when quantity != round(quantity) then 'unparseable quantity: not a whole number'
            when issue_date < patient_date_of_birth
                then 'implausible date: issue_date before the patient''s birth'
            when issue_date > patient_death_date
                then 'implausible date: issue_date after the patient''s death'
            when not is_registered then 'patient not on the clean register'
        end as quarantine_reason
    from checked
)

select * from final
