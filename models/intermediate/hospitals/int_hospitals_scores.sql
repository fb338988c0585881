-- Every hospital score, one row per clean hospital x score of ref_hospital_scores, following the
-- CMS Overall Star Rating method where it applies (doc block hospital_scores_method):
--   1. group values (int_hospitals_group_inputs) oriented so that higher = worse;
--   2. a group counts when the hospital reports at least min_measures_per_group measures in it;
--   3. each group is standardised nationally: (value - mean) / SD over the hospitals for which
--      the group counts;
--   4. the score is the mean of the standardised groups weighted by the star-rating weights
--      (22% each), re-normalised over the groups the hospital has;
--   5. a hospital needs min_groups counted groups, one of them mortality or safety; otherwise
--      the score is NULL and score_reason says why (including "no data" when the score's file is
--      absent, header-only or has no usable value).
-- Also the national average of each score, each hospital's difference to it, and the score
-- re-standardised within hospital type (a view the CMS method does not take; kept for comparison).
with

hospitals as (
    select
        facility_id,
        hospital_type
    from {{ ref('stg_cms__hospitals') }}
),

scores as (
    select * from {{ ref('ref_hospital_scores') }}
),

weights as (
    select
        group_code,
        star_rating_weight,
        is_outcome_group
    from {{ ref('ref_cms_star_rating_groups') }}
    where in_clinical_risk_score
),

inputs as (
    select * from {{ ref('int_hospitals_group_inputs') }}
),

-- What each score's file held: rows read, and values that could enter a score.
extract_usage as (
    select
        'hospital_general_information' as source_extract,
        (select count(*) from {{ ref('base_cms__hospitals') }}) as rows_in_extract,
        count(*) filter (
            where mort_worse is not null or safety_worse is not null or readm_worse is not null
        ) as usable_values
    from {{ ref('stg_cms__hospitals') }}
    union all
    select
        'complications_and_deaths' as source_extract,
        (select count(*) from {{ ref('base_cms__complications_and_deaths') }}) as rows_in_extract,
        count(*) filter (where score is not null and is_known_measure) as usable_values
    from {{ ref('stg_cms__complications_and_deaths') }}
),

counted as (
    select
        inputs.*,
        weights.star_rating_weight,
        weights.is_outcome_group,
        inputs.measures_in_group >= scores.min_measures_per_group as is_group_counted
    from inputs
    inner join scores on inputs.score_name = scores.score_name
    inner join weights on inputs.group_code = weights.group_code
),

group_constants as (
    select
        score_name,
        group_code,
        {{ ordered_aggregate('avg', 'group_value', 'facility_id') }} as group_mean,
        {{ ordered_aggregate('stddev_samp', 'group_value', 'facility_id') }} as group_sd
    from counted
    where is_group_counted
    group by score_name, group_code
),

standardised as (
    select
        counted.*,
        case
            when counted.is_group_counted
                then (counted.group_value - group_constants.group_mean) / nullif(group_constants.group_sd, 0)
        end as group_z
    from counted
    left join group_constants
        on counted.score_name = group_constants.score_name and counted.group_code = group_constants.group_code
),

per_hospital as (
    select
        facility_id,
        score_name,
        count(*) as groups_reported,
        count(*) filter (where is_group_counted) as groups_counted,
        coalesce(bool_or(is_group_counted and is_outcome_group), false) as has_outcome_group,
        cast(sum(measures_in_group) filter (where is_group_counted) as bigint) as measures_counted,
        cast(sum(measures_worse) filter (where is_group_counted) as bigint) as measures_worse,
        {{ ordered_aggregate('sum', 'star_rating_weight * group_z', 'group_code', 'is_group_counted') }}
        / nullif({{ ordered_aggregate('sum', 'star_rating_weight', 'group_code', 'is_group_counted') }}, 0)
            as weighted_score,
        max(group_value) filter (where group_code = 'MORT') as mortality_group_value,
        max(group_value) filter (where group_code = 'Safety') as safety_group_value,
        max(group_value) filter (where group_code = 'READM') as readmission_group_value,
        max(group_z) filter (where group_code = 'MORT') as mortality_group_z,
        max(group_z) filter (where group_code = 'Safety') as safety_group_z,
        max(group_z) filter (where group_code = 'READM') as readmission_group_z
    from standardised
    group by facility_id, score_name
),

