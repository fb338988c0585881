-- The OMOP register in the layout of the patients extract (every column as text, as a file is
-- read), for base_asthma__patients to clean and check as it does the extract. Direct
-- identifiers are not in OMOP: those columns are empty. Deprivation: the patient's area code,
-- with its decile from stg_omop__patient_deprivation (the user's area lookup, or without one the
-- ACS income quintile of a U.S. ZIP; doc omop_deprivation).
with

register as (
    select * from {{ ref('stg_omop__register') }}
),

deprivation as (
    select * from {{ ref('stg_omop__patient_deprivation') }}
),

final as (
    select
        cast(register.person_id as string) as patient_id,
        cast(null as string) as nhs_number,
        cast(null as string) as given_name,
        cast(null as string) as family_name,
        cast(null as string) as address_line_1,
        cast(null as string) as town,
        cast(null as string) as postcode,
        cast(register.date_of_birth as string) as date_of_birth,
        coalesce(register.sex, 'gender concept not mapped') as sex,
        register.ethnic_category_code as ethnic_category,
        register.area_code as lsoa_code,
        cast(deprivation.imd_decile as string) as imd_decile,
        coalesce('CS' || cast(register.care_site_id as string), 'OMOP') as practice_code,
        cast(register.observation_period_start_date as string) as registration_start_date,
        -- Observed beyond the end of the study window is "still registered" (blank), as in the
        -- extract; a period ending on the study end or before is a registration that ended.
        case
            when register.observation_period_end_date <= date '{{ var("study_end") }}'
                then cast(register.observation_period_end_date as string)
        end as registration_end_date,
        cast(register.death_date as string) as date_of_death,
        cast(null as string) as smoking_status,
        cast(null as string) as bmi,
        cast(register.asthma_diagnosis_date as string) as asthma_diagnosis_date,
        register.asthma_snomed_code
    from register
    left join deprivation on register.person_id = deprivation.person_id
)

select * from final
order by patient_id
