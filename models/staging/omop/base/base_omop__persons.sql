-- Every row of the OMOP person table, cleaned, with its sex and ethnic category mapped through
-- ref_omop_demographics and the first reason (if any) it cannot be used as a person.
with

source as (
    {{ omop_select('person', {
        'person_id': 'person_id', 'gender_concept_id': 'gender_concept_id', 'year_of_birth': 'year_of_birth',
        'month_of_birth': 'month_of_birth', 'day_of_birth': 'day_of_birth', 'birth_datetime': 'birth_datetime',
        'race_concept_id': 'race_concept_id', 'ethnicity_concept_id': 'ethnicity_concept_id',
        'location_id': 'location_id', 'care_site_id': 'care_site_id'}) }}
),

demographics as (
    select * from {{ ref('ref_omop_demographics') }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_ids([
            'person_id', 'gender_concept_id', 'race_concept_id', 'ethnicity_concept_id', 'location_id', 'care_site_id',
        ]) }},
        -- birth_datetime when recorded; else the year, with a missing month taken as July and a
        -- missing day as the 15th (the middle of what is known).
        coalesce(
            {{ try_iso_date('left(birth_datetime, 10)') }},
            try_cast(
                make_date(
                    try_cast(year_of_birth as integer),
                    coalesce(try_cast(month_of_birth as integer), 7),
                    coalesce(try_cast(day_of_birth as integer), 15)
                ) as date
            )
        ) as date_of_birth
    from source
),

mapped as (
    select
        cleaned.*,
        gender.maps_to as sex,
        coalesce(race.maps_to, ethnicity.maps_to, '99') as ethnic_category_code
    from cleaned
    left join demographics as gender
        on gender.field = 'gender' and cleaned.gender_concept_id = gender.concept_id
    left join demographics as race
        on race.field = 'race' and cleaned.race_concept_id = race.concept_id
    left join demographics as ethnicity
        on ethnicity.field = 'ethnicity' and cleaned.ethnicity_concept_id = ethnicity.concept_id
),

final as (
    select
        *,
        {{ omop_exclusion_reason('person_id') }} as exclusion_reason
    from mapped
)

select * from final
order by omop_row_number
