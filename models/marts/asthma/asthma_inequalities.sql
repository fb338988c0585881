-- Asthma inequality outcomes by dimension x group, under the project's disclosure control
-- (macros/disclosure/disclosure_control.sql; policy: var disclosure_policy). Two levels, so that a value is
-- hidden or shown the same way wherever it appears:
--   1. A group's own denominators (patients; person-years) are the same in each of its outcome
--      rows. They are suppressed once per group: a group of redact_counts_at_or_below patients
--      or fewer, plus a partner within the dimension when needed. Every row of a hidden group is
--      hidden; a shown group shows the same patients and person-years in every row, suppressed
--      outcome rows included.
--   2. Each outcome row: its numerator or count denominator (index discharges, assessable
--      patients) at or below the threshold hides the row, and within each outcome x dimension a
--      partner row is hidden when needed so that no hidden row can be worked out from the
--      all-patients total.
-- A hidden row publishes no count and no figure derived from one. Published counts are rounded
-- to the nearest var round_counts_to, and every figure that could give a count back with its
-- published denominator (crude rate, percentage, their intervals, the DSR interval, funnel
-- limits) is calculated from the rounded counts, as OpenSAFELY's ehrQL does; the DSR itself,
-- which cannot, is from the exact events. A DSR also needs var dsr_min_events events (PHE's
-- reliability rule): a quality rule, not disclosure control. An age band's indicator is its
-- age-specific (crude) rate, and it has no DSR (int_asthma_inequality_rates says why).
with

rates as (
    select * from {{ ref('int_asthma_inequality_rates') }}
),

groups as (
    select
        dimension,
        group_value,
        any_value(patients) as patients,
        max(person_years) as person_years
    from rates
    group by dimension, group_value
),

group_flags as {{ disclosure_control(
    relation='groups',
    partition_by=['dimension'],
    primary_condition=is_small_count('patients'),
    rank_by='patients, group_value',
    protected_counts=['patients'],
) }},

rows_with_groups as (
    select
        rates.*,
        -- The group's person-years, one value for both rate rows (their sums run per outcome, in
        -- whatever order the engine adds them).
        group_flags.person_years as group_person_years,
        group_flags.is_suppressed as is_group_suppressed
    from rates
    inner join group_flags
        on rates.dimension = group_flags.dimension and rates.group_value = group_flags.group_value
),

flagged as {{ disclosure_control(
    relation='rows_with_groups',
    partition_by=['outcome', 'dimension'],
    primary_condition="is_group_suppressed or " ~ is_small_count('numerator')
        ~ " or (measure_type not like 'rate%' and " ~ is_small_count('denominator') ~ ")",
    rank_by='numerator, denominator, group_value',
    protected_counts=['numerator', 'denominator'],
) }},

counted as (
    select
        *,
        measure_type like 'rate%' as is_rate,
        not is_suppressed and measure_type like 'rate%' and dimension != 'age_band'
        and events < {{ var('dsr_min_events') }} as is_dsr_suppressed,
        {{ publish_count('numerator') }} as published_numerator,
        case
            when measure_type like 'rate%' then case when not is_group_suppressed then group_person_years end
            else cast({{ publish_count('denominator') }} as double)
        end as published_denominator
    from flagged
),

overall as (
    select
        *,
        -- The all-patients proportion from its published counts (exact unless rounding is on).
        max(
            case when dimension = 'all_patients' then published_numerator / nullif(published_denominator, 0) end
        ) over (partition by outcome) as published_overall_proportion
    from counted
),

