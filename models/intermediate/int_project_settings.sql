-- The project settings as one row, straight from the dbt vars of dbt_project.yml, so that a
-- program reading the warehouse (the HTML report) uses the values the build used instead of
-- copies of them: the study window, the small-count and DSR reliability thresholds, the
-- normal quantiles and the k-means sample size (the hotspot minimum is a column of
-- hospital_state_performance, the income tier bounds are the seed ref_income_tiers). The vars
-- stay the one place they are set.
select
    cast('{{ var("study_start") }}' as date) as study_start,
    cast('{{ var("followup_start") }}' as date) as followup_start,
    cast('{{ var("study_end") }}' as date) as study_end,
    cast({{ var('suppress_below') }} as bigint) as suppress_below,
    cast({{ var('dsr_min_events') }} as bigint) as dsr_min_events,
    cast({{ var('z_95') }} as double) as z_95,
    cast({{ var('z_99_8') }} as double) as z_99_8,
    cast({{ var('cluster_sample_size') }} as bigint) as cluster_sample_size
