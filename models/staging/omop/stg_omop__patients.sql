-- The OMOP register in the layout of the patients extract (every column as text, as a file is
-- read), for base_asthma__patients to clean and check as it does the extract. Direct
-- identifiers are not in OMOP: those columns are empty. Deprivation: the patient's area code
-- (location ZIP) is carried; no IMD decile is (doc omop_deprivation).
with

register as (
    select * from {{ ref('stg_omop__register') }}
),

final as (
    select
        cast(person_id as string) as patient_id,
        cast(null as string) as nhs_number,
        cast(null as string) as given_name,
        cast(null as string) as family_name,
        cast(null as string) as address_line_1,
        cast(null as string) as town,
        cast(null as string) as postcode,
        cast(date_of_birth as string) as date_of_birth,
        coalesce(sex, 'gender concept not mapped') as sex,
        ethnic_category_code as ethnic_category,
        area_code as lsoa_code,
        cast(null as string) as imd_decile,
        coalesce('CS' || cast(care_site_id as string), 'OMOP') as practice_code,
        cast(observation_period_start_date as string) as registration_start_date,
        -- Observed to the end of the study window or beyond is "still registered" (blank), as
        -- in the extract.
        case
            when observation_period_end_date < date '{{ var("study_end") }}'
                then cast(observation_period_end_date as string)
        end as registration_end_date,
        cast(death_date as string) as date_of_death,
        cast(null as string) as smoking_status,
        cast(null as string) as bmi,
        cast(asthma_diagnosis_date as string) as asthma_diagnosis_date,
        asthma_snomed_code
    from register
)

select * from final
order by patient_id
