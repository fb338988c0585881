-- One row per hospital x score: every hospital score of int_hospitals_scores in long form, with
-- what the tier, state and regression marts group and model by. Keyed by score_name, so BI tools
-- can put the scores side by side; is_headline marks the var headline_score.
with

scores as (
    select * from {{ ref('int_hospitals_scores') }}
),

hospitals as (
    select * from {{ ref('hospital_equity') }}
),

final as (
    select
        scores.facility_id,
        scores.score_name,
        scores.score_label,
        scores.is_headline,
        scores.source_extract,
        scores.score_unit,
        scores.risk_score,
        scores.is_scored,
        scores.score_reason,
        scores.groups_reported,
        scores.groups_counted,
        scores.measures_counted,
        scores.measures_worse,
        scores.mortality_group_value,
        scores.safety_group_value,
        scores.readmission_group_value,
        scores.mortality_group_z,
        scores.safety_group_z,
        scores.readmission_group_z,
        scores.national_average_risk,
        scores.national_sd_risk,
        scores.difference_to_national,
        scores.risk_score_within_type,
        hospitals.facility_name,
        hospitals.state_code,
        hospitals.state_name,
        hospitals.census_region,
        hospitals.is_territory,
        hospitals.hospital_type,
        hospitals.hospital_ownership,
        hospitals.has_emergency_services,
        hospitals.overall_rating,
        hospitals.median_household_income,
        hospitals.income_match_method,
        hospitals.income_coding,
        hospitals.is_income_coded,
        hospitals.income_tier,
        hospitals.income_tier_order,
        hospitals.income_quintile
    from scores
    inner join hospitals on scores.facility_id = hospitals.facility_id
)

select * from final
