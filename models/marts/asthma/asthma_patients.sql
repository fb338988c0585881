-- Patient-grain asthma mart, the one patient table every model reads: one row per clean
-- register patient with demographics as bands, person-time and every utilisation and outcome
-- count (a BIGINT, the mart's contract) in the baseline (two years) and follow-up (one year)
-- windows. Every patient is kept; a patient with no events has zeros. Events count only inside
-- the patient's own observation period. No direct identifiers. followup_start_date dates each
-- patient's follow-up counts for the dbt semantic layer.
{% set measures = [
    'gp_asthma_visits', 'asthma_reviews', 'gp_acute_asthma_visits', 'outpatient_appointments',
    'outpatient_missed_appointments', 'prescriptions', 'saba_prescriptions', 'ics_prescriptions',
    'ics_laba_prescriptions', 'ltra_prescriptions', 'ocs_prescriptions', 'saba_canisters',
    'exacerbations', 'emergency_admissions', 'all_cause_emergency_admissions', 'elective_admissions',
    'readmission_index_spells', 'readmissions_30d',
] %}
with

patients as (
    select * from {{ ref('stg_asthma__patients') }}
),

person_time as (
    select * from {{ ref('int_asthma_person_time') }}
),

events as (
    select * from {{ ref('int_asthma_patient_events') }}
),

windowed as (
    select
        events.patient_key,
        events.measure,
        events.amount,
        case
            when events.event_date < date '{{ var("followup_start") }}' then 'baseline'
            else 'followup'
        end as study_window
    from events
    inner join person_time
        on
            events.patient_key = person_time.patient_key
            and events.event_date between person_time.observation_start_date and person_time.observation_end_date
),

counts as (
    select
        patient_key,
        {% for m in measures %}
            {%- for study_window in ['baseline', 'followup'] %}
                cast(sum(amount) filter (where study_window = '{{ study_window }}' and measure = '{{ m }}') as bigint)
                    as {{ study_window }}_{{ m }}{% if not loop.last %},{% endif %}
            {%- endfor %}{% if not loop.last %},{% endif %}
        {% endfor %}
    from windowed
    group by patient_key
),

joined as (
    select
        patients.patient_key,
        patients.age_band,
        patients.esp_age_band,
        patients.sex,
        patients.ethnicity_group,
        patients.imd_quintile,
        patients.practice_code,
        patients.smoking_status,
        case
            when patients.bmi is null then 'Not recorded'
            when patients.bmi < 18.5 then 'Underweight'
            when patients.bmi < 25 then 'Healthy weight'
            when patients.bmi < 30 then 'Overweight'
            else 'Obese'
        end as bmi_band,
        person_time.died_in_study,
        person_time.left_in_study,
        person_time.baseline_person_years,
        person_time.followup_person_years,
        person_time.person_years,
        {% for m in measures %}
            coalesce(counts.baseline_{{ m }}, 0) as baseline_{{ m }},
            coalesce(counts.followup_{{ m }}, 0) as followup_{{ m }},
        {% endfor %}
        person_time.followup_person_years >= {{ var('saba_min_followup_years') }} as is_saba_assessable
    from patients
    inner join person_time on patients.patient_key = person_time.patient_key
    left join counts on patients.patient_key = counts.patient_key
),

final as (
    select
        *,
        -- SABA over-reliance (SABINA; NRAD): canisters per year in follow-up, judged only for
        -- patients observed for at least var saba_min_followup_years (half) of the follow-up year.
        -- The thresholds are in the column names: >= 3 (SABINA), >= 6 and > 12 (NRAD) a year.
        case when is_saba_assessable then followup_saba_canisters / followup_person_years end
            as followup_saba_canisters_per_year,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years >= 3 end
            as is_saba_over_reliant_3,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years >= 6 end
            as is_saba_over_reliant_6,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years > 12 end
            as is_saba_over_reliant_12,
        cast('{{ var("followup_start") }}' as date) as followup_start_date
    from joined
)

select * from final
