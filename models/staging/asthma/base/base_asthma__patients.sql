-- Every row of the patients extract, cleaned and cast, with the first reason (if any) it
-- cannot be used. stg_asthma__patients keeps the clean rows; stg_asthma__quarantine the rest.
with

source as (
    {{ numbered_source(asthma_extract('patients'), clean_text('patient_id')) }}
),

ethnicity as (
    select * from {{ ref('ref_ethnicity_groups') }}
),

diagnosis_codes as (
    select * from {{ ref('ref_snomed_asthma_concepts') }}
    where concept_group = 'diagnosis'
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_text('patient_id') }} as patient_id,
        {{ pseudonymise('patient_id') }} as patient_key,
        {{ parse_date('date_of_birth') }} as date_of_birth,
        {{ extract_value('sex', 'sex') }} as sex,
        {{ clean_code('sex') }} as sex_as_recorded,
        -- A blank ethnicity is "not known" (99), not an error.
        coalesce({{ clean_code('ethnic_category') }}, '99') as ethnic_category_code,
        {{ clean_code('lsoa_code') }} as lsoa_code,
        try_cast({{ clean_text('imd_decile') }} as integer) as imd_decile,
        {{ clean_code('practice_code') }} as practice_code,
        {{ parse_date('registration_start_date') }} as registration_start_date,
        {{ parse_date('registration_end_date') }} as registration_end_date,
        {{ parse_date('date_of_death') }} as death_date,
        {{ clean_text('smoking_status') }} as smoking_status,
        try_cast({{ clean_text('bmi') }} as double) as bmi,
        {{ parse_date('asthma_diagnosis_date') }} as asthma_diagnosis_date,
        {{ clean_text('asthma_snomed_code') }} as asthma_snomed_code
    from source
),

checked as (
    select
        cleaned.*,
        ethnicity.ethnic_category_code is not null as is_known_ethnicity,
        diagnosis_codes.snomed_concept_id is not null as is_known_diagnosis,
        {{ age_in_years('cleaned.date_of_birth', age_reference_date(
            "date '" ~ var('study_end') ~ "'", 'cleaned.registration_end_date', 'cleaned.death_date')) }}
            as age_at_study_end
    from cleaned
    left join ethnicity on cleaned.ethnic_category_code = ethnicity.ethnic_category_code
    left join diagnosis_codes on cleaned.asthma_snomed_code = diagnosis_codes.snomed_concept_id
),

bounded as (
    {{ with_plausibility('patients', ['age_at_study_end']) }}
),

final as (
    select
        {{ star_except(['plausibility_reason']) }},
        case
            {{ key_reasons('patient_id') }}
            when date_of_birth is null then 'missing or unparseable date_of_birth'
            when
                date_of_birth > date '{{ var("study_end") }}'
                or date_of_birth > death_date
                or date_of_birth > registration_start_date then 'impossible date: date_of_birth'
            when plausibility_reason is not null then plausibility_reason
            when sex is null then 'unknown code: sex'
            when not is_known_ethnicity then 'unknown code: ethnic_category'
            -- An OMOP source has no IMD decile: deprivation is then "not available" (doc omop_deprivation).
            when {% if not omop_input() %}imd_decile is null or {% endif %}imd_decile not between 1 and 10
                then 'out of range: imd_decile'
            when registration_start_date is null then 'missing or unparseable registration_start_date'
            when registration_end_date < registration_start_date then 'impossible date: registration_end_date'
            when not is_known_diagnosis then 'unknown code: asthma_snomed_code'
        end as quarantine_reason
    from bounded
)

select * from final
