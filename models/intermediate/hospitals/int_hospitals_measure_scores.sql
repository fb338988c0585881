-- Clinical risk from Complications and Deaths (higher = worse): each measure's score is
-- standardised within the measure across the hospitals reporting it (the measures are on
-- different scales, so raw scores must never be averaged), then averaged per hospital over the
-- measures it reports; at least var min_measures_for_score (3) are required. Also the mean
-- ratio of the hospital's scores to the national rates (1.05 = 5% above national).
with

scores as (
    select * from {{ ref('stg_cms__complications_and_deaths') }}
    where score is not null
),

measure_stats as (
    select * from {{ ref('int_hospitals_measure_stats') }}
),

standardised as (
    select
        scores.facility_id,
        scores.measure_id,
        (scores.score - measure_stats.measure_mean) / nullif(measure_stats.measure_sd, 0) as measure_z,
        scores.score / measure_stats.national_rate as ratio_to_national
    from scores
    inner join measure_stats on scores.measure_id = measure_stats.measure_id
),

final as (
    select
        facility_id,
        count(*) as measures_scored,
        case
            when count(*) >= {{ var('min_measures_for_score') }} then avg(measure_z)
        end as measure_risk_score_raw,
        case
            when count(*) >= {{ var('min_measures_for_score') }} then avg(ratio_to_national)
        end as mean_ratio_to_national
    from standardised
    group by facility_id
)

select * from final
