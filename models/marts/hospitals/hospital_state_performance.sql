-- One row per score x state x income tier, and per score x state across all tiers ('All'):
-- hospitals, mean risk score, difference to the national average, and funnel-plot limits around
-- the national mean for the cell's number of scored hospitals: national mean +/- z * national SD /
-- sqrt(n), z for 95% and 99.8% (vars z_95, z_99_8). A cell is worse than national when its mean
-- lies above the upper limit; a hotspot is worse than national at 95% with at least var
-- hotspot_min_hospitals scored hospitals. has_mid_tier_hotspot marks the states where even
-- Mid-income hospitals are hotspots.
with

hospitals as (
    select * from {{ ref('hospital_scores') }}
),

national as (
    select
        score_name,
        any_value(national_average_risk) as national_average_risk,
        any_value(national_sd_risk) as national_sd_risk
    from hospitals
    group by score_name
),

by_group as (
    select
        score_name,
        any_value(score_label) as score_label,
        bool_or(is_headline) as is_headline,
        state_code,
        any_value(state_name) as state_name,
        any_value(census_region) as census_region,
        bool_or(is_territory) as is_territory,
        case
            when grouping(coalesce(income_tier, 'Unmatched')) = 1 then 'All'
            else coalesce(income_tier, 'Unmatched')
        end as income_tier,
        count(*) as hospitals,
        count(risk_score) as scored_hospitals,
        avg(risk_score) as mean_risk
    from hospitals
    group by grouping sets (  -- noqa: PRS
        (score_name, state_code, coalesce(income_tier, 'Unmatched')),
        (score_name, state_code)
    )
),

limits as (
    select
        by_group.*,
        national.national_average_risk,
        national.national_sd_risk,
        by_group.mean_risk - national.national_average_risk as difference_to_national,
        national.national_sd_risk / sqrt(nullif(by_group.scored_hospitals, 0)) as funnel_se,
        {{ var('hotspot_min_hospitals') }} as min_hospitals_for_hotspot,
        by_group.scored_hospitals >= {{ var('hotspot_min_hospitals') }} as meets_min_hospitals
    from by_group
    inner join national on by_group.score_name = national.score_name
),

flagged as (
    select
        *,
        national_average_risk - {{ var('z_95') }} * funnel_se as funnel_lower_95,
        national_average_risk + {{ var('z_95') }} * funnel_se as funnel_upper_95,
        national_average_risk - {{ var('z_99_8') }} * funnel_se as funnel_lower_99_8,
        national_average_risk + {{ var('z_99_8') }} * funnel_se as funnel_upper_99_8,
        coalesce(mean_risk > national_average_risk + {{ var('z_95') }} * funnel_se, false) as is_worse_95,
        coalesce(mean_risk > national_average_risk + {{ var('z_99_8') }} * funnel_se, false) as is_worse_99_8,
        coalesce(mean_risk < national_average_risk - {{ var('z_95') }} * funnel_se, false) as is_better_95,
        coalesce(mean_risk < national_average_risk - {{ var('z_99_8') }} * funnel_se, false) as is_better_99_8
    from limits
),

final as (
    select
        *,
        is_worse_95 and meets_min_hospitals as is_hotspot,
        bool_or(is_worse_95 and meets_min_hospitals and income_tier = 'Mid')
            over (partition by score_name, state_code) as has_mid_tier_hotspot
    from flagged
)

select * from final