joined as (
    select
        hospitals.facility_id,
        hospitals.hospital_type,
        scores.score_name,
        scores.score_label,
        scores.source_extract,
        scores.unit as score_unit,
        scores.min_groups,
        scores.min_measures_per_group,
        coalesce(per_hospital.groups_reported, 0) as groups_reported,
        coalesce(per_hospital.groups_counted, 0) as groups_counted,
        coalesce(per_hospital.measures_counted, 0) as measures_counted,
        coalesce(per_hospital.measures_worse, 0) as measures_worse,
        per_hospital.mortality_group_value,
        per_hospital.safety_group_value,
        per_hospital.readmission_group_value,
        per_hospital.mortality_group_z,
        per_hospital.safety_group_z,
        per_hospital.readmission_group_z,
        case
            when
                per_hospital.groups_counted >= scores.min_groups
                and per_hospital.has_outcome_group
                then per_hospital.weighted_score
        end as risk_score,
        extract_usage.rows_in_extract,
        extract_usage.usable_values
    from hospitals
    cross join scores
    left join per_hospital
        on hospitals.facility_id = per_hospital.facility_id and scores.score_name = per_hospital.score_name
    left join extract_usage on scores.source_extract = extract_usage.source_extract
),

-- The national average and SD of each score, overall and within hospital type, over the
-- scored hospitals in facility order (the same bits on any number of threads). Spark takes them
-- as windows in final instead: its aggregates take no order anyway, and there the join back to
-- these grouped rows trips a fault in Spark's plan serialisation (a ClassCastException on
-- UnionExec in the unit test's union of fixture rows).
{% set windowed = target.type == 'spark' %}
{% if not windowed %}
    national as (
        select
            score_name,
            {{ ordered_aggregate('avg', 'risk_score', 'facility_id') }} as national_average_risk,
            {{ ordered_aggregate('stddev_samp', 'risk_score', 'facility_id') }} as national_sd_risk
        from joined
        group by score_name
    ),

    by_type as (
        select
            score_name,
            hospital_type,
            {{ ordered_aggregate('avg', 'risk_score', 'facility_id') }} as type_average_risk,
            {{ ordered_aggregate('stddev_samp', 'risk_score', 'facility_id') }} as type_sd_risk
        from joined
        group by score_name, hospital_type
    ),
{% endif %}

final as (
    select
        joined.facility_id,
        joined.hospital_type,
        joined.score_name,
        joined.score_label,
        joined.score_name = '{{ var("headline_score") }}' as is_headline,
        joined.source_extract,
        joined.score_unit,
        joined.groups_reported,
        joined.groups_counted,
        joined.measures_counted,
        joined.measures_worse,
        joined.mortality_group_value,
        joined.safety_group_value,
        joined.readmission_group_value,
        joined.mortality_group_z,
        joined.safety_group_z,
        joined.readmission_group_z,
        joined.risk_score,
        joined.risk_score is not null as is_scored,
        case
            when joined.risk_score is not null then null
            when joined.rows_in_extract = 0
                then 'no data: the ' || joined.source_extract || ' file is absent or has no data rows'
            when joined.usable_values = 0
                then
                    'no data: no usable value in the ' || joined.source_extract
                    || ' file (every value Not Available or too few cases)'
            else
                'not scored: fewer than ' || joined.min_groups || ' group(s) with at least '
                || joined.min_measures_per_group || ' measures, one of them mortality or safety'
        end as score_reason,
    {% if windowed %}
            avg(joined.risk_score) over by_score as national_average_risk,
            stddev_samp(joined.risk_score) over by_score as national_sd_risk,
            joined.risk_score - avg(joined.risk_score) over by_score as difference_to_national,
            (joined.risk_score - avg(joined.risk_score) over by_score_type)
            / nullif(stddev_samp(joined.risk_score) over by_score_type, 0) as risk_score_within_type
        from joined
        window
            by_score as (partition by joined.score_name),
            by_score_type as (partition by joined.score_name, joined.hospital_type)
        {% else %}
        national.national_average_risk,
        national.national_sd_risk,
        joined.risk_score - national.national_average_risk as difference_to_national,
        (joined.risk_score - by_type.type_average_risk) / nullif(by_type.type_sd_risk, 0) as risk_score_within_type
    from joined
    inner join national on joined.score_name = national.score_name
    inner join by_type
        on joined.score_name = by_type.score_name and joined.hospital_type is not distinct from by_type.hospital_type
    {% endif %}
)

select * from final
