-- The asthma register of the OMOP input, one row per person on it: a usable person with at least
-- one asthma condition (concept sets asthma_condition or asthma_exacerbation) starting inside one
-- of their observation periods. Their registration is the latest such period; their diagnosis
-- date the first asthma condition on record; their death and area from death and location.
with

persons as (
    select * from {{ ref('base_omop__persons') }}
    where exclusion_reason is null
),

periods as (
    select * from {{ ref('base_omop__observation_periods') }}
    where exclusion_reason is null
),

asthma_conditions as (
    select * from {{ ref('base_omop__conditions') }}
    where exclusion_reason is null and concept_set is not null
),

deaths as (
    select * from {{ ref('base_omop__deaths') }}
    where exclusion_reason is null
),

locations as (
    select * from {{ ref('base_omop__locations') }}
    where exclusion_reason is null
),

periods_with_asthma as (
    select periods.*
    from periods
    where exists (
        select 1
        from asthma_conditions
        where
            asthma_conditions.person_id = periods.person_id
            and asthma_conditions.condition_start_date
            between periods.observation_period_start_date and periods.observation_period_end_date
    )
),

registration as (
    select * from periods_with_asthma
    qualify row_number() over (
        partition by person_id
        order by observation_period_end_date desc, observation_period_start_date desc, omop_row_number asc
    ) = 1
),

diagnosis as (
    select
        person_id,
        min(condition_start_date) as asthma_diagnosis_date,
        -- The diagnosis code: the SNOMED code of the asthma_condition set (an exacerbation of
        -- asthma implies asthma, so a person with exacerbations only is on the register too).
        coalesce(min(snomed_code) filter (where concept_set = 'asthma_condition'), '195967001') as asthma_snomed_code
    from asthma_conditions
    group by person_id
),

final as (
    select
        persons.person_id,
        persons.omop_row_number as person_row_number,
        persons.date_of_birth,
        persons.sex,
        persons.ethnic_category_code,
        persons.care_site_id,
        persons.location_id,
        locations.area_code,
        registration.observation_period_id,
        registration.omop_row_number as observation_period_row_number,
        registration.observation_period_start_date,
        registration.observation_period_end_date,
        diagnosis.asthma_diagnosis_date,
        diagnosis.asthma_snomed_code,
        deaths.death_date
    from persons
    inner join registration on persons.person_id = registration.person_id
    inner join diagnosis on persons.person_id = diagnosis.person_id
    left join deaths on persons.person_id = deaths.person_id
    left join locations on persons.location_id = locations.location_id
)

select * from final
order by person_id
