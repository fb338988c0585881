-- The state funnel of every hospital score (doc block hospital_state_funnel), one row per
-- score x state x income tier (state x tier cells, 'Unmatched' for hospitals without an income)
-- and per score x state ('All', is_state_total): hospitals, scored hospitals and the share scored,
-- the cell's mean score and its z-score against the national mean (Spiegelhalter 2005):
--   z = (cell mean - national mean) / (national SD / sqrt(scored hospitals)).
-- Overdispersion is estimated separately for the two levels (state totals; state x tier cells),
-- over the cells with a scored hospital: the z-scores are Winsorised at var
-- funnel_winsorise_fraction (10%) at each end, phi = mean of their squares, and I * phi is
-- compared with chi-square on I - 1 degrees of freedom (Wilson-Hilferty normal approximation,
-- one-sided at var funnel_overdispersion_z). The additive random-effects variance is the
-- DerSimonian-Laird moment estimate tau^2 = max(0, (I * phi - (I - 1)) / (sum w - sum w^2 / sum w)),
-- w = 1 / s^2 = n / SD^2. Both limits are kept: unadjusted (national mean +/- z * s) and adjusted
-- (national mean +/- z * sqrt(s^2 + tau^2)); the position and hotspot flags use the adjusted limits
-- when the test finds overdispersion, the unadjusted ones otherwise (position_limits says which).
-- No limit is clamped: the score is centred near 0 and takes either sign.
{% set df = 'cast(winsor_bounds.dispersion_cells - 1 as double)' %}
with

scores as (
    select * from {{ ref('int_hospitals_scores') }}
),

hospitals as (
    select
        facility_id,
        state_code
    from {{ ref('stg_cms__hospitals') }}
),

states as (
    select * from {{ ref('ref_us_states') }}
),

income as (
    select
        facility_id,
        income_tier
    from {{ ref('int_hospitals_income_matched') }}
),

hospital_scores as (
    select
        scores.facility_id,
        scores.score_name,
        scores.score_label,
        scores.is_headline,
        scores.risk_score,
        hospitals.state_code,
        states.state_name,
        states.census_region,
        states.is_territory,
        coalesce(income.income_tier, 'Unmatched') as income_tier
    from scores
    inner join hospitals on scores.facility_id = hospitals.facility_id
    inner join states on hospitals.state_code = states.state_code
    left join income on scores.facility_id = income.facility_id
),

national as (
    select
        score_name,
        max(national_average_risk) as national_average_risk,
        max(national_sd_risk) as national_sd_risk
    from scores
    group by score_name
),

cells as (
    select
        score_name,
        max(score_label) as score_label,
        bool_or(is_headline) as is_headline,
        state_code,
        max(state_name) as state_name,
        max(census_region) as census_region,
        bool_or(is_territory) as is_territory,
        case when grouping(income_tier) = 1 then 'All' else income_tier end as income_tier,
        grouping(income_tier) = 1 as is_state_total,
        count(*) as hospitals,
        count(risk_score) as scored_hospitals,
        {{ ordered_aggregate('avg', 'risk_score', 'facility_id') }} as mean_risk
    from hospital_scores
    group by grouping sets (  -- noqa: PRS
        (score_name, state_code, income_tier),
        (score_name, state_code)
    )
),

scored_cells as (
    select
        cells.*,
        national.national_average_risk,
        national.national_sd_risk,
        cells.mean_risk - national.national_average_risk as difference_to_national,
        national.national_sd_risk / sqrt(nullif(cells.scored_hospitals, 0)) as funnel_se,
        (cells.mean_risk - national.national_average_risk)
        / nullif(national.national_sd_risk / sqrt(nullif(cells.scored_hospitals, 0)), 0) as z_score
    from cells
    inner join national on cells.score_name = national.score_name
),

