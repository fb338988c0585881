-- One row per hospital of the CMS file (every clean hospital; none dropped): descriptors, ZIP
-- income and how it was matched, income tier and quintile, both clinical risk scores raw and
-- normalised within hospital type, the national average and each hospital's difference to it.
-- clinical_risk_score is the normalised Complications-and-Deaths score (higher = worse).
with

hospitals as (
    select * from {{ ref('stg_cms__hospitals') }}
),

income as (
    select * from {{ ref('int_hospitals_income_matched') }}
),

group_scores as (
    select * from {{ ref('int_hospitals_group_scores') }}
),

measure_scores as (
    select * from {{ ref('int_hospitals_measure_scores') }}
),

states as (
    select * from {{ ref('ref_us_states') }}
),

joined as (
    select
        hospitals.facility_id,
        hospitals.facility_name,
        hospitals.city,
        hospitals.state_code,
        states.state_name,
        states.census_region,
        hospitals.zip_code,
        hospitals.county,
        hospitals.hospital_type,
        hospitals.hospital_ownership,
        hospitals.has_emergency_services,
        hospitals.is_birthing_friendly,
        hospitals.overall_rating,
        hospitals.overall_rating_status,
        income.median_household_income,
        income.income_match_method,
        income.is_top_coded as is_income_top_coded,
        income.income_tier,
        income.income_tier_order,
        income.income_quintile,
        group_scores.groups_scored,
        group_scores.mortality_net_worse,
        group_scores.safety_net_worse,
        group_scores.readmission_net_worse,
        group_scores.group_risk_score_raw,
        coalesce(measure_scores.measures_scored, 0) as measures_scored,
        measure_scores.measure_risk_score_raw,
        measure_scores.mean_ratio_to_national
    from hospitals
    inner join states on hospitals.state_code = states.state_code
    left join income on hospitals.facility_id = income.facility_id
    left join group_scores on hospitals.facility_id = group_scores.facility_id
    left join measure_scores on hospitals.facility_id = measure_scores.facility_id
),

type_constants as (
    select
        *,
        avg(measure_risk_score_raw) over by_type as type_mean_measure_score,
        stddev_samp(measure_risk_score_raw) over by_type as type_sd_measure_score,
        avg(group_risk_score_raw) over by_type as type_mean_group_score,
        stddev_samp(group_risk_score_raw) over by_type as type_sd_group_score
    from joined
    window by_type as (partition by hospital_type)
),

normalised as (
    select
        *,
        (measure_risk_score_raw - type_mean_measure_score) / nullif(type_sd_measure_score, 0)
            as clinical_risk_score,
        (group_risk_score_raw - type_mean_group_score) / nullif(type_sd_group_score, 0)
            as group_risk_score
    from type_constants
),

final as (
    select
        *,
        clinical_risk_score is not null as is_scored,
        case
            when measure_risk_score_raw is null
                then 'not scored: fewer than {{ var("min_measures_for_score") }} measures with a score'
            when clinical_risk_score is null then 'not scored: too few scored hospitals of this type'
        end as score_flag,
        avg(clinical_risk_score) over () as national_average_risk,
        clinical_risk_score - avg(clinical_risk_score) over () as difference_to_national,
        avg(group_risk_score) over () as national_average_group_risk,
        group_risk_score - avg(group_risk_score) over () as group_difference_to_national
    from normalised
)

select * from final
