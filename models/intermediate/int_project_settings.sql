-- The project settings as one row, straight from the dbt vars of dbt_project.yml, so that a
-- program reading the warehouse (the HTML report) uses the values the build used instead of
-- copies of them: the study window, the disclosure policy, the DSR reliability threshold, the
-- normal quantiles and the k-means sample size (the hotspot minimum is a column of
-- hospital_state_performance, the income tier bounds are the seed ref_income_tiers). The vars
-- stay the one place they are set.
select
    cast('{{ var("study_start") }}' as date) as study_start,
    cast('{{ var("followup_start") }}' as date) as followup_start,
    cast('{{ var("study_end") }}' as date) as study_end,
    {{ sql_string(var('disclosure_policy')) }} as disclosure_policy,
    cast({{ var('redact_counts_at_or_below') }} as bigint) as redact_counts_at_or_below,
    cast({{ var('round_counts_to') }} as bigint) as round_counts_to,
    cast({{ var('dsr_min_events') }} as bigint) as dsr_min_events,
    cast({{ var('z_95') }} as double) as z_95,
    cast({{ var('z_99_8') }} as double) as z_99_8,
    cast({{ var('cluster_sample_size') }} as bigint) as cluster_sample_size
