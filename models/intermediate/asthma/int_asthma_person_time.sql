-- Person-time of each register patient in the baseline and follow-up windows.
-- Observation starts at the later of registration and the study start, and ends (inclusive) at
-- the earliest of leaving the practice, death and the study end; each window's person-years are
-- the days of overlap / 365.25.
with

patients as (
    select * from {{ ref('stg_asthma__patients') }}
),

bounds as (
    select
        patient_key,
        greatest(registration_start_date, date '{{ var("study_start") }}') as observation_start_date,
        least(
            coalesce(registration_end_date, date '{{ var("study_end") }}'),
            coalesce(death_date, date '{{ var("study_end") }}'),
            date '{{ var("study_end") }}'
        ) as observation_end_date,
        death_date is not null and death_date <= date '{{ var("study_end") }}' as died_in_study,
        registration_end_date is not null and registration_end_date <= date '{{ var("study_end") }}' as left_in_study
    from patients
),

windows as (
    select
        *,
        -- Inclusive overlap in days, floored at zero.
        greatest(
            0,
            {{ dbt.datediff(
                "greatest(observation_start_date, date '" ~ var('study_start') ~ "')",
                "least(observation_end_date, " ~ add_days("date '" ~ var('followup_start') ~ "'", -1) ~ ")",
                'day',
            ) }} + 1
        ) as baseline_days,
        greatest(
            0,
            {{ dbt.datediff(
                "greatest(observation_start_date, date '" ~ var('followup_start') ~ "')",
                "least(observation_end_date, date '" ~ var('study_end') ~ "')",
                'day',
            ) }} + 1
        ) as followup_days
    from bounds
),

final as (
    select
        patient_key,
        observation_start_date,
        observation_end_date,
        died_in_study,
        left_in_study,
        baseline_days,
        followup_days,
        baseline_days / {{ days_per_year() }} as baseline_person_years,
        followup_days / {{ days_per_year() }} as followup_person_years,
        (baseline_days + followup_days) / {{ days_per_year() }} as person_years
    from windows
)

select * from final
