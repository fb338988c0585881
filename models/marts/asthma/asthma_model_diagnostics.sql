-- One row per model: the admission models (n, Pearson dispersion, family, AIC, alpha, which is
-- primary) and each k-means fit tried (silhouette, inertia, stability of the chosen k).
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
    select * from {{ ref('int_asthma_cluster_selection') }}
),

final as (
    select
        model_id,
        model_type,
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
        alpha,
        null::integer as k,
        null::double as silhouette,
        null::double as inertia,
        null::double as stability_ari
    from rate_models
    union all
    select
        'kmeans k=' || k as model_id,
        'clustering' as model_type,
        'kmeans' as model_name,
        'k-means' as model_family,
        is_chosen as is_primary,
        n_clustered as n,
        null as events,
        null as person_years,
        null as covariates,
        null as poisson_dispersion,
        null as dispersion,
        null as dispersion_threshold,
        null as aic,
        null as alpha,
        k,
        silhouette,
        inertia,
        stability_ari
    from cluster_models
)

select * from final
