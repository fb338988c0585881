-- Every asthma inequality outcome for each dimension x group, before disclosure control (the
-- mart asthma_inequalities suppresses; the SII/RII model reads these exact values). Each
-- outcome says what it is: measure_type, the numerator and denominator it used, and its CI.
--
-- Rates (emergency_admissions, exacerbations; whole study period), per 1,000 person-years:
--   crude rate = events / person-years, 95% CI from the event count's Poisson limits: exact
--   below 10 events, Byars' approximation from 10 (PHE; macro poisson_limit_95).
--   DSR (PHEindicatormethods calculate_dsr) against the full ESP 2013, W = sum of all 19
--   weights: DSR = sum_b(w_b * O_b / n_b) / W * 1000, where n_b is the group's person-time in
--   age band b from the Lexis split (int_asthma_person_time_by_age_band) and O_b the events
--   that happened while in that band. A band with no person-time contributes zero; the weights
--   are never renormalised, so every group is standardised to the same population.
--   Variance for non-independent events (calculate_dsr with independent_events = FALSE): the
--   events of one person are not independent, so the variance is summed over the distribution
--   of events per person, sum_f f^2 * sum_b x_fb * (w_b / n_b)^2 / W^2 with x_fb the persons with
--   f events in band b, which is sum_b (w_b / n_b)^2 * (sum of squared events per person) / W^2.
--   95% CI: Dobson with Byars limits, DSR + sqrt(var / O) * (O_limit - O).
--   The age_band dimension is the exception: standardising one age band to the whole ESP 2013
--   (every other band counted as zero) gives the band's share of the standard population times
--   its rate, not a rate of the group. Its rows publish the age-specific (crude) rate as the
--   indicator, as PHE does for an age breakdown, and have no DSR.
-- Proportions, as percentages with Wilson score 95% CIs and funnel-plot limits (95% and 99.8%)
-- around the all-patients proportion (PHEindicatormethods calculate_funnel_limits):
--   readmissions_30d: index discharges followed by an emergency asthma readmission within 30
--   days / index discharges (int_admissions_linked_to_readmissions), whole study period.
--   saba_over_reliance: assessable patients (observed >= half the follow-up year) issued >= 3
--   SABA canisters per year / assessable patients, follow-up year.
{% set dimensions = ['imd_quintile', 'ethnicity_group', 'sex', 'age_band', 'all_patients'] %}
{#- The age bands a DSR sums over (none for the age_band dimension: see above). The sums take
    the bands in ESP order and person-time is summed as whole days, then divided by 365.25, so
    every figure is the same bits on any number of threads (macros/engine/exact_aggregates.sql). -#}
{% set dsr_bands = "by_band.person_years > 0 and by_band.dimension != 'age_band'" %}
{#- The columns of the rate rows and the proportion rows put together (listed, not matched by
    name: Spark SQL has no UNION BY NAME). -#}
{% set combined_columns = indicator_definition_columns() + [
    'numerator', 'denominator', 'patients', 'events', 'person_years', 'crude_rate_per_1000', 'crude_rate_lower_95',
    'crude_rate_upper_95', 'crude_rate_ci_method', 'esp_bands_with_person_time', 'dsr_per_1000', 'dsr_standard_error',
    'dsr_lower_95', 'dsr_upper_95', 'dsr_standard_error_independent', 'dsr_ci_method', 'proportion_pct',
    'proportion_lower_95', 'proportion_upper_95', 'overall_proportion_pct', 'funnel_lower_95', 'funnel_upper_95',
    'funnel_lower_998', 'funnel_upper_998',
] %}
with

patients as (
    select * from {{ ref('asthma_patients') }}
),

segments as (
    select * from {{ ref('int_asthma_person_time_by_age_band') }}
),

events as (
    select * from {{ ref('int_asthma_patient_events') }}
    where measure in ('emergency_admissions', 'exacerbations')
),

index_discharges as (
    select * from {{ ref('int_admissions_linked_to_readmissions') }}
    where is_index
),

esp as (
    select * from {{ ref('ref_esp2013_weights') }}
),

esp_total as (
    select sum(esp_weight) as total_weight from esp
),

outcome_list as (
    select outcomes.outcome from (values ('emergency_admissions'), ('exacerbations')) as outcomes (outcome)
),

-- Events of each patient in each age band they were observed in.
segment_events as (
    select
        segments.patient_key,
        segments.esp_age_band,
        outcome_list.outcome,
        any_value(segments.observed_days) as observed_days,
        coalesce(sum(events.amount), 0) as events
    from segments
    cross join outcome_list
    left join events
        on
            segments.patient_key = events.patient_key
            and outcome_list.outcome = events.measure
            and events.event_date between segments.segment_start_date and segments.segment_end_date
    group by segments.patient_key, segments.esp_age_band, outcome_list.outcome
),

grouped_segments as (
    {% for dim in dimensions %}
        select
            {{ dimension_group(dim) }},
            segment_events.*
        from segment_events
        inner join patients on segment_events.patient_key = patients.patient_key
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

group_patients as (
    {% for dim in dimensions %}
        select
            {{ dimension_group(dim) }},
            count(*) as patients,
            count(*) filter (where patients.is_saba_assessable) as saba_assessable_patients,
            count(*) filter (where patients.is_saba_over_reliant_3) as saba_over_reliant_patients
        from patients
        group by all
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

by_band as (
    select
        dimension,
        group_value,
        outcome,
        esp_age_band,
        sum(events) as events,
        sum(events * events) as events_squared,
        cast(sum(observed_days) as bigint) as observed_days,
        cast(sum(observed_days) as bigint) / {{ days_per_year() }} as person_years
    from grouped_segments
    group by all
),

rate_groups as (
    select
        by_band.dimension,
        by_band.group_value,
        by_band.outcome,
        cast(sum(by_band.events) as bigint) as events,
        cast(sum(by_band.observed_days) as bigint) / {{ days_per_year() }} as person_years,
        count(*) filter (where by_band.person_years > 0) as esp_bands_with_person_time,
        {{ ordered_aggregate(
            'sum', 'esp.esp_weight * by_band.events / nullif(by_band.person_years, 0)', 'esp.band_order', dsr_bands,
        ) }}
        / any_value(esp_total.total_weight) * 1000 as dsr_per_1000,
        {{ ordered_aggregate(
            'sum',
            'power(esp.esp_weight, 2) * by_band.events_squared / power(nullif(by_band.person_years, 0), 2)',
            'esp.band_order',
            dsr_bands,
        ) }}
        / power(any_value(esp_total.total_weight), 2) * power(1000, 2) as dsr_variance,
        {{ ordered_aggregate(
            'sum',
            'power(esp.esp_weight, 2) * by_band.events / power(nullif(by_band.person_years, 0), 2)',
            'esp.band_order',
            dsr_bands,
        ) }}
        / power(any_value(esp_total.total_weight), 2) * power(1000, 2) as dsr_variance_independent
    from by_band
    inner join esp on by_band.esp_age_band = esp.esp_age_band
    cross join esp_total
    group by by_band.dimension, by_band.group_value, by_band.outcome
),

rates as (
    select
        rate_groups.*,
        group_patients.patients,
        {{ byars_lower('rate_groups.events') }} as events_lower,
        {{ byars_upper('rate_groups.events') }} as events_upper,
        {{ poisson_limit_95('rate_groups.events', 'lower') }} as crude_events_lower,
        {{ poisson_limit_95('rate_groups.events', 'upper') }} as crude_events_upper
    from rate_groups
    inner join group_patients
        on rate_groups.dimension = group_patients.dimension and rate_groups.group_value = group_patients.group_value
),

rate_rows as (
    select
        dimension,
        group_value,
        outcome,
        'rate per 1,000 person-years' as measure_type,
        'whole study period' as outcome_period,
        case outcome
            when 'emergency_admissions' then 'emergency asthma admissions (spells) while observed'
            else 'severe asthma exacerbations (OCS course or emergency admission) while observed'
        end as numerator_definition,
        'person-years observed (Lexis split across ESP 2013 age bands)' as denominator_definition,
        'person-years' as denominator_unit,
        events as numerator,
        person_years as denominator,
        patients,
        events,
        person_years,
        events / nullif(person_years, 0) * 1000 as crude_rate_per_1000,
        crude_events_lower / nullif(person_years, 0) * 1000 as crude_rate_lower_95,
        crude_events_upper / nullif(person_years, 0) * 1000 as crude_rate_upper_95,
        {{ poisson_limit_method() }} as crude_rate_ci_method,
        esp_bands_with_person_time,
        -- No DSR for an age band (see the header; rate_groups leaves its sums empty): one band
        -- standardised to the whole ESP 2013 is not a rate of the group.
        dsr_per_1000,
        sqrt(dsr_variance) as dsr_standard_error,
        case
            when events > 0 then dsr_per_1000 + sqrt(dsr_variance / events) * (events_lower - events)
        end as dsr_lower_95,
        case
            when events > 0 then dsr_per_1000 + sqrt(dsr_variance / events) * (events_upper - events)
        end as dsr_upper_95,
        sqrt(dsr_variance_independent) as dsr_standard_error_independent,
        case
            when dimension != 'age_band'
                then 'Dobson with Byars limits, variance for non-independent events (events per person)'
        end as dsr_ci_method,
        cast(null as double) as proportion_pct,
        cast(null as double) as proportion_lower_95,
        cast(null as double) as proportion_upper_95
    from rates
),

proportion_counts as (
    {% for dim in dimensions %}
        select
            {{ dimension_group(dim) }},
            count(*) filter (where index_discharges.has_readmission_30d) as numerator,
            count(*) as denominator
        from index_discharges
        inner join patients on index_discharges.patient_key = patients.patient_key
        group by all
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

proportions as (
    -- Every group of every dimension gets a row, even with no index discharges.
    select
        group_patients.dimension,
        group_patients.group_value,
        'readmissions_30d' as outcome,
        'percentage of index discharges' as measure_type,
        'whole study period' as outcome_period,
        'index discharges followed by an emergency asthma readmission within 30 days' as numerator_definition,
        {{ sql_string(
            "index discharges: emergency asthma spells discharged alive with 30 days of the patient's "
            ~ "own observation after discharge, or death within them"
        ) }} as denominator_definition,
        'index discharges' as denominator_unit,
        coalesce(proportion_counts.numerator, 0) as numerator,
        coalesce(proportion_counts.denominator, 0) as denominator,
        group_patients.patients
    from group_patients
    left join proportion_counts
        on
            group_patients.dimension = proportion_counts.dimension
            and group_patients.group_value = proportion_counts.group_value
    union all
    select
        dimension,
        group_value,
        'saba_over_reliance' as outcome,
        'percentage of patients' as measure_type,
        'follow-up year' as outcome_period,
        'assessable patients issued 3 or more SABA canisters per year of follow-up' as numerator_definition,
        'assessable patients: observed for at least '
        {%- if var('saba_min_followup_years') | float == 0.5 %} || 'half of the follow-up year'
        {%- else %} || '{{ var("saba_min_followup_years") }} years of the follow-up year'{% endif %}
            as denominator_definition,
        'patients' as denominator_unit,
        saba_over_reliant_patients as numerator,
        saba_assessable_patients as denominator,
        patients
    from group_patients
),

overall as (
    select
        outcome,
        numerator / nullif(denominator, 0) as overall_proportion
    from proportions
    where dimension = 'all_patients'
),

proportion_rows as (
    select
        {%- for column in indicator_definition_columns() %}
            proportions.{{ column }},
        {%- endfor %}
        cast(proportions.numerator as bigint) as numerator,
        cast(proportions.denominator as double) as denominator,
        proportions.patients,
        -- events count a rate's events; a percentage's numerator is `numerator` alone.
        cast(null as bigint) as events,
        cast(null as double) as person_years,
        cast(null as double) as crude_rate_per_1000,
        cast(null as double) as crude_rate_lower_95,
        cast(null as double) as crude_rate_upper_95,
        cast(null as string) as crude_rate_ci_method,
        cast(null as bigint) as esp_bands_with_person_time,
        cast(null as double) as dsr_per_1000,
        cast(null as double) as dsr_standard_error,
        cast(null as double) as dsr_lower_95,
        cast(null as double) as dsr_upper_95,
        cast(null as double) as dsr_standard_error_independent,
        cast(null as string) as dsr_ci_method,
        proportions.numerator / nullif(proportions.denominator, 0) * 100 as proportion_pct,
        {{ wilson_lower('proportions.numerator', 'proportions.denominator') }} * 100 as proportion_lower_95,
        {{ wilson_upper('proportions.numerator', 'proportions.denominator') }} * 100 as proportion_upper_95,
        overall.overall_proportion
    from proportions
    inner join overall on proportions.outcome = overall.outcome
),

funnels as (
    select
        *,
        {{ funnel_limit_columns('overall_proportion', 'denominator') }}
    from proportion_rows
    where denominator > 0
),

-- The three kinds of row, each with every column `final` reads (a kind's missing ones NULL).
rate_rows_padded as (
    select
        *,
        cast(null as double) as overall_proportion_pct,
        cast(null as double) as funnel_lower_95,
        cast(null as double) as funnel_upper_95,
        cast(null as double) as funnel_lower_998,
        cast(null as double) as funnel_upper_998
    from rate_rows
),

funnel_rows as (
    select
        *,
        overall_proportion * 100 as overall_proportion_pct
    from funnels
),

no_denominator_rows as (
    select
        *,
        overall_proportion * 100 as overall_proportion_pct,
        cast(null as double) as funnel_lower_95,
        cast(null as double) as funnel_upper_95,
        cast(null as double) as funnel_lower_998,
        cast(null as double) as funnel_upper_998
    from proportion_rows
    where denominator = 0
),

combined as (
    {%- for relation in ['rate_rows_padded', 'funnel_rows', 'no_denominator_rows'] %}
        select {{ combined_columns | join(', ') }}
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select
        {{ indicator_definition_columns() | join(', ') }},
        numerator,
        denominator,
        -- The indicator: a rate's DSR, an age band's age-specific (crude) rate, a proportion's
        -- percentage.
        case
            when measure_type not like 'rate%' then proportion_pct
            when dimension = 'age_band' then crude_rate_per_1000
            else dsr_per_1000
        end as indicator_value,
        case
            when measure_type not like 'rate%' then proportion_lower_95
            when dimension = 'age_band' then crude_rate_lower_95
            else dsr_lower_95
        end as indicator_lower_95,
        case
            when measure_type not like 'rate%' then proportion_upper_95
            when dimension = 'age_band' then crude_rate_upper_95
            else dsr_upper_95
        end as indicator_upper_95,
        -- The standard error the SII/RII draws use: the DSR's (non-independent events), an
        -- age-specific rate's Poisson one (sqrt(events) / person-years), or for a proportion the
        -- Wilson interval's half-width / z, as phe_sii derives it from limits.
        case
            when measure_type not like 'rate%' then (proportion_upper_95 - proportion_lower_95) / (2 * {{ z_95() }})
            when dimension = 'age_band' then sqrt(events) / nullif(person_years, 0) * 1000
            else dsr_standard_error
        end as indicator_standard_error,
        case
            when measure_type not like 'rate%' then '%'
            when dimension = 'age_band' then 'per 1,000 person-years, age-specific (crude)'
            else 'per 1,000 person-years, age-standardised (ESP 2013)'
        end as indicator_unit,
        case
            when measure_type not like 'rate%' then 'Wilson score'
            when dimension = 'age_band' then crude_rate_ci_method
            else dsr_ci_method
        end as ci_method,
        patients,
        events,
        person_years,
        crude_rate_per_1000,
        crude_rate_lower_95,
        crude_rate_upper_95,
        crude_rate_ci_method,
        esp_bands_with_person_time,
        dsr_per_1000,
        dsr_standard_error,
        dsr_lower_95,
        dsr_upper_95,
        dsr_standard_error_independent,
        dsr_ci_method,
        proportion_pct,
        proportion_lower_95,
        proportion_upper_95,
        overall_proportion_pct,
        funnel_lower_95,
        funnel_upper_95,
        funnel_lower_998,
        funnel_upper_998,
        {{ funnel_position('proportion_pct') }} as funnel_position
    from combined
)

select * from final
