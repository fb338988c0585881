-- Per measure: hospitals reporting, mean and SD of the score (the standardisation constants of
-- int_hospitals_measure_scores), and the national rate it is published against.
select
    measures.measure_id,
    measures.measure_group,
    measures.national_rate,
    count(scores.score) as hospitals_reporting,
    avg(scores.score) as measure_mean,
    stddev_samp(scores.score) as measure_sd
from {{ ref('ref_cms_complication_measures') }} as measures
left join {{ ref('stg_cms__complications_and_deaths') }} as scores
    on measures.measure_id = scores.measure_id
group by measures.measure_id, measures.measure_group, measures.national_rate
