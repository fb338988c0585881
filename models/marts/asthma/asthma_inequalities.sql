-- Rates by dimension x group x outcome with small-number suppression (vars suppress_below,
-- default 5, and dsr_min_events, default 10). Suppressed figures are NULL and the flag says why.
with

rates as (
    select * from {{ ref('int_asthma_inequality_rates') }}
),

flagged as (
    select
        *,
        events < {{ var('suppress_below') }} as is_suppressed,
        events < {{ var('dsr_min_events') }} as is_dsr_suppressed
    from rates
),

final as (
    select
        dimension,
        group_value,
        outcome,
        case
            when outcome = 'saba_over_reliance' then 'follow-up year'
            else 'whole study period'
        end as outcome_period,
        patients,
        case when not is_suppressed then events end as events,
        person_years,
        case when not is_suppressed then crude_rate_per_1000 end as crude_rate_per_1000,
        case when not is_suppressed then crude_rate_lower_95 end as crude_rate_lower_95,
        case when not is_suppressed then crude_rate_upper_95 end as crude_rate_upper_95,
        case when not is_dsr_suppressed then dsr_per_1000 end as dsr_per_1000,
        case when not is_dsr_suppressed then dsr_lower_95 end as dsr_lower_95,
        case when not is_dsr_suppressed then dsr_upper_95 end as dsr_upper_95,
        is_suppressed,
        is_dsr_suppressed,
        case
            when is_suppressed then 'suppressed: fewer than {{ var("suppress_below") }} events'
            when is_dsr_suppressed then 'DSR not calculated: fewer than {{ var("dsr_min_events") }} events'
        end as suppression_reason
    from flagged
)

select * from final
