-- Every row of the OMOP location table (absent: no rows), cleaned, with its area code: the ZIP
-- (its first five digits, a US ZCTA) when recorded, else the location_source_value (where a UK
-- source keeps an LSOA), else none.
with

source as (
    {{ omop_select('location', {
        'location_id': 'location_id', 'zip': 'zip', 'location_source_value': 'location_source_value'}) }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_id('location_id') }} as location_id,
        coalesce(
            case when {{ regex_match('zip', '[0-9]{5}([- ]?[0-9]{4})?') }} then left(zip, 5) end,
            upper(location_source_value)
        ) as area_code,
        zip is not null as has_zip
    from source
),

final as (
    select
        *,
        {{ omop_exclusion_reason('location_id', has_person=false) }} as exclusion_reason
    from cleaned
)

select * from final
order by omop_row_number
