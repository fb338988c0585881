-- 30-day emergency asthma readmissions, counted as a proportion of index discharges.
-- Every emergency asthma spell discharged inside the patient's own observation period is a
-- candidate index. It is an index when the patient was discharged alive (transfers are already
-- collapsed into the spell) and either stayed under observation for at least 30 days after the
-- discharge (their own end of observation: leaving the register, death or the study end) or
-- died within those 30 days (a death is an outcome, not a loss to follow-up: it stays in the
-- denominator). A discharge followed by fewer than 30 days of observation that did not end in
-- death is censored: we cannot know whether a readmission happened, so it is not an index.
-- Its readmission is the next emergency asthma spell starting 0-30 days after the discharge
-- (day 30 counts, day 31 does not). A readmission can itself be an index.
-- (Emergency readmissions within 30 days of discharge: NHS Digital indicator I02040 / CMS HWR.)
-- The window is stated once, here: it is part of the indicator's definition and of the column
-- names downstream (*_30d), so it is not a var.
{% set window_days = 30 -%}
with

spells as (
    select * from {{ ref('int_asthma_admission_spells') }}
    where is_emergency_asthma_spell
),

person_time as (
    select * from {{ ref('int_asthma_person_time') }}
),

patients as (
    select * from {{ ref('stg_asthma__patients') }}
),

linked as (
    select
        *,
        lead(spell_id) over patient_order as next_spell_id,
        lead(spell_start_date) over patient_order as next_spell_start_date
    from spells
    window patient_order as (partition by patient_key order by spell_start_date, spell_number)
),

observed as (
    select
        linked.*,
        person_time.observation_start_date,
        person_time.observation_end_date,
        linked.spell_end_date between person_time.observation_start_date and person_time.observation_end_date
            as is_discharged_under_observation,
        {{ dbt.datediff('linked.spell_end_date', 'person_time.observation_end_date', 'day') | trim }}
            as days_observed_after_discharge,
        coalesce(
            patients.death_date = person_time.observation_end_date
            and patients.death_date > linked.spell_end_date
            and {{ dbt.datediff('linked.spell_end_date', 'patients.death_date', 'day') | trim }} <= {{ window_days }},
            false
        ) as died_within_30d
    from linked
    left join person_time on linked.patient_key = person_time.patient_key
    left join patients on linked.patient_key = patients.patient_key
),

classified as (
    select
        *,
        case
            when died_in_spell then 'died in the spell'
            when not coalesce(is_discharged_under_observation, false) then 'discharged outside observation'
            when days_observed_after_discharge >= {{ window_days }} then null
            when died_within_30d then null
            else 'censored: fewer than {{ window_days }} days observed after discharge'
        end as index_exclusion_reason,
        {{ dbt.datediff('spell_end_date', 'next_spell_start_date', 'day') | trim }} as days_to_next_emergency_spell
    from observed
),

-- The readmission rule, once: an index whose next emergency asthma spell starts 0-30 days
-- after its discharge.
linked_readmissions as (
    select
        *,
        coalesce(index_exclusion_reason is null and days_to_next_emergency_spell between 0 and {{ window_days }}, false)
            as has_readmission_30d
    from classified
),

final as (
    select
        spell_id,
        patient_key,
        spell_start_date,
        spell_end_date,
        died_in_spell,
        observation_end_date,
        days_observed_after_discharge,
        died_within_30d,
        index_exclusion_reason is null as is_index,
        index_exclusion_reason,
        next_spell_id,
        days_to_next_emergency_spell,
        has_readmission_30d,
        case when has_readmission_30d then next_spell_start_date end as readmission_date
    from linked_readmissions
)

select * from final
