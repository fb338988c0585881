-- Per measure the reference seed lists: hospitals reporting a score, its mean and SD (the
-- national standardisation constants of the measure score), its star-rating group and the
-- national rate it is published against. The mean and SD take the scores in hospital order (see
-- macros/engine/exact_aggregates.sql), so they are the same bits on any number of threads.
select
    measures.measure_id,
    measures.measure_group,
    measures.star_rating_group,
    measures.national_rate,
    count(scores.score) as hospitals_reporting,
    {{ ordered_aggregate('avg', 'scores.score', 'scores.facility_id') }} as measure_mean,
    {{ ordered_aggregate('stddev_samp', 'scores.score', 'scores.facility_id') }} as measure_sd
from {{ ref('ref_cms_complication_measures') }} as measures
left join {{ ref('stg_cms__complications_and_deaths') }} as scores
    on measures.measure_id = scores.measure_id
group by measures.measure_id, measures.measure_group, measures.star_rating_group, measures.national_rate
