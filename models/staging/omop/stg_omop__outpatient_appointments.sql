-- Outpatient visits of the OMOP input in the layout of the outpatient_appointments extract. A
-- visit in OMOP is one that took place, so every appointment is Attended; OMOP records no
-- treatment specialty on the visit, so those columns are empty.
with

visits as (
    {{ omop_rows_with_outcome('base_omop__visits', 'visit_occurrence', 'used: outpatient_appointments') }}
),

final as (
    select
        cast(visit_occurrence_id as string) as appointment_id,
        cast(person_id as string) as patient_id,
        cast(visit_start_date as string) as appointment_date,
        cast(null as string) as treatment_specialty_code,
        cast(null as string) as treatment_specialty,
        'Attended' as attendance
    from visits
)

select * from final
order by appointment_id
