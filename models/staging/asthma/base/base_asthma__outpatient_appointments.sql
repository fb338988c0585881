-- Every outpatient appointment, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    {{ numbered_source(asthma_extract('outpatient_appointments'), clean_text('appointment_id')) }}
),

registered as (
    {{ registered_patients() }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('appointment_id') }} as appointment_id,
        {{ patient_columns() }},
        {{ parse_date('appointment_date') }} as appointment_date,
        {{ clean_text('treatment_specialty_code') }} as treatment_specialty_code,
        {{ clean_text('treatment_specialty') }} as treatment_specialty,
        {{ extract_value('attendance', 'attendance') }} as attendance
    from source
),

checked as (
    select
        cleaned.*,
        {{ registration_columns() }}
    from cleaned
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        {% call patient_event_reason('appointment_id', ['appointment_date']) -%}
            when attendance is null then 'unknown code: attendance'
        {%- endcall %} as quarantine_reason
    from checked
)

select * from final
