-- Every outpatient appointment, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    {{ numbered_source('asthma_raw', 'outpatient_appointments') }}
),

registered as (
    select
        patient_id,
        date_of_birth,
        death_date
    from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
),

cleaned as (
    select
        source_row_number,
        identical_rows,
        identical_copy,
        {{ clean_text('appointment_id') }} as appointment_id,
        {{ clean_text('patient_id') }} as patient_id,
        {{ pseudonymise('patient_id') }} as patient_key,
        {{ parse_date('appointment_date') }} as appointment_date,
        {{ clean_text('treatment_specialty_code') }} as treatment_specialty_code,
        {{ clean_text('treatment_specialty') }} as treatment_specialty,
        {{ extract_value('attendance', 'attendance') }} as attendance
    from source
),

checked as (
    select
        cleaned.*,
        registered.patient_id is not null as is_registered,
        registered.date_of_birth as patient_date_of_birth,
        registered.death_date as patient_death_date,
        count(*) over (partition by cleaned.appointment_id) as rows_with_key
    from cleaned
    left join registered on cleaned.patient_id = registered.patient_id
),

final as (
    select
        *,
        case
            when appointment_id is null then 'null key: appointment_id'
            {{ duplicate_reason('appointment_id') }}
            when patient_id is null then 'null key: patient_id'
            when appointment_date is null then 'missing or unparseable appointment_date'
            when appointment_date not between date '{{ var("study_start") }}' and date '{{ var("study_end") }}'
                then 'date outside study window: appointment_date'
            when attendance is null then 'unknown code: attendance'
            when appointment_date < patient_date_of_birth
                then 'implausible date: appointment_date before the patient''s birth'
            when appointment_date > patient_death_date
                then 'implausible date: appointment_date after the patient''s death'
            when not is_registered then 'patient not on the clean register'
        end as quarantine_reason
    from checked
)

select * from final
