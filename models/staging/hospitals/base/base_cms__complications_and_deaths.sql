-- Every row of CMS Complications and Deaths, cleaned, with the first reason (if any) it cannot
-- be used. A suppressed score is NULL, never 0, and score_status says why. The file is optional:
-- absent, this model has no rows. A measure the reference seed does not list (a newer CMS measure
-- such as the hybrid hospital-wide mortality measure) is kept and flagged, not quarantined; only
-- the seed's measures enter a score.
with

source as (
    {{ read_extract('hospitals_raw', 'complications_and_deaths') }}
),

measures as (
    select * from {{ ref('ref_cms_complication_measures') }}
),

hospitals as (
    select facility_id from {{ ref('base_cms__hospitals') }}
    where quarantine_reason is null
),

cleaned as (
    select
        lpad({{ clean_code(adapter.quote('Facility ID')) }}, 6, '0') as facility_id,
        {{ clean_code(adapter.quote('Measure ID')) }} as measure_id,
        {{ header_text('Compared to National') }} as compared_to_national,
        try_cast({{ header_text('Denominator') }} as integer) as denominator,
        try_cast({{ header_text('Score') }} as double) as score,
        try_cast({{ header_text('Lower Estimate') }} as double) as lower_estimate,
        try_cast({{ header_text('Higher Estimate') }} as double) as higher_estimate,
        {{ header_text('Footnote') }} as footnote,
        {{ parse_us_date(adapter.quote('Start Date')) }} as start_date,
        {{ parse_us_date(adapter.quote('End Date')) }} as end_date,
        case
            when try_cast({{ header_text('Score') }} as double) is not null then 'reported'
            when {{ header_text('Compared to National') }} = 'Number of Cases Too Small'
                then 'Number of Cases Too Small'
            else coalesce({{ header_text('Score') }}, 'blank')
        end as score_status,
        {{ identical_row_counts('source') }}
    from source
),

checked as (
    select
        cleaned.*,
        measures.measure_id is not null as is_known_measure,
        hospitals.facility_id is not null as is_known_hospital,
        count(*) over (partition by cleaned.facility_id, cleaned.measure_id) as rows_with_key
    from cleaned
    left join measures on cleaned.measure_id = measures.measure_id
    left join hospitals on cleaned.facility_id = hospitals.facility_id
),

final as (
    select
        *,
        case
            {{ unique_key_reasons({'facility_id': 'Facility ID', 'measure_id': 'Measure ID'}) }}
            when not is_known_hospital then 'hospital not in the clean general information file'
        end as quarantine_reason
    from checked
)

select * from final
