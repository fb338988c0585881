-- One row: how many register patients can be clustered (at least var cluster_min_baseline_years
-- baseline person-years) and how many cannot, and the sample size the k-means fit reads
-- (int_asthma_cluster_sample). The selection model takes its patient counts from here, so it
-- never reads the whole register.
with

patients as (
    select baseline_person_years >= {{ var('cluster_min_baseline_years') }} as is_clusterable
    from {{ ref('asthma_patients') }}
),

final as (
    select
        cast(count(*) as bigint) as patients,
        cast(sum(case when is_clusterable then 1 else 0 end) as bigint) as clusterable_patients,
        cast(sum(case when is_clusterable then 0 else 1 end) as bigint) as not_clusterable_patients,
        cast({{ var('cluster_sample_size') }} as bigint) as cluster_sample_size
    from patients
)

select * from final
