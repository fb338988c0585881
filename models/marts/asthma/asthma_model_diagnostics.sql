-- One row per model: the admission models (n, Pearson dispersion, family, AIC, alpha, which is
-- primary) and each k-means fit tried (silhouette, inertia, stability of the chosen k).
-- Columns a kind of model does not have are NULL (union by name).
with

rate_models as (
    select distinct
        model_name || ' / ' || model_family as model_id,
        'rate ratio' as model_type,
        model_name,
        model_family,
        is_primary,
        n,
        events,
        person_years,
        covariates,
        poisson_dispersion,
        dispersion,
        dispersion_threshold,
        aic,
        alpha
    from {{ ref('asthma_admission_rate_ratios') }}
),

cluster_models as (
    select
        'kmeans k=' || k as model_id,
        'clustering' as model_type,
        'kmeans' as model_name,
        'k-means' as model_family,
        is_chosen as is_primary,
        n_clustered as n,
        k,
        silhouette,
        inertia,
        stability_ari
    from {{ ref('int_asthma_cluster_selection') }}
)

-- union by name fills each kind's missing columns with NULL; sqlfluff does not know it
select * from rate_models  -- noqa: AM07
union all by name
select * from cluster_models
