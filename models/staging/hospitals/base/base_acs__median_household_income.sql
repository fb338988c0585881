-- Every row of the ACS B19013 ZCTA file, cleaned: "-" (not computable) becomes NULL; the
-- top- and bottom-coded "250,000+" and "2,500-" become the bound with a flag. The descriptive
-- second header row of a data.census.gov download is kept out with its own reason.
{#- The two columns read most often, cleaned. -#}
{% set geo_id = header_text('GEO_ID') %}
{% set estimate = header_text('B19013_001E') %}
with

source as (
    select * from {{ source('hospitals_raw', 'acs_median_household_income') }}
),

cleaned as (
    select
        {{ geo_id }} as geo_id,
        right({{ geo_id }}, 5) as zcta,
        {{ header_text('NAME') }} as geography_name,
        {{ estimate }} as estimate_as_published,
        case
            when {{ estimate }} = '-' then null
            when {{ estimate }} like '%+' or {{ estimate }} like '%-'
                then try_cast(replace(regexp_replace({{ estimate }}, '[+-]+$', ''), ',', '') as integer)
            else try_cast(replace({{ estimate }}, ',', '') as integer)
        end as median_household_income,
        {{ estimate }} like '%+' as is_top_coded,
        {{ estimate }} like '%-' and {{ estimate }} != '-' as is_bottom_coded,
        {{ estimate }} = '-' as is_not_computable,
        try_cast(replace({{ header_text('B19013_001M') }}, ',', '') as integer) as margin_of_error,
        {{ identical_row_counts('source') }}
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
            when not {{ regex_match('zcta', '[0-9]{5}') }} then 'unparseable: GEO_ID'
            {{ duplicate_reason('GEO_ID') }}
            when median_household_income is null and not is_not_computable then 'unparseable: B19013_001E'
        end as quarantine_reason
    from checked
)

select * from final
