-- One row per hospital of the CMS file (every clean hospital; none dropped): descriptors, ZIP
-- income and how it was matched (with the Census coding of the income), income tier and
-- quintile, and every hospital score side by side. clinical_risk_score is the headline score
-- (var headline_score; default the General Information group score, which every user has), with
-- its national average and each hospital's difference to it. Scores are defined in
-- int_hospitals_scores; this mart joins, it does not define.
with

hospitals as (
    select * from {{ ref('stg_cms__hospitals') }}
),

income as (
    select * from {{ ref('int_hospitals_income_matched') }}
),

scores as (
    select * from {{ ref('int_hospitals_scores') }}
),

states as (
    select * from {{ ref('ref_us_states') }}
),

wide as (
    select
        facility_id,
        max(risk_score) filter (where score_name = 'hgi_group_score') as hgi_group_score,
        any_value(score_reason) filter (where score_name = 'hgi_group_score') as hgi_group_score_reason,
        max(groups_counted) filter (where score_name = 'hgi_group_score') as hgi_groups_counted,
        max(mortality_group_value) filter (where score_name = 'hgi_group_score') as mortality_net_worse,
        max(safety_group_value) filter (where score_name = 'hgi_group_score') as safety_net_worse,
        max(readmission_group_value) filter (where score_name = 'hgi_group_score') as readmission_net_worse,
        max(risk_score) filter (where score_name = 'measure_score') as measure_score,
        any_value(score_reason) filter (where score_name = 'measure_score') as measure_score_reason,
        max(measures_counted) filter (where score_name = 'measure_score') as measures_scored,
        max(risk_score) filter (where is_headline) as clinical_risk_score,
        max(risk_score_within_type) filter (where is_headline) as clinical_risk_score_within_type,
        any_value(score_reason) filter (where is_headline) as score_flag,
        max(national_average_risk) filter (where is_headline) as national_average_risk,
        max(difference_to_national) filter (where is_headline) as difference_to_national
    from scores
    group by facility_id
),

final as (
    select
        hospitals.facility_id,
        hospitals.facility_name,
        hospitals.city,
        hospitals.state_code,
        states.state_name,
        states.census_region,
        states.is_territory,
        hospitals.zip_code,
        hospitals.county,
        hospitals.hospital_type,
        hospitals.is_known_type as is_known_hospital_type,
        hospitals.hospital_ownership,
        hospitals.has_emergency_services,
        hospitals.is_birthing_friendly,
        hospitals.overall_rating,
        hospitals.overall_rating_status,
        income.median_household_income,
        income.income_match_method,
        income.income_coding,
        income.is_income_coded,
        coalesce(income.income_coding = 'top-coded', false) as is_income_top_coded,
        coalesce(income.income_coding = 'bottom-coded', false) as is_income_bottom_coded,
        income.income_tier,
        income.income_tier_order,
        income.income_quintile,
        '{{ var("headline_score") }}' as headline_score_name,
        wide.clinical_risk_score,
        wide.clinical_risk_score_within_type,
        wide.clinical_risk_score is not null as is_scored,
        wide.score_flag,
        wide.national_average_risk,
        wide.difference_to_national,
        wide.hgi_group_score,
        wide.hgi_group_score_reason,
        wide.hgi_groups_counted,
        wide.mortality_net_worse,
        wide.safety_net_worse,
        wide.readmission_net_worse,
        wide.measure_score,
        wide.measure_score_reason,
        coalesce(wide.measures_scored, 0) as measures_scored
    from hospitals
    inner join states on hospitals.state_code = states.state_code
    left join income on hospitals.facility_id = income.facility_id
    left join wide on hospitals.facility_id = wide.facility_id
)

select * from final
