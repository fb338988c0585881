-- Every hospital episode, cleaned, with the first reason (if any) it cannot be used.
-- Any well-formed ICD-10 code is accepted (non-asthma admissions are real data); the asthma
-- flag comes from the reference seed.
with

source as (
    {{ numbered_source(asthma_extract('hospital_admissions'), clean_text('admission_id')) }}
),

registered as (
    {{ registered_patients() }}
),

asthma_codes as (
    select * from {{ ref('ref_asthma_icd10_codes') }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('admission_id') }} as admission_id,
        {{ patient_columns() }},
        {{ clean_code('provider_code') }} as provider_code,
        {{ parse_date('admission_date') }} as admission_date,
        {{ parse_date('discharge_date') }} as discharge_date,
        {{ extract_value('admission_method', 'admission_method') }} as admission_method,
        -- HES writes codes without the dot; accept either.
        replace({{ clean_code('primary_diagnosis') }}, '.', '') as primary_diagnosis,
        {{ extract_value('discharge_destination', 'discharge_destination') }} as discharge_destination
    from source
),

checked as (
    select
        cleaned.*,
        -- J46 may arrive as J46 or J46X; the three-character stem decides.
        exists(
            select 1 from asthma_codes
            where
                cleaned.primary_diagnosis = asthma_codes.icd10_code_hes
                or cleaned.primary_diagnosis = replace(asthma_codes.icd10_code, '.', '')
        ) as is_asthma_diagnosis,
        {{ dbt.datediff('cleaned.admission_date', 'cleaned.discharge_date', 'day') | trim }} as length_of_stay_days,
        {{ registration_columns() }}
    from cleaned
    left join registered on cleaned.patient_id = registered.patient_id
),

bounded as (
    {{ with_plausibility('hospital_admissions', ['length_of_stay_days']) }}
),

final as (
    select
        {{ star_except(['plausibility_reason']) }},
        {% call patient_event_reason('admission_id', ['admission_date', 'discharge_date']) -%}
            when discharge_date < admission_date then 'discharge before admission'
            when plausibility_reason is not null then plausibility_reason
            when admission_method is null then 'unknown code: admission_method'
            when not {{ regex_match('primary_diagnosis', '[A-Z][0-9]{2}[0-9X]?[0-9]?') }}
                then 'unknown code: primary_diagnosis'
            when discharge_destination is null then 'unknown code: discharge_destination'
        {%- endcall %} as quarantine_reason
    from bounded
)

select * from final
