-- Severe asthma exacerbations (doc block asthma_exacerbation: an acute OCS course or an asthma emergency
-- admission). Qualifying events of a patient merge into one exacerbation when each follows the
-- previous one within var exacerbation_merge_days (14) days; an event later than that after the
-- previous one starts a new exacerbation, dated by its first event.
with

ocs_courses as (
    select
        patient_key,
        issue_date as event_date,
        'ocs_course' as event_type
    from {{ ref('stg_asthma__prescriptions') }}
    where medicine_class = 'OCS'
),

emergency_admissions as (
    select
        patient_key,
        spell_start_date as event_date,
        'emergency_admission' as event_type
    from {{ ref('int_asthma_admission_spells') }}
    where is_emergency_asthma_spell
),

events as (
    select * from ocs_courses
    union all
    select * from emergency_admissions
),

flagged as (
    select
        *,
        case
            when
                {{ dbt.datediff('(lag(event_date) over patient_order)', 'event_date', 'day') | trim }}
                <= {{ var('exacerbation_merge_days') }}
                then 0
            else 1
        end as starts_exacerbation
    from events
    window patient_order as (partition by patient_key order by event_date, event_type)
),

numbered as (
    select
        *,
        sum(starts_exacerbation) over (
            partition by patient_key order by event_date, event_type
            rows between unbounded preceding and current row
        ) as exacerbation_number
    from flagged
),

final as (
    select
        patient_key || '-' || exacerbation_number as exacerbation_id,
        patient_key,
        exacerbation_number,
        min(event_date) as exacerbation_start_date,
        max(event_date) as exacerbation_last_event_date,
        count(*) filter (where event_type = 'ocs_course') as ocs_courses,
        count(*) filter (where event_type = 'emergency_admission') as emergency_admissions,
        count(*) as qualifying_events
    from numbered
    group by patient_key, exacerbation_number
)

select * from final
