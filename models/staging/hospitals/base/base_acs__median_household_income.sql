-- Every row of the ACS B19013 ZCTA file, cleaned: "-" (not computable) becomes NULL; the
-- top- and bottom-coded "250,000+" and "2,500-" become the bound with a flag. The descriptive
-- second header row of a data.census.gov download is kept out with its own reason.
with

source as (
    select * from {{ source('hospitals_raw', 'acs_median_household_income') }}
),

cleaned as (
    select
        {{ clean_text('"GEO_ID"') }} as geo_id,
        right({{ clean_text('"GEO_ID"') }}, 5) as zcta,
        {{ clean_text('"NAME"') }} as geography_name,
        {{ clean_text('"B19013_001E"') }} as estimate_as_published,
        case
            when {{ clean_text('"B19013_001E"') }} = '-' then null
            when {{ clean_text('"B19013_001E"') }} like '%+' or {{ clean_text('"B19013_001E"') }} like '%-'
                then try_cast(replace(rtrim({{ clean_text('"B19013_001E"') }}, '+-'), ',', '') as integer)
            else try_cast(replace({{ clean_text('"B19013_001E"') }}, ',', '') as integer)
        end as median_household_income,
        {{ clean_text('"B19013_001E"') }} like '%+' as is_top_coded,
        {{ clean_text('"B19013_001E"') }} like '%-' and {{ clean_text('"B19013_001E"') }} != '-' as is_bottom_coded,
        {{ clean_text('"B19013_001E"') }} = '-' as is_not_computable,
        try_cast(replace({{ clean_text('"B19013_001M"') }}, ',', '') as integer) as margin_of_error
    from source
),

checked as (
    select
        *,
        count(*) over (partition by zcta) as rows_with_key
    from cleaned
),

final as (
    select
        *,
        case
            when geo_id = 'Geography' then 'descriptive header row'
            when geo_id is null then 'null key: GEO_ID'
            when not regexp_full_match(zcta, '[0-9]{5}') then 'unparseable: GEO_ID'
            when rows_with_key > 1 then 'duplicate key: GEO_ID'
            when median_household_income is null and not is_not_computable then 'unparseable: B19013_001E'
        end as quarantine_reason
    from checked
)

select * from final
