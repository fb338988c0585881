-- Lexis split of each patient's observation period across the ESP 2013 five-year age bands:
-- one row per patient x age band the patient passed through while observed. A patient who has
-- a birthday that moves them into the next band during follow-up contributes person-time to
-- both bands (Lexis diagram; Carstensen, "Age-period-cohort models for the Lexis diagram",
-- Stat Med 2007). A band starts on the birthday on which the patient reaches its lower age
-- (for a 29 February birth, 28 February in common years) and ends the day before the birthday
-- after its upper age. Person-years = days / 365.25, as in int_asthma_person_time, so the
-- bands of a patient add up to that patient's person_years exactly.
-- The exact date of birth is read from the base table and used only here: it does not leave
-- this model.
with

person_time as (
    select * from {{ ref('int_asthma_person_time') }}
),

births as (
    select
        patient_key,
        date_of_birth
    from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
),

esp as (
    select * from {{ ref('ref_esp2013_weights') }}
),

segments as (
    select
        person_time.patient_key,
        esp.esp_age_band,
        esp.band_order,
        greatest(
            person_time.observation_start_date,
            {{ add_years('births.date_of_birth', 'esp.age_lower') }}
        ) as segment_start_date,
        least(
            person_time.observation_end_date,
            {{ add_days(add_years('births.date_of_birth', 'esp.age_upper + 1'), -1) }}
        ) as segment_end_date
    from person_time
    inner join births on person_time.patient_key = births.patient_key
    cross join esp
),

final as (
    select
        patient_key,
        esp_age_band,
        band_order,
        segment_start_date,
        segment_end_date,
        {{ dbt.datediff('segment_start_date', 'segment_end_date', 'day') | trim }} + 1 as observed_days,
        ({{ dbt.datediff('segment_start_date', 'segment_end_date', 'day') | trim }} + 1)
        / {{ days_per_year() }} as person_years
    from segments
    where segment_end_date >= segment_start_date
)

select * from final
