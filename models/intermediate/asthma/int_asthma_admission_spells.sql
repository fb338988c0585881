-- Hospital spells: consecutive episodes joined by a transfer collapse into one spell. An episode
-- continues the previous spell when it is a transfer in (or the previous episode ended in a
-- transfer out) and it starts on the day of, or the day after, the previous discharge.
-- The spell takes its admission method and diagnosis from its first episode and its discharge
-- date and destination from its last. is_emergency_asthma_spell is the one definition of an
-- emergency asthma admission (emergency method, asthma diagnosis) that readmissions,
-- exacerbations and the patient counts all read.
with

episodes as (
    select * from {{ ref('stg_asthma__hospital_admissions') }}
),

ordered as (
    select
        *,
        lag(discharge_date) over patient_order as previous_discharge_date,
        lag(discharge_destination) over patient_order as previous_destination,
        -- Positions that break ties between episodes on one date, so the first and last
        -- episode of a spell are the same on every engine.
        row_number() over patient_order as episode_order,
        row_number() over (partition by patient_key order by discharge_date, admission_date, admission_id)
            as discharge_order
    from episodes
    window patient_order as (partition by patient_key order by admission_date, discharge_date, admission_id)
),

flagged as (
    select
        *,
        case
            when
                (admission_method = 'transfer' or previous_destination = 'transfer')
                and admission_date between previous_discharge_date and {{ add_days('previous_discharge_date', 1) }}
                then 0
            else 1
        end as starts_spell
    from ordered
),

numbered as (
    select
        *,
        sum(starts_spell) over (
            partition by patient_key order by admission_date, discharge_date, admission_id
            rows between unbounded preceding and current row
        ) as spell_number
    from flagged
),

spells as (
    select
        patient_key || '-' || spell_number as spell_id,
        patient_key,
        spell_number,
        min(admission_date) as spell_start_date,
        max(discharge_date) as spell_end_date,
        min_by(admission_method, episode_order) as admission_method,
        min_by(primary_diagnosis, episode_order) as primary_diagnosis,
        min_by(is_asthma_diagnosis, episode_order) as is_asthma_spell,
        max_by(discharge_destination, discharge_order) as discharge_destination,
        max_by(discharge_destination, discharge_order) = 'died' as died_in_spell,
        count(*) as episodes,
        min(admission_id) as first_admission_id
    from numbered
    group by patient_key, spell_number
),

final as (
    select
        *,
        admission_method = 'emergency' and is_asthma_spell as is_emergency_asthma_spell
    from spells
)

select * from final
