-- One row per score x state x income tier (cell_level 'state x income tier') and per score x
-- state across all tiers (income_tier 'All', cell_level 'state', is_state_total): hospitals,
-- scored hospitals and the share scored, mean score, difference to the national average, the
-- funnel limits for the cell's number of scored hospitals (unadjusted, and widened for
-- overdispersion), the dispersion test of the cell's level, and the flags. Every hospital is
-- counted once among the tier rows of a state and once in its total row: sum `hospitals` over
-- one of the two, never both. Defined in int_hospitals_state_funnel; has_mid_tier_hotspot marks
-- the states where even Mid-income hospitals are hotspots.
with

cells as (
    select * from {{ ref('int_hospitals_state_funnel') }}
),

final as (
    select
        score_name,
        score_label,
        is_headline,
        state_code,
        state_name,
        census_region,
        is_territory,
        income_tier,
        cell_level,
        is_state_total,
        hospitals,
        scored_hospitals,
        share_scored,
        share_scored_lower_95,
        share_scored_upper_95,
        'Wilson score' as share_scored_ci_method,
        mean_risk,
        national_average_risk,
        national_sd_risk,
        difference_to_national,
        funnel_se,
        z_score,
        min_hospitals_for_hotspot,
        meets_min_hospitals,
        cell_note,
        funnel_lower_95,
        funnel_upper_95,
        funnel_lower_99_8,
        funnel_upper_99_8,
        is_worse_95,
        is_worse_99_8,
        is_better_95,
        is_better_99_8,
        winsorise_fraction,
        dispersion_cells,
        dispersion_phi,
        dispersion_chi_square,
        dispersion_df,
        dispersion_z,
        is_overdispersed,
        tau_squared,
        funnel_se_adjusted,
        z_score_adjusted,
        funnel_lower_95_adjusted,
        funnel_upper_95_adjusted,
        funnel_lower_99_8_adjusted,
        funnel_upper_99_8_adjusted,
        is_worse_95_adjusted,
        is_worse_99_8_adjusted,
        is_better_95_adjusted,
        is_better_99_8_adjusted,
        position_limits,
        funnel_position,
        is_hotspot,
        bool_or(is_hotspot and income_tier = 'Mid')
            over (partition by score_name, state_code) as has_mid_tier_hotspot
    from cells
)

select * from final
