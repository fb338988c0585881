-- One row per income tier: hospitals, mean normalised clinical risk with a 95% CI (normal
-- approximation), and the gap to the highest-income tier, absolute (risk SD units) and in % of
-- the mean ratio of scores to national rates.
with

hospitals as (
    select * from {{ ref('hospital_equity') }}
    where income_tier is not null
),

tiers as (
    select
        income_tier,
        any_value(income_tier_order) as tier_order,
        count(*) as hospitals,
        count(clinical_risk_score) as scored_hospitals,
        avg(clinical_risk_score) as mean_risk,
        stddev_samp(clinical_risk_score) as sd_risk,
        avg(mean_ratio_to_national) as mean_ratio_to_national,
        avg(median_household_income) as mean_income
    from hospitals
    group by income_tier
),

highest as (
    select * from tiers
    qualify tier_order = max(tier_order) over ()
),

final as (
    select
        tiers.income_tier,
        tiers.tier_order,
        tiers.hospitals,
        tiers.scored_hospitals,
        tiers.mean_income,
        tiers.mean_risk,
        tiers.sd_risk,
        tiers.mean_risk - 1.959963984540054 * tiers.sd_risk / sqrt(tiers.scored_hospitals) as mean_risk_lower_95,
        tiers.mean_risk + 1.959963984540054 * tiers.sd_risk / sqrt(tiers.scored_hospitals) as mean_risk_upper_95,
        tiers.mean_ratio_to_national,
        highest.income_tier as highest_tier,
        tiers.mean_risk - highest.mean_risk as gap_to_highest_tier,
        (tiers.mean_ratio_to_national - highest.mean_ratio_to_national)
        / highest.mean_ratio_to_national * 100 as gap_to_highest_tier_pct
    from tiers
    cross join highest
)

select * from final
