-- End-to-end check of data_quality_row_outcomes: the rows it calls "used" are exactly what the
-- patient mart counts (patients published; prescriptions, outpatient appointments attended or
-- missed, and GP asthma consultations counted over both windows). Returns a row per mismatch.
with

used as (
    select
        extract_name,
        sum(row_count) as rows_used
    from {{ ref('data_quality_row_outcomes') }}
    where pipeline_stage = 'used'
    group by extract_name
),

patients as (
    select * from {{ ref('asthma_patients') }}
),

counted as (
    select
        'patients' as extract_name,
        count(*) as rows_counted
    from patients
    union all
    select
        'prescriptions' as extract_name,
        sum(baseline_prescriptions + followup_prescriptions) as rows_counted
    from patients
    union all
    select
        'outpatient_appointments' as extract_name,
        sum(
            baseline_outpatient_appointments + followup_outpatient_appointments
            + baseline_outpatient_missed_appointments + followup_outpatient_missed_appointments
        ) as rows_counted
    from patients
    union all
    select
        'gp_events' as extract_name,
        sum(baseline_gp_asthma_visits + followup_gp_asthma_visits) as rows_counted
    from patients
)

select
    counted.extract_name,
    counted.rows_counted,
    coalesce(used.rows_used, 0) as rows_used
from counted
left join used on counted.extract_name = used.extract_name
where counted.rows_counted != coalesce(used.rows_used, 0)
