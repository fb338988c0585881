-- One row per utilisation cluster: size, share, mean baseline rate per person-year of each
-- clustering feature (original scale), and the follow-up emergency asthma admission rate.
with

patients as (
    select * from {{ ref('asthma_patients') }}
),

clusters as (
    select * from {{ ref('asthma_patient_clusters') }}
    where is_clustered
),

joined as (
    select
        clusters.cluster_id,
        clusters.cluster_label,
        patients.*
    from clusters
    inner join patients on clusters.patient_key = patients.patient_key
),

final as (
    select
        cluster_id,
        any_value(cluster_label) as cluster_label,
        count(*) as patients,
        count(*) / sum(count(*)) over () as share_of_clustered,
        {% for feature in var('cluster_features') %}
            avg(baseline_{{ feature }} / baseline_person_years) as mean_baseline_{{ feature }}_per_year,
        {% endfor %}
        sum(followup_emergency_admissions) as followup_emergency_admissions,
        sum(followup_person_years) as followup_person_years,
        sum(followup_emergency_admissions) / nullif(sum(followup_person_years), 0) * 1000
            as followup_emergency_admissions_per_1000
    from joined
    group by cluster_id
)

select * from final
