-- Each register patient's utilisation cluster: the nearest centroid of the k-means fit
-- int_asthma_cluster_selection chose (k-means is not fitted again here), with the same arithmetic
-- as health_equity.stats.clusters.patient_clusters: each feature is the baseline count per person-year,
-- log(1 + x), minus the recorded mean, divided by the recorded scale, clipped at +/- the recorded
-- clip; the distance is the squared Euclidean distance to each centroid, and on a tie the lowest
-- cluster number wins. Patients under the recorded minimum baseline years, or every patient when
-- no k could be fitted, keep a row with no cluster and the reason as their label.
{% set features = var('cluster_features') %}
with

selection as (
    select * from {{ ref('int_asthma_cluster_selection') }}
),

centroids_long as (
    select * from {{ ref('int_asthma_cluster_centroids') }}
),

settings as (
    select
        max(case when is_chosen then k end) as chosen_k,
        min(min_baseline_years) as min_baseline_years,
        min(z_clip) as z_clip,
        min(not_clustered_reason) as not_clustered_reason
    from selection
),

scaling as (
    select
        {% for feature in features %}
            max(case when feature = '{{ feature }}' then feature_mean end) as mean_{{ feature }},
            max(case when feature = '{{ feature }}' then feature_scale end)
                as scale_{{ feature }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from centroids_long
),

centroids as (
    select
        cluster_id,
        min(cluster_label) as cluster_label,
        {% for feature in features %}
            max(case when feature = '{{ feature }}' then centroid end)
                as centroid_{{ feature }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from centroids_long
    group by cluster_id
),

patients as (
    select
        patient_key,
        baseline_person_years,
        {% for feature in features %}
            cast(baseline_{{ feature }} as double) / baseline_person_years
                as rate_{{ feature }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from {{ ref('asthma_patients') }}
),

standardised as (
    select
        patients.patient_key,
        {% for feature in features %}
            greatest(
                least(
                    (ln(1 + patients.rate_{{ feature }}) - scaling.mean_{{ feature }}) / scaling.scale_{{ feature }},
                    settings.z_clip
                ),
                -settings.z_clip
            ) as z_{{ feature }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from patients
    cross join settings
    cross join scaling
    where
        settings.chosen_k is not null
        and patients.baseline_person_years >= settings.min_baseline_years
),

distances as (
    select
        standardised.patient_key,
        centroids.cluster_id,
        centroids.cluster_label,
        {% for feature in features %}
            power(standardised.z_{{ feature }} - centroids.centroid_{{ feature }}, 2)
            {%- if not loop.last %} +{% endif %}
        {% endfor %} as squared_distance
    from standardised
    cross join centroids
),

nearest as (
    select
        patient_key,
        cluster_id,
        cluster_label,
        row_number() over (partition by patient_key order by squared_distance, cluster_id) as nearness
    from distances
),

final as (
    select
        patients.patient_key,
        cast(nearest.cluster_id as bigint) as cluster_id,
        coalesce(nearest.cluster_label, settings.not_clustered_reason) as cluster_label,
        nearest.cluster_id is not null as is_clustered
    from patients
    cross join settings
    left join nearest
        on
            patients.patient_key = nearest.patient_key
            and nearest.nearness = 1
)

select * from final
