-- Every row of the OMOP death table (absent: no rows), cleaned, with the first reason (if any)
-- it cannot be used.
with

source as (
    {{ omop_select('death', {
        'person_id': 'person_id', 'death_date': 'death_date', 'death_datetime': 'death_datetime'}) }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_id('person_id') }} as person_id,
        {{ omop_date('death_date', 'death_datetime') }} as death_date
    from source
),

final as (
    select
        *,
        {{ omop_exclusion_reason('person_id', ['death_date']) }} as exclusion_reason
    from cleaned
)

select * from final
order by omop_row_number