winsor_bounds as (
    select
        score_name,
        is_state_total,
        {{ quantile_cont_list('z_score', [var('funnel_winsorise_fraction'), 1 - var('funnel_winsorise_fraction')]) }}
            as bounds,
        count(*) as dispersion_cells,
        cast(sum(scored_hospitals) as bigint) as dispersion_hospitals,
        cast(sum(scored_hospitals * scored_hospitals) as bigint) as dispersion_hospitals_squared
    from scored_cells
    where z_score is not null
    group by score_name, is_state_total
),

winsorised as (
    select
        scored_cells.score_name,
        scored_cells.is_state_total,
        scored_cells.state_code,
        scored_cells.income_tier,
        least(
            greatest(scored_cells.z_score, {{ list_at('winsor_bounds.bounds', 1) }}),
            {{ list_at('winsor_bounds.bounds', 2) }}
        ) as winsorised_z
    from scored_cells
    inner join winsor_bounds
        on
            scored_cells.score_name = winsor_bounds.score_name
            and scored_cells.is_state_total = winsor_bounds.is_state_total
    where scored_cells.z_score is not null
),

phi as (
    select
        score_name,
        is_state_total,
        {{ ordered_aggregate('sum', 'winsorised_z * winsorised_z', 'state_code, income_tier') }}
            as winsorised_z_squares
    from winsorised
    group by score_name, is_state_total
),

dispersion_test as (
    select
        winsor_bounds.score_name,
        winsor_bounds.is_state_total,
        winsor_bounds.dispersion_cells,
        phi.winsorised_z_squares / winsor_bounds.dispersion_cells as dispersion_phi,
        phi.winsorised_z_squares as dispersion_chi_square,
        winsor_bounds.dispersion_cells - 1 as dispersion_df,
        -- Wilson-Hilferty: (X / k)^(1/3) is about normal with mean 1 - 2 / (9k) and variance 2 / (9k).
        case
            when winsor_bounds.dispersion_cells >= 2
                then
                    (
                        power(phi.winsorised_z_squares / {{ df }}, 1 / cast(3 as double))
                        - (1 - 2 / (9 * {{ df }}))
                    )
                    / sqrt(2 / (9 * {{ df }}))
        end as dispersion_z,
        -- sum w - sum w^2 / sum w with w = n / SD^2, times SD^2: N - sum n^2 / N (exact integers).
        winsor_bounds.dispersion_hospitals
        - cast(winsor_bounds.dispersion_hospitals_squared as double) / winsor_bounds.dispersion_hospitals
            as weight_spread
    from winsor_bounds
    inner join phi
        on winsor_bounds.score_name = phi.score_name and winsor_bounds.is_state_total = phi.is_state_total
),

dispersion as (
    select
        dispersion_test.*,
        coalesce(dispersion_test.dispersion_z > {{ var('funnel_overdispersion_z') }}, false) as is_overdispersed,
        case
            when
                dispersion_test.dispersion_chi_square > dispersion_test.dispersion_df
                and dispersion_test.weight_spread > 0
                then
                    power(national.national_sd_risk, 2)
                    * (dispersion_test.dispersion_chi_square - dispersion_test.dispersion_df)
                    / dispersion_test.weight_spread
            else 0
        end as tau_squared
    from dispersion_test
    inner join national on dispersion_test.score_name = national.score_name
),

limits as (
    select
        scored_cells.*,
        case when scored_cells.is_state_total then 'state' else 'state x income tier' end as cell_level,
        cast(scored_cells.scored_hospitals as double) / nullif(scored_cells.hospitals, 0) as share_scored,
        {{ wilson_lower('scored_cells.scored_hospitals', 'scored_cells.hospitals') }} as share_scored_lower_95,
        {{ wilson_upper('scored_cells.scored_hospitals', 'scored_cells.hospitals') }} as share_scored_upper_95,
        cast({{ var('funnel_winsorise_fraction') }} as double) as winsorise_fraction,
        dispersion.dispersion_cells,
        dispersion.dispersion_phi,
        dispersion.dispersion_chi_square,
        dispersion.dispersion_df,
        dispersion.dispersion_z,
        coalesce(dispersion.is_overdispersed, false) as is_overdispersed,
        coalesce(dispersion.tau_squared, 0) as tau_squared,
        sqrt(power(scored_cells.funnel_se, 2) + coalesce(dispersion.tau_squared, 0)) as funnel_se_adjusted
    from scored_cells
    left join dispersion
        on scored_cells.score_name = dispersion.score_name and scored_cells.is_state_total = dispersion.is_state_total
),

