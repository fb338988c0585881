-- The patients the k-means fit reads (int_asthma_cluster_selection): the first
-- var cluster_sample_size clusterable patients (at least var cluster_min_baseline_years baseline
-- person-years) in the order of a hash of patient_key, with their baseline person-years and the
-- baseline count of each clustering feature (var cluster_features); the selection model turns
-- them into rates per person-year, log1p and standardises them, as asthma_patient_clusters
-- does for every patient. Why a hash: the order is fixed by the key alone (the same extracts
-- give the same sample), and a hash is unrelated to any patient attribute, so the sample is a
-- simple random sample of the clusterable patients rather than, say, the oldest registrations
-- or one practice. With no more clusterable patients than the sample size, the sample is all
-- of them and the fit is the full one.
with

clusterable as (
    select
        patient_key,
        baseline_person_years,
        {% for feature in var('cluster_features') %}
            baseline_{{ feature }},
        {% endfor %}
        {{ dbt.hash('patient_key') }} as sample_hash
    from {{ ref('asthma_patients') }}
    where baseline_person_years >= {{ var('cluster_min_baseline_years') }}
),

ranked as (
    select
        *,
        row_number() over (order by sample_hash, patient_key) as sample_order
    from clusterable
),

final as (
    select
        patient_key,
        sample_order,
        sample_hash,
        baseline_person_years,
        {% for feature in var('cluster_features') %}
            baseline_{{ feature }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from ranked
    where sample_order <= {{ var('cluster_sample_size') }}
)

select * from final
