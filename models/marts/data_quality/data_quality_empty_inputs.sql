-- Inputs that came out empty, one row each: an extract none of whose rows reaches the marts, a
-- CMS measure none of whose rows has a reported score (when others have one), a Complications
-- and Deaths file with no reported score at all, and a General Information file with no
-- hospital rated. A build does not stop for these (an optional file may be absent, CMS
-- suppresses small hospitals), but each makes a figure empty, so each is a row here and a
-- warning in the build output (post-hook warn_empty_inputs). No rows when every input carries
-- data.
{{ config(post_hook="{{ warn_empty_inputs(this) }}") }}
{#- The file names as the sources YAML declares them (as the other data-quality marts name them). -#}
{%- set complications_file = extract_node('hospitals_raw', 'complications_and_deaths').meta.file if execute else '' -%}
{%- set hospitals_file = extract_node('hospitals_raw', 'hospital_general_information').meta.file if execute else '' -%}
with

extracts as (
    select * from {{ ref('data_quality_reconciliation') }}
),

measures as (
    select * from {{ ref('hospital_measure_coverage') }}
),

complications as (
    select
        count(*) as rows_read,
        count(score) as rows_with_score
    from {{ ref('base_cms__complications_and_deaths') }}
),

hospitals as (
    select
        count(*) as rows_read,
        count(overall_rating) as rows_rated
    from {{ ref('base_cms__hospitals') }}
),

empty_extracts as (
    select
        extract_family,
        extract_name,
        'extract' as input_kind,
        extract_name as input_name,
        rows_read,
        case
            when rows_read = 0 then 'no data rows read: the file is absent (an optional extract) or has a header only'
            else 'no row reaches the marts: every row read was quarantined or excluded after staging'
        end as empty_reason
    from extracts
    where rows_used = 0
),

empty_measures as (
    select
        'hospitals' as extract_family,
        '{{ complications_file }}' as extract_name,
        'measure score' as input_kind,
        measures.measure_id as input_name,
        measures.rows_read,
        'every row of the measure has no reported score (Not Available, or too few cases)' as empty_reason
    from measures
    cross join complications
    -- When no measure has a score, the one row of empty_complications says so for all of them.
    where
        measures.in_reference_seed
        and measures.rows_read > 0
        and measures.rows_with_score = 0
        and complications.rows_with_score > 0
),

empty_complications as (
    select
        'hospitals' as extract_family,
        '{{ complications_file }}' as extract_name,
        'score' as input_kind,
        'complications and deaths score (every measure)' as input_name,
        rows_read,
        'no row of the file has a reported score: every hospital''s complications and deaths score is empty'
            as empty_reason
    from complications
    where rows_read > 0 and rows_with_score = 0
),

empty_ratings as (
    select
        'hospitals' as extract_family,
        '{{ hospitals_file }}' as extract_name,
        'score' as input_kind,
        'Hospital overall rating' as input_name,
        rows_read,
        'no hospital of the file has an overall star rating (every rating Not Available)' as empty_reason
    from hospitals
    where rows_read > 0 and rows_rated = 0
),

final as (
    select * from empty_extracts
    union all
    select * from empty_measures
    union all
    select * from empty_complications
    union all
    select * from empty_ratings
)

select
    extract_family,
    extract_name,
    input_kind,
    input_name,
    cast(rows_read as bigint) as rows_read,
    empty_reason
from final
