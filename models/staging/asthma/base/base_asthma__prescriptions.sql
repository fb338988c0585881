-- Every prescription item, cleaned, with the first reason (if any) it cannot be used.
-- The medicine class comes from the presentation when the seed lists it (ICS/LABA inhalers are
-- filed under their ICS chemical in the BNF), otherwise from the 9-character chemical code.
with

source as (
    select * from {{ source('asthma_raw', 'prescriptions') }}
),

registered as (
    select patient_id from {{ ref('base_asthma__patients') }}
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
        {{ clean_text('prescription_id') }} as prescription_id,
        {{ clean_text('patient_id') }} as patient_id,
        {{ pseudonymise('patient_id') }} as patient_key,
        {{ parse_date('issue_date') }} as issue_date,
        {{ clean_code('bnf_code') }} as bnf_code,
        left({{ clean_code('bnf_code') }}, 9) as bnf_chemical_code,
        {{ clean_text('medicine') }} as medicine,
        try_cast({{ clean_text('quantity') }} as integer) as quantity,
        lower({{ clean_text('quantity_unit') }}) as quantity_unit
    from source
),

checked as (
    select
        cleaned.*,
        coalesce(presentations.medicine_class, chemicals.medicine_class) as medicine_class,
        registered.patient_id is not null as is_registered,
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
            when rows_with_key > 1 then 'duplicate key: prescription_id'
            when patient_id is null then 'null key: patient_id'
            when issue_date is null then 'missing or unparseable issue_date'
            when issue_date not between date '{{ var("study_start") }}' and date '{{ var("study_end") }}'
                then 'date outside study window: issue_date'
            when medicine_class is null then 'unknown code: bnf_code'
            when quantity is null or quantity <= 0 then 'negative or zero quantity'
            when not is_registered then 'patient not on the clean register'
        end as quarantine_reason
    from checked
)

select * from final