derived as (
    select
        *,
        -- Rates: crude rate and DSR interval from the published count (none for a hidden row,
        -- whose person-years may still be shown as its group's).
        case when is_rate then published_numerator / nullif(published_denominator, 0) * 1000 end
            as published_crude_rate,
        case
            when is_rate and not is_suppressed
                then {{ poisson_limit_95('published_numerator', 'lower') }} / nullif(published_denominator, 0) * 1000
        end as published_crude_lower,
        case
            when is_rate and not is_suppressed
                then {{ poisson_limit_95('published_numerator', 'upper') }} / nullif(published_denominator, 0) * 1000
        end as published_crude_upper,
        case
            when is_rate and published_numerator > 0
                then
                    dsr_per_1000 + dsr_standard_error / sqrt(published_numerator)
                    * ({{ byars_lower('published_numerator') }} - published_numerator)
        end as published_dsr_lower,
        case
            when is_rate and published_numerator > 0
                then
                    dsr_per_1000 + dsr_standard_error / sqrt(published_numerator)
                    * ({{ byars_upper('published_numerator') }} - published_numerator)
        end as published_dsr_upper,
        -- Proportions: percentage, Wilson interval and funnel limits from the published counts.
        case when not is_rate then published_numerator / nullif(published_denominator, 0) * 100 end
            as published_pct,
        case
            when not is_rate then {{ wilson_lower('published_numerator', 'published_denominator') }} * 100
        end as published_pct_lower,
        case
            when not is_rate then {{ wilson_upper('published_numerator', 'published_denominator') }} * 100
        end as published_pct_upper,
        {{ funnel_limit_columns(
            'published_overall_proportion', 'published_denominator',
            prefix='published_funnel_', condition='not is_rate and published_denominator > 0',
        ) }}
    from overall
),

shown as (
    select
        *,
        {#- The value and its 95% limits, each chosen by the same rule: an age band's crude
            rate, another group's DSR, a proportion's percentage; none when suppressed. -#}
        {%- for part, crude, dsr, pct in [
            ('value', 'published_crude_rate', 'dsr_per_1000', 'published_pct'),
            ('lower', 'published_crude_lower', 'published_dsr_lower', 'published_pct_lower'),
            ('upper', 'published_crude_upper', 'published_dsr_upper', 'published_pct_upper'),
        ] %}
            case
                when is_suppressed or is_dsr_suppressed then null
                when is_rate and dimension = 'age_band' then {{ crude }}
                when is_rate then {{ dsr }}
                else {{ pct }}
            end as shown_{{ part }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from derived
),

-- The all-patients value each group is compared with, the Fingertips way: the all-patients
-- indicator, or for an age band (whose indicator is a crude rate) the all-patients crude rate.
all_patients_values as (
    select
        *,
        max(case when dimension = 'all_patients' then shown_value end) over (partition by outcome)
            as all_patients_indicator,
        max(case when dimension = 'all_patients' then published_crude_rate end) over (partition by outcome)
            as all_patients_crude_rate
    from shown
),

compared as (
    select
        *,
        case
            when dimension = 'all_patients' then null
            when is_rate and dimension = 'age_band' then all_patients_crude_rate
            else all_patients_indicator
        end as comparator
    from all_patients_values
),

final as (
    select
        {{ indicator_definition_columns() | join(', ') }},
        published_numerator as numerator,
        published_denominator as denominator,
        shown_value as indicator_value,
        shown_lower as indicator_lower_95,
        shown_upper as indicator_upper_95,
        indicator_unit,
        ci_method,
        {{ publish_count('patients', 'is_group_suppressed') }} as patients,
        case when is_rate then published_numerator end as events,
        case when is_rate and not is_group_suppressed then group_person_years end as person_years,
        published_crude_rate as crude_rate_per_1000,
        published_crude_lower as crude_rate_lower_95,
        published_crude_upper as crude_rate_upper_95,
        crude_rate_ci_method,
        case when not is_suppressed and not is_dsr_suppressed then dsr_per_1000 end as dsr_per_1000,
        case when not is_suppressed and not is_dsr_suppressed then published_dsr_lower end as dsr_lower_95,
        case when not is_suppressed and not is_dsr_suppressed then published_dsr_upper end as dsr_upper_95,
        dsr_ci_method,
        published_pct as proportion_pct,
        published_pct_lower as proportion_lower_95,
        published_pct_upper as proportion_upper_95,
        case when not is_rate then published_overall_proportion * 100 end as overall_proportion_pct,
        published_funnel_lower_95 as funnel_lower_95,
        published_funnel_upper_95 as funnel_upper_95,
        published_funnel_lower_998 as funnel_lower_998,
        published_funnel_upper_998 as funnel_upper_998,
        {{ funnel_position('published_pct', prefix='published_funnel_') }} as funnel_position,
        comparator as comparator_value,
        case
            when comparator is null or shown_lower is null or shown_upper is null then null
            when shown_lower > comparator then 'higher'
            when shown_upper < comparator then 'lower'
            else 'similar'
        end as compared_with_all_patients,
        'higher is worse' as polarity,
        is_suppressed,
        is_group_suppressed,
        is_dsr_suppressed,
        {{ disclosure_action() }} as disclosure_action,
        case
            when is_suppressed then 'suppressed: small count, or hidden to protect one'
            when is_dsr_suppressed then 'DSR not calculated: fewer than {{ var("dsr_min_events") }} events'
        end as suppression_reason,
        -- What the imd_quintile groups measure (one label per build; doc omop_deprivation).
        case
            when dimension != 'imd_quintile' then null
            when group_value like 'not available%' then group_value
            else {{ sql_string(deprivation_measure()) }}
        end as deprivation_measure
    from compared
)

select * from final
