-- Asthma inequality outcomes by dimension x group, under the project's disclosure control
-- (macros/disclosure_control.sql): a row is suppressed when its numerator, or its count
-- denominator (index discharges, assessable patients) or its patients, is below the var
-- suppress_below; within each outcome x dimension a second row is suppressed when needed so
-- that no hidden row can be recovered from the all-patients total. A suppressed row publishes
-- no count and no figure derived from one. A DSR also needs var dsr_min_events events (PHE's
-- reliability rule), which is a quality rule, not disclosure control.
{% set k = var('suppress_below') %}
with

rates as (
    select * from {{ ref('int_asthma_inequality_rates') }}
),

flagged as {{ disclosure_control(
    relation='rates',
    partition_by=['outcome', 'dimension'],
    primary_condition="numerator < " ~ k ~ " or patients < " ~ k
        ~ " or (measure_type not like 'rate%' and denominator < " ~ k ~ ")",
    rank_by='numerator, denominator, group_value',
    protected_counts=['numerator', 'denominator', 'patients'],
) }},

published as (
    select
        *,
        not is_suppressed and measure_type like 'rate%' and events < {{ var('dsr_min_events') }}
            as is_dsr_suppressed
    from flagged
),

final as (
    select
        dimension,
        group_value,
        outcome,
        measure_type,
        outcome_period,
        numerator_definition,
        denominator_definition,
        denominator_unit,
        {{ round_count('numerator') }} as numerator,
        case
            when is_suppressed then null
            when measure_type like 'rate%' then denominator
            else {{ round_count('denominator') }}
        end as denominator,
        case when not is_suppressed and not is_dsr_suppressed then indicator_value end as indicator_value,
        case when not is_suppressed and not is_dsr_suppressed then indicator_lower_95 end as indicator_lower_95,
        case when not is_suppressed and not is_dsr_suppressed then indicator_upper_95 end as indicator_upper_95,
        indicator_unit,
        ci_method,
        {{ round_count('patients') }} as patients,
        {{ round_count('events') }} as events,
        case when not is_suppressed then person_years end as person_years,
        case when not is_suppressed then crude_rate_per_1000 end as crude_rate_per_1000,
        case when not is_suppressed then crude_rate_lower_95 end as crude_rate_lower_95,
        case when not is_suppressed then crude_rate_upper_95 end as crude_rate_upper_95,
        crude_rate_ci_method,
        case when not is_suppressed and not is_dsr_suppressed then dsr_per_1000 end as dsr_per_1000,
        case when not is_suppressed and not is_dsr_suppressed then dsr_lower_95 end as dsr_lower_95,
        case when not is_suppressed and not is_dsr_suppressed then dsr_upper_95 end as dsr_upper_95,
        dsr_ci_method,
        case when not is_suppressed then proportion_pct end as proportion_pct,
        case when not is_suppressed then proportion_lower_95 end as proportion_lower_95,
        case when not is_suppressed then proportion_upper_95 end as proportion_upper_95,
        overall_proportion_pct,
        case when not is_suppressed then funnel_lower_95 end as funnel_lower_95,
        case when not is_suppressed then funnel_upper_95 end as funnel_upper_95,
        case when not is_suppressed then funnel_lower_998 end as funnel_lower_998,
        case when not is_suppressed then funnel_upper_998 end as funnel_upper_998,
        case when not is_suppressed then funnel_position end as funnel_position,
        is_suppressed,
        is_dsr_suppressed,
        {{ disclosure_action() }} as disclosure_action,
        case
            when is_suppressed then 'suppressed: small count, or hidden to protect one'
            when is_dsr_suppressed then 'DSR not calculated: fewer than {{ var("dsr_min_events") }} events'
        end as suppression_reason
    from published
)

select * from final
