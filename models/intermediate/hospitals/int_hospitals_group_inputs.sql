-- The group level of every hospital score, one row per hospital x score x star-rating group with
-- something to score, oriented so that higher = worse (see the doc block hospital_scores_method):
--   hgi_group_score: from the General Information file's group counts, the group value is
--     (measures worse - measures better) / measures the hospital reports in the group;
--   measure_score: from Complications and Deaths, each measure the reference seed lists is
--     standardised nationally (score - mean) / SD over the hospitals reporting it, and the group
--     value is the mean of the hospital's standardised measures in the group (mortality or
--     safety, the seed's star_rating_group). Measures the seed does not list never enter.
-- measures_worse counts the group's measures CMS rates worse than the national rate.
{% set hgi_groups = cms_outcome_groups() %}
with

hospitals as (
    select * from {{ ref('stg_cms__hospitals') }}
),

measure_rows as (
    select * from {{ ref('stg_cms__complications_and_deaths') }}
    where score is not null and is_known_measure
),

measure_stats as (
    select * from {{ ref('int_hospitals_measure_stats') }}
),

hgi as (
    {% for key, code in hgi_groups %}
        select
            facility_id,
            'hgi_group_score' as score_name,
            '{{ code }}' as group_code,
            {{ key }}_facility_measures as measures_in_group,
            {{ key }}_worse as measures_worse,
            ({{ key }}_worse - {{ key }}_better) / {{ key }}_facility_measures as group_value
        from hospitals
        where
            {{ key }}_facility_measures >= 1
            and {{ key }}_worse is not null
            and {{ key }}_better is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

standardised_measures as (
    select
        measure_rows.facility_id,
        measure_rows.measure_id,
        measure_stats.star_rating_group as group_code,
        measure_rows.compared_to_national like 'Worse%' as is_worse,
        (measure_rows.score - measure_stats.measure_mean) / nullif(measure_stats.measure_sd, 0) as measure_z
    from measure_rows
    inner join measure_stats on measure_rows.measure_id = measure_stats.measure_id
),

measure_groups as (
    select
        facility_id,
        'measure_score' as score_name,
        group_code,
        count(measure_z) as measures_in_group,
        count(*) filter (where is_worse) as measures_worse,
        {{ ordered_aggregate('avg', 'measure_z', 'measure_id') }} as group_value
    from standardised_measures
    where measure_z is not null
    group by facility_id, group_code
),

final as (
    select * from hgi
    union all
    select * from measure_groups
)

select * from final
