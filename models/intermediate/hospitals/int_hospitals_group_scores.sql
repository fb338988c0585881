-- Clinical risk from the General Information group counts (higher = worse): for each group
-- in the clinical risk score (ref_cms_star_rating_groups: mortality, safety, readmission) with at
-- least one facility measure, net = (worse - better) / facility measures; the score is their
-- average weighted by the star rating's group weights over the groups present, and needs at
-- least var min_groups_for_score (2) groups (DOMAIN.md section 7).
{% set groups = [('mort', 'MORT'), ('safety', 'Safety'), ('readm', 'READM')] %}
with

hospitals as (
    select * from {{ ref('stg_cms__hospitals') }}
),

weights as (
    select * from {{ ref('ref_cms_star_rating_groups') }}
    where in_clinical_risk_score
),

long as (
    {% for key, code in groups %}
        select
            facility_id,
            '{{ code }}' as group_code,
            {{ key }}_facility_measures as facility_measures,
            {{ key }}_better as better,
            {{ key }}_worse as worse
        from hospitals
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

net as (
    select
        long.facility_id,
        long.group_code,
        weights.star_rating_weight,
        (long.worse - long.better) / long.facility_measures as net_worse
    from long
    inner join weights on long.group_code = weights.group_code
    where long.facility_measures >= 1 and long.worse is not null and long.better is not null
),

final as (
    select
        hospitals.facility_id,
        count(net.group_code) as groups_scored,
        max(net.net_worse) filter (where net.group_code = 'MORT') as mortality_net_worse,
        max(net.net_worse) filter (where net.group_code = 'Safety') as safety_net_worse,
        max(net.net_worse) filter (where net.group_code = 'READM') as readmission_net_worse,
        case
            when count(net.group_code) >= {{ var('min_groups_for_score') }}
                then sum(net.star_rating_weight * net.net_worse) / sum(net.star_rating_weight)
        end as group_risk_score_raw
    from hospitals
    left join net on hospitals.facility_id = net.facility_id
    group by hospitals.facility_id
)

select * from final
