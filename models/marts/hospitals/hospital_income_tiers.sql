-- One row per score x income tier (doc block hospital_tier_comparisons):
--   * who the mean describes: hospitals in the tier, those with the score and the share scored
--     (Wilson score interval);
--   * the mean score with a 95% CI (normal approximation: mean +/- z * SD / sqrt(n)), and the gap
--     to the highest-income tier with its 95% CI (difference of independent means), in score
--     units and in SDs of the score across hospitals (gap / national SD);
--   * the share of measures CMS rates worse than the national rate (measures_worse /
--     measures_counted over the scored hospitals), with a 95% CI that respects the clustering of
--     measures within hospitals: the ratio estimator's linearised (cluster-robust) variance, from
--     exact integer sums, gives a design effect; the Wilson interval is taken at the effective
--     number of measures (Kish 1965; Korn & Graubard 1998). Against the highest tier: the
--     difference in percentage points (Newcombe's hybrid score interval on those limits) and the
--     ratio (log method with the linearised variances).
{% set y = 'cast(measures_worse as decimal(38, 0))' %}
{% set m = 'cast(measures_counted as decimal(38, 0))' %}
with

hospitals as (
    select * from {{ ref('hospital_scores') }}
    where income_tier is not null
),

tiers as (
    select
        score_name,
        max(score_label) as score_label,
        bool_or(is_headline) as is_headline,
        max(score_unit) as score_unit,
        income_tier,
        max(income_tier_order) as tier_order,
        count(*) as hospitals,
        count(risk_score) as scored_hospitals,
        {{ ordered_aggregate('avg', 'median_household_income', 'facility_id') }} as mean_income,
        max(national_sd_risk) as national_sd_risk,
        {{ ordered_aggregate('avg', 'risk_score', 'facility_id') }} as mean_risk,
        {{ ordered_aggregate('stddev_samp', 'risk_score', 'facility_id') }} as sd_risk,
        {{ ordered_aggregate('stddev_samp', 'risk_score', 'facility_id') }}
        / sqrt(nullif(count(risk_score), 0)) as se_risk,
        cast(sum(measures_worse) filter (where is_scored) as bigint) as measures_worse,
        cast(sum(measures_counted) filter (where is_scored) as bigint) as measures_counted,
        -- The clusters (scored hospitals with measures) and exact sums of squares and products of
        -- each hospital's worse (y) and counted (m) measures, for the linearised variance.
        count(*) filter (where is_scored and measures_counted > 0) as measure_clusters,
        sum({{ y }} * {{ y }}) filter (where is_scored) as sum_yy,
        sum({{ y }} * {{ m }}) filter (where is_scored) as sum_ym,
        sum({{ m }} * {{ m }}) filter (where is_scored) as sum_mm
    from hospitals
    group by score_name, income_tier
),

shares as (
    select
        *,
        cast(scored_hospitals as double) / nullif(hospitals, 0) as share_scored,
        cast(measures_worse as double) / nullif(measures_counted, 0) as share_measures_worse,
        -- var(p) = k / (k - 1) * sum (y_i - p m_i)^2 / M^2, p = Y / M, k hospitals (the linearised
        -- variance of a ratio estimate, Cochran 1977 ch. 6; the same as the cluster-robust CR1
        -- sandwich of an intercept-only regression of each measure's 0/1 worse rating, hospitals
        -- as clusters), written as
        -- (M^2 sum y^2 - 2 Y M sum y m + Y^2 sum m^2) / M^4 so the numerator is an exact integer.
        case
            when measure_clusters >= 2 and measures_counted > 0
                then
                    cast(measure_clusters as double) / (measure_clusters - 1)
                    * cast(
                        {{ m }} * {{ m }} * sum_yy
                        - 2 * {{ y }} * {{ m }} * sum_ym
                        + {{ y }} * {{ y }} * sum_mm
                        as double
                    )
                    / power(cast(measures_counted as double), 4)
        end as share_measures_worse_variance
    from tiers
),

design as (
    select
        *,
        -- Design effect: the clustered variance over the variance of independent measures,
        -- never below 1 (and 1 when the share is 0 or 1, where both variances are 0).
        case
            when share_measures_worse > 0 and share_measures_worse < 1 and share_measures_worse_variance is not null
                then
                    greatest(
                        1,
                        share_measures_worse_variance
                        / (share_measures_worse * (1 - share_measures_worse) / measures_counted)
                    )
            when measures_counted > 0 then 1
        end as share_measures_worse_design_effect
    from shares
),

effective as (
    select
        *,
        measures_counted / share_measures_worse_design_effect as share_measures_worse_effective_n,
        share_measures_worse * measures_counted / share_measures_worse_design_effect as effective_measures_worse
    from design
),

limits as (
    select
        *,
        {{ wilson_lower('effective_measures_worse', 'share_measures_worse_effective_n') }}
            as share_measures_worse_lower_95,
        {{ wilson_upper('effective_measures_worse', 'share_measures_worse_effective_n') }}
            as share_measures_worse_upper_95,
        {{ wilson_lower('scored_hospitals', 'hospitals') }} as share_scored_lower_95,
        {{ wilson_upper('scored_hospitals', 'hospitals') }} as share_scored_upper_95
    from effective
),

highest as (
    select * from limits
    qualify tier_order = max(tier_order) over (partition by score_name)
),

compared as (
    select
        limits.*,
        highest.income_tier as highest_tier,
        limits.income_tier = highest.income_tier as is_highest_tier,
        limits.mean_risk - highest.mean_risk as gap_to_highest_tier,
        sqrt(power(limits.se_risk, 2) + power(highest.se_risk, 2)) as gap_se,
        limits.share_measures_worse - highest.share_measures_worse as share_difference,
        -- Newcombe (1998) method 10: the difference's limits from each share's own limits.
        sqrt(
            power(limits.share_measures_worse - limits.share_measures_worse_lower_95, 2)
            + power(highest.share_measures_worse_upper_95 - highest.share_measures_worse, 2)
        ) as share_difference_below,
        sqrt(
            power(limits.share_measures_worse_upper_95 - limits.share_measures_worse, 2)
            + power(highest.share_measures_worse - highest.share_measures_worse_lower_95, 2)
        ) as share_difference_above,
        limits.share_measures_worse / nullif(highest.share_measures_worse, 0) as share_ratio,
        sqrt(
            limits.share_measures_worse_variance / power(nullif(limits.share_measures_worse, 0), 2)
            + highest.share_measures_worse_variance / power(nullif(highest.share_measures_worse, 0), 2)
        ) as share_ratio_log_se
    from limits
    inner join highest on limits.score_name = highest.score_name
),

final as (
    select
        score_name,
        score_label,
        is_headline,
        score_unit,
        income_tier,
        tier_order,
        hospitals,
        scored_hospitals,
        share_scored,
        share_scored_lower_95,
        share_scored_upper_95,
        'Wilson score' as share_scored_ci_method,
        case
            when hospitals = 0 then null
            when scored_hospitals = 0 then 'no hospital of the tier has the score: no mean'
            else
                'the mean describes the ' || cast(scored_hospitals as string) || ' of '
                || cast(hospitals as string) || ' hospitals of the tier with the score, not the others'
        end as selection_note,
        mean_income,
        mean_risk,
        sd_risk,
        se_risk,
        mean_risk - {{ var('z_95') }} * se_risk as mean_risk_lower_95,
        mean_risk + {{ var('z_95') }} * se_risk as mean_risk_upper_95,
        'normal approximation' as ci_method,
        highest_tier,
        gap_to_highest_tier,
        gap_se,
        case when not is_highest_tier then gap_to_highest_tier - {{ var('z_95') }} * gap_se end as gap_lower_95,
        case when not is_highest_tier then gap_to_highest_tier + {{ var('z_95') }} * gap_se end as gap_upper_95,
        'difference of independent means, normal approximation' as gap_ci_method,
        national_sd_risk,
        gap_to_highest_tier / nullif(national_sd_risk, 0) as gap_in_hospital_sd,
        case
            when not is_highest_tier
                then (gap_to_highest_tier - {{ var('z_95') }} * gap_se) / nullif(national_sd_risk, 0)
        end as gap_in_hospital_sd_lower_95,
        case
            when not is_highest_tier
                then (gap_to_highest_tier + {{ var('z_95') }} * gap_se) / nullif(national_sd_risk, 0)
        end as gap_in_hospital_sd_upper_95,
        measures_worse,
        measures_counted,
        measure_clusters,
        share_measures_worse,
        share_measures_worse_lower_95,
        share_measures_worse_upper_95,
        'proportion of measures' as share_measures_worse_unit,
        'Wilson score at the effective number of measures (design effect from the cluster-robust '
        || 'variance of the ratio estimator, hospitals as clusters; Korn & Graubard 1998)'
            as share_measures_worse_ci_method,
        share_measures_worse_design_effect,
        share_measures_worse_effective_n,
        100 * share_difference as share_worse_difference_pp,
        case when not is_highest_tier then 100 * (share_difference - share_difference_below) end
            as share_worse_difference_lower_95,
        case when not is_highest_tier then 100 * (share_difference + share_difference_above) end
            as share_worse_difference_upper_95,
        'Newcombe hybrid score (method 10) from the design-effect Wilson limits of both shares'
            as share_worse_difference_ci_method,
        share_ratio as share_worse_ratio,
        case when not is_highest_tier then share_ratio * exp(-{{ var('z_95') }} * share_ratio_log_se) end
            as share_worse_ratio_lower_95,
        case when not is_highest_tier then share_ratio * exp({{ var('z_95') }} * share_ratio_log_se) end
            as share_worse_ratio_upper_95,
        'log ratio, cluster-robust (linearised) variances of the two shares' as share_worse_ratio_ci_method
    from compared
)

select * from final
