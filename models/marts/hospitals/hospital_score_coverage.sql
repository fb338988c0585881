-- Who has each hospital score: one row per score x breakdown x group, the breakdowns being all
-- hospitals, income tier, hospital type, and income tier x hospital type. Hospitals, scored
-- hospitals, the share scored with its Wilson interval, and the mean score of the scored ones
-- with a normal-approximation CI: the selection behind every tier and state mean (on the 2025
-- CMS file most critical access hospitals have too few measures to be scored). Each breakdown
-- counts every hospital once: sum `hospitals` within one breakdown, never across breakdowns.
-- Hospitals without a matched income are the income tier 'Unmatched'.
with

hospitals as (
    select
        facility_id,
        score_name,
        score_label,
        is_headline,
        hospital_type,
        coalesce(income_tier, 'Unmatched') as income_tier,
        income_tier_order,
        risk_score
    from {{ ref('hospital_scores') }}
),

grouped as (
    select
        score_name,
        max(score_label) as score_label,
        bool_or(is_headline) as is_headline,
        case
            when grouping(income_tier) = 1 and grouping(hospital_type) = 1 then 'all hospitals'
            when grouping(hospital_type) = 1 then 'income tier'
            when grouping(income_tier) = 1 then 'hospital type'
            else 'income tier x hospital type'
        end as breakdown,
        case when grouping(income_tier) = 1 then 'All' else income_tier end as income_tier,
        case when grouping(income_tier) = 1 then null else max(income_tier_order) end as income_tier_order,
        case when grouping(hospital_type) = 1 then 'All' else hospital_type end as hospital_type,
        count(*) as hospitals,
        count(risk_score) as scored_hospitals,
        {{ ordered_aggregate('avg', 'risk_score', 'facility_id') }} as mean_risk,
        {{ ordered_aggregate('stddev_samp', 'risk_score', 'facility_id') }}
        / sqrt(nullif(count(risk_score), 0)) as se_risk
    from hospitals
    group by grouping sets (  -- noqa: PRS
        (score_name),
        (score_name, income_tier),
        (score_name, hospital_type),
        (score_name, income_tier, hospital_type)
    )
),

final as (
    select
        score_name,
        score_label,
        is_headline,
        breakdown,
        income_tier,
        income_tier_order,
        hospital_type,
        hospitals,
        scored_hospitals,
        hospitals - scored_hospitals as unscored_hospitals,
        cast(scored_hospitals as double) / nullif(hospitals, 0) as share_scored,
        {{ wilson_lower('scored_hospitals', 'hospitals') }} as share_scored_lower_95,
        {{ wilson_upper('scored_hospitals', 'hospitals') }} as share_scored_upper_95,
        'proportion of hospitals' as share_scored_unit,
        'Wilson score' as share_scored_ci_method,
        mean_risk,
        mean_risk - {{ var('z_95') }} * se_risk as mean_risk_lower_95,
        mean_risk + {{ var('z_95') }} * se_risk as mean_risk_upper_95,
        'normal approximation' as mean_risk_ci_method
    from grouped
)

select * from final
