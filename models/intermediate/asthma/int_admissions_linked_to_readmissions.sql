-- 30-day emergency asthma readmissions (DOMAIN.md section 3).
-- Every emergency asthma spell is a candidate index. It is an index when the patient was
-- discharged alive (transfers are already collapsed into the spell) and the discharge is at least
-- 30 days before the end of the data. Its readmission is the next emergency asthma spell
-- starting 0-30 days after the discharge (day 30 counts, day 31 does not). A readmission can
-- itself be an index. Deaths without readmission stay in the denominator.
with

spells as (
    select * from {{ ref('int_asthma_admission_spells') }}
    where admission_method = 'emergency' and is_asthma_spell
),

linked as (
    select
        *,
        lead(spell_id) over patient_order as next_spell_id,
        lead(spell_start_date) over patient_order as next_spell_start_date
    from spells
    window patient_order as (partition by patient_key order by spell_start_date, spell_number)
),

final as (
    select
        spell_id,
        patient_key,
        spell_start_date,
        spell_end_date,
        died_in_spell,
        not died_in_spell
        and spell_end_date <= date '{{ var("study_end") }}' - interval 30 day as is_index,
        next_spell_id,
        date_diff('day', spell_end_date, next_spell_start_date) as days_to_next_emergency_spell,
        coalesce(
            not died_in_spell
            and spell_end_date <= date '{{ var("study_end") }}' - interval 30 day
            and date_diff('day', spell_end_date, next_spell_start_date) between 0 and 30,
            false
        ) as has_readmission_30d,
        case
            when
                not died_in_spell
                and spell_end_date <= date '{{ var("study_end") }}' - interval 30 day
                and date_diff('day', spell_end_date, next_spell_start_date) between 0 and 30
                then next_spell_start_date
        end as readmission_date
    from linked
)

select * from final
