-- One row per state x income tier, and per state across all tiers ('All'): hospitals, mean
-- normalised clinical risk, difference to the national average, and a hotspot flag (worse than
-- national with at least var hotspot_min_hospitals scored hospitals). has_mid_tier_hotspot marks
-- the states where even Mid-income hospitals fall below the national average.
with

hospitals as (
    select * from {{ ref('hospital_equity') }}
),

national as (
    select any_value(national_average_risk) as national_average_risk from hospitals
),

by_group as (
    select
        state_code,
        any_value(state_name) as state_name,
        any_value(census_region) as census_region,
        coalesce(income_tier, 'Unmatched') as income_tier,
        count(*) as hospitals,
        count(clinical_risk_score) as scored_hospitals,
        avg(clinical_risk_score) as mean_risk
    from hospitals
    group by state_code, coalesce(income_tier, 'Unmatched')
    union all
    select
        state_code,
        any_value(state_name) as state_name,
        any_value(census_region) as census_region,
        'All' as income_tier,
        count(*) as hospitals,
        count(clinical_risk_score) as scored_hospitals,
        avg(clinical_risk_score) as mean_risk
    from hospitals
    group by state_code
),

flagged as (
    select
        by_group.*,
        national.national_average_risk,
        by_group.mean_risk - national.national_average_risk as difference_to_national,
        coalesce(
            by_group.mean_risk > national.national_average_risk
            and by_group.scored_hospitals >= {{ var('hotspot_min_hospitals') }},
            false
        ) as is_hotspot
    from by_group
    cross join national
),

final as (
    select
        *,
        bool_or(is_hotspot and income_tier = 'Mid') over (partition by state_code) as has_mid_tier_hotspot
    from flagged
)

select * from final
