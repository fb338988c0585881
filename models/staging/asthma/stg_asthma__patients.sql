-- depends_on: {{ ref('stg_asthma__extract_guard') }}
-- Clean register patients. Direct identifiers (name, address, postcode, NHS number, exact date
-- of birth) end here: only the salted patient_key, ages and bands go on.
with

patients as (
    select * from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
),

ethnicity as (
    select * from {{ ref('ref_ethnicity_groups') }}
),

imd as (
    select * from {{ ref('ref_imd_quintiles') }}
),

esp_bands as (
    select * from {{ ref('ref_esp2013_weights') }}
),

analysis_bands as (
    select * from {{ ref('ref_analysis_age_bands') }}
),

aged as (
    select
        *,
        -- Complete years on the follow-up start (the age the analysis bands use throughout).
        greatest({{ complete_years('date_of_birth', age_reference_date(
            "date '" ~ var('followup_start') ~ "'", 'registration_end_date', 'death_date')) }}, 0)
            as age_at_followup_start
    from patients
),

final as (
    select
        aged.patient_key,
        aged.sex,
        aged.ethnic_category_code,
        ethnicity.ethnicity_group,
        aged.lsoa_code,
        aged.imd_decile,
        imd.imd_quintile,
        {% if omop_input() -%}
            -- An OMOP patient whose area has no deprivation says so (doc omop_deprivation).
            coalesce(imd.imd_quintile_label, {{ sql_string(omop_no_deprivation_group()) }}) as imd_quintile_label,
        {%- else -%}
            imd.imd_quintile_label,
        {%- endif %}
        -- What imd_quintile measures, one label per build (doc omop_deprivation); asthma_patients
        -- gives an OMOP patient without a quintile the reason from stg_omop__patient_deprivation.
        case
            when imd.imd_quintile is not null then {{ sql_string(deprivation_measure()) }}
            else {{ sql_string(omop_no_deprivation_group()) }}
        end as deprivation_measure,
        aged.practice_code,
        aged.age_at_followup_start,
        esp_bands.esp_age_band,
        analysis_bands.age_band,
        aged.registration_start_date,
        aged.registration_end_date,
        aged.death_date,
        aged.smoking_status,
        aged.bmi,
        aged.asthma_diagnosis_date,
        aged.asthma_snomed_code
    from aged
    inner join ethnicity on aged.ethnic_category_code = ethnicity.ethnic_category_code
    {{ 'left' if omop_input() else 'inner' }} join imd
        on aged.imd_decile between imd.imd_decile_lower and imd.imd_decile_upper
    inner join esp_bands on aged.age_at_followup_start between esp_bands.age_lower and esp_bands.age_upper
    inner join analysis_bands
        on aged.age_at_followup_start between analysis_bands.age_lower and analysis_bands.age_upper
)

select * from final
