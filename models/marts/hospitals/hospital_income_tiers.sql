-- One row per score x income tier: hospitals, mean risk score with a 95% CI (normal
-- approximation: mean +/- z * SD / sqrt(n)), the gap to the highest-income tier with its 95% CI
-- (difference of independent means), and a relative gap: the tier's share of measures rated worse
-- than the national rate against the highest tier's share, in %.
with

hospitals as (
    select * from {{ ref('hospital_scores') }}
    where income_tier is not null
),

tiers as (
    select
        score_name,
        any_value(score_label) as score_label,
        bool_or(is_headline) as is_headline,
        any_value(score_unit) as score_unit,
        income_tier,
        any_value(income_tier_order) as tier_order,
        count(*) as hospitals,
        count(risk_score) as scored_hospitals,
        avg(median_household_income) as mean_income,
        avg(risk_score) as mean_risk,
        stddev_samp(risk_score) as sd_risk,
        stddev_samp(risk_score) / sqrt(nullif(count(risk_score), 0)) as se_risk,
        cast(sum(measures_worse) filter (where is_scored) as bigint) as measures_worse,
        cast(sum(measures_counted) filter (where is_scored) as bigint) as measures_counted
    from hospitals
    group by score_name, income_tier
),

highest as (
    select * from tiers
    qualify tier_order = max(tier_order) over (partition by score_name)
),

final as (
    select
        tiers.score_name,
        tiers.score_label,
        tiers.is_headline,
        tiers.score_unit,
        tiers.income_tier,
        tiers.tier_order,
        tiers.hospitals,
        tiers.scored_hospitals,
        tiers.mean_income,
        tiers.mean_risk,
        tiers.sd_risk,
        tiers.se_risk,
        tiers.mean_risk - {{ var('z_95') }} * tiers.se_risk as mean_risk_lower_95,
        tiers.mean_risk + {{ var('z_95') }} * tiers.se_risk as mean_risk_upper_95,
        'normal approximation' as ci_method,
        highest.income_tier as highest_tier,
        tiers.mean_risk - highest.mean_risk as gap_to_highest_tier,
        sqrt(power(tiers.se_risk, 2) + power(highest.se_risk, 2)) as gap_se,
        case
            when tiers.income_tier != highest.income_tier then
                tiers.mean_risk - highest.mean_risk
                - {{ var('z_95') }} * sqrt(power(tiers.se_risk, 2) + power(highest.se_risk, 2))
        end as gap_lower_95,
        case
            when tiers.income_tier != highest.income_tier then
                tiers.mean_risk - highest.mean_risk
                + {{ var('z_95') }} * sqrt(power(tiers.se_risk, 2) + power(highest.se_risk, 2))
        end as gap_upper_95,
        tiers.measures_worse,
        tiers.measures_counted,
        tiers.measures_worse / nullif(tiers.measures_counted, 0) as share_measures_worse,
        (
            tiers.measures_worse / nullif(tiers.measures_counted, 0)
            / nullif(highest.measures_worse / nullif(highest.measures_counted, 0), 0)
            - 1
        ) * 100 as gap_to_highest_tier_pct
    from tiers
    inner join highest on tiers.score_name = highest.score_name
)

select * from final
