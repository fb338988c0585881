-- One row per day of the study window: the time spine MetricFlow needs to aggregate metrics
-- over time (dbt semantic layer).
select cast(range as date) as date_day
from range(
    cast('{{ var("study_start") }}' as date),
    cast('{{ var("study_end") }}' as date) + interval 1 day,
    interval 1 day
)
