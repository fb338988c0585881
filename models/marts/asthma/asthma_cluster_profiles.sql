-- One row per utilisation cluster: size, share, mean baseline rate per person-year of each
-- clustering feature (original scale), and the follow-up emergency asthma admission rate.
-- Disclosure control (macros/disclosure/disclosure_control.sql), the policy of asthma_inequalities: a
-- cluster with var redact_counts_at_or_below or fewer patients or follow-up admissions is
-- suppressed, and the clusters partition the clustered patients (the shares add up to 1), so a
-- second cluster is suppressed when one alone would be recoverable. A suppressed cluster keeps
-- its id and label only. Counts are rounded, and the share and the admission rate are
-- calculated from the rounded counts, so neither gives an exact count back; so are their 95%
-- intervals (Wilson for the share, the crude rate's Poisson limits for the rate).
-- The means are exact sums (macros/engine/exact_aggregates.sql) and follow-up person-time is summed
-- as whole days, so the profile is the same bits on any number of threads.
with

patients as (
    select * from {{ ref('asthma_patients') }}
),

clusters as (
    select * from {{ ref('asthma_patient_clusters') }}
    where is_clustered
),

person_time as (
    select * from {{ ref('int_asthma_person_time') }}
),

joined as (
    select
        clusters.cluster_id,
        clusters.cluster_label,
        person_time.followup_days,
        patients.*
    from clusters
    inner join patients on clusters.patient_key = patients.patient_key
    inner join person_time on clusters.patient_key = person_time.patient_key
),

profiles as (
    select
        cluster_id,
        any_value(cluster_label) as cluster_label,
        'all clustered patients' as disclosure_partition,
        count(*) as patients,
        {% for feature in var('cluster_features') %}
            {{ exact_avg('baseline_' ~ feature ~ ' / baseline_person_years') }}
                as mean_baseline_{{ feature }}_per_year,
        {% endfor %}
        cast(sum(followup_emergency_admissions) as bigint) as followup_emergency_admissions,
        cast(sum(followup_days) as bigint) / {{ days_per_year() }} as followup_person_years
    from joined
    group by cluster_id
),

flagged as {{ disclosure_control(
    relation='profiles',
    partition_by=['disclosure_partition'],
    primary_condition=is_small_count('patients') ~ " or " ~ is_small_count('followup_emergency_admissions'),
    rank_by='patients, followup_emergency_admissions, cluster_id',
    protected_counts=['patients', 'followup_emergency_admissions'],
) }},

published as (
    select
        *,
        {{ publish_count('patients') }} as published_patients,
        {{ publish_count('followup_emergency_admissions') }} as published_followup_emergency_admissions,
        -- Every clustered patient, rounded like the counts: the share's denominator.
        {{ publish_count('sum(patients) over ()', 'false') }} as published_clustered_patients
    from flagged
),

final as (
    select
        cluster_id,
        cluster_label,
        published_patients as patients,
        published_clustered_patients as clustered_patients,
        published_patients / nullif(published_clustered_patients, 0) as share_of_clustered,
        {{ wilson_lower('published_patients', 'published_clustered_patients') }} as share_of_clustered_lower_95,
        {{ wilson_upper('published_patients', 'published_clustered_patients') }} as share_of_clustered_upper_95,
        {% for feature in var('cluster_features') %}
            case when not is_suppressed then mean_baseline_{{ feature }}_per_year end
                as mean_baseline_{{ feature }}_per_year,
        {% endfor %}
        published_followup_emergency_admissions as followup_emergency_admissions,
        case when not is_suppressed then followup_person_years end as followup_person_years,
        published_followup_emergency_admissions / nullif(followup_person_years, 0) * 1000
            as followup_emergency_admissions_per_1000,
        case
            when not is_suppressed then
                {{ poisson_limit_95('published_followup_emergency_admissions', 'lower') }}
                / nullif(followup_person_years, 0) * 1000
        end as followup_emergency_admissions_per_1000_lower_95,
        case
            when not is_suppressed then
                {{ poisson_limit_95('published_followup_emergency_admissions', 'upper') }}
                / nullif(followup_person_years, 0) * 1000
        end as followup_emergency_admissions_per_1000_upper_95,
        {{ poisson_limit_method() }} as followup_admissions_ci_method,
        'rate per 1,000 person-years' as followup_admissions_measure_type,
        is_suppressed,
        {{ disclosure_action() }} as disclosure_action
    from published
)

select * from final