bounded as (
    select
        *,
        national_average_risk - {{ var('z_95') }} * funnel_se as funnel_lower_95,
        national_average_risk + {{ var('z_95') }} * funnel_se as funnel_upper_95,
        national_average_risk - {{ var('z_99_8') }} * funnel_se as funnel_lower_99_8,
        national_average_risk + {{ var('z_99_8') }} * funnel_se as funnel_upper_99_8,
        national_average_risk - {{ var('z_95') }} * funnel_se_adjusted as funnel_lower_95_adjusted,
        national_average_risk + {{ var('z_95') }} * funnel_se_adjusted as funnel_upper_95_adjusted,
        national_average_risk - {{ var('z_99_8') }} * funnel_se_adjusted as funnel_lower_99_8_adjusted,
        national_average_risk + {{ var('z_99_8') }} * funnel_se_adjusted as funnel_upper_99_8_adjusted,
        difference_to_national / nullif(funnel_se_adjusted, 0) as z_score_adjusted
    from limits
),

flagged as (
    select
        *,
        coalesce(mean_risk > funnel_upper_95, false) as is_worse_95,
        coalesce(mean_risk > funnel_upper_99_8, false) as is_worse_99_8,
        coalesce(mean_risk < funnel_lower_95, false) as is_better_95,
        coalesce(mean_risk < funnel_lower_99_8, false) as is_better_99_8,
        coalesce(mean_risk > funnel_upper_95_adjusted, false) as is_worse_95_adjusted,
        coalesce(mean_risk > funnel_upper_99_8_adjusted, false) as is_worse_99_8_adjusted,
        coalesce(mean_risk < funnel_lower_95_adjusted, false) as is_better_95_adjusted,
        coalesce(mean_risk < funnel_lower_99_8_adjusted, false) as is_better_99_8_adjusted,
        case
            when is_overdispersed then 'adjusted for overdispersion (additive random effects)'
            else 'unadjusted (no overdispersion found)'
        end as position_limits,
        {{ var('hotspot_min_hospitals') }} as min_hospitals_for_hotspot,
        scored_hospitals >= {{ var('hotspot_min_hospitals') }} as meets_min_hospitals
    from bounded
),

positioned as (
    select
        *,
        case
            when mean_risk is null then 'no scored hospital'
            when mean_risk > (case when is_overdispersed then funnel_upper_99_8_adjusted else funnel_upper_99_8 end)
                then 'above the 99.8% limit'
            when mean_risk > (case when is_overdispersed then funnel_upper_95_adjusted else funnel_upper_95 end)
                then 'above the 95% limit'
            when mean_risk < (case when is_overdispersed then funnel_lower_99_8_adjusted else funnel_lower_99_8 end)
                then 'below the 99.8% limit'
            when mean_risk < (case when is_overdispersed then funnel_lower_95_adjusted else funnel_lower_95 end)
                then 'below the 95% limit'
            else 'within the 95% limits'
        end as funnel_position
    from flagged
),

final as (
    select
        *,
        funnel_position like 'above%' and meets_min_hospitals as is_hotspot,
        case
            when scored_hospitals = 0 then 'no scored hospital: no mean, no position'
            when not meets_min_hospitals
                then
                    'fewer than ' || cast(min_hospitals_for_hotspot as string)
                    || ' scored hospitals: too few for a hotspot'
            when scored_hospitals * 2 < hospitals
                then
                    'the mean rests on ' || cast(scored_hospitals as string) || ' of '
                    || cast(hospitals as string) || ' hospitals (a minority): it describes the scored ones only'
        end as cell_note
    from positioned
)

select * from final
