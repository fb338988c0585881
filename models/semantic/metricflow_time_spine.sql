-- One row per day of the study window: the time spine MetricFlow needs to aggregate metrics
-- over time (dbt semantic layer).
{{ date_series("cast('" ~ var('study_start') ~ "' as date)", "cast('" ~ var('study_end') ~ "' as date)") }}
