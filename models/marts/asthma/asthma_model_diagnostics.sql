-- One row per model: the admission models, per family (n, Pearson dispersion, alpha and its CI,
-- the LR test of negative binomial against Poisson, the family it picks, AIC of both families)
-- and each k-means fit tried (silhouette, inertia, stability of the chosen k).
-- Columns a kind of model does not have are NULL (union by name).
with

rate_models as (
    select distinct
        model_name || ' / ' || model_family as model_id,
        'rate ratio' as model_type,
        model_name,
        model_family,
        is_primary,
        estimate_status,
        model_question,
        n,
        events,
        person_years,
        covariates,
        poisson_dispersion,
        dispersion,
        aic,
        poisson_aic,
        negative_binomial_aic,
        alpha,
        alpha_ci_lower,
        alpha_ci_upper,
        lr_statistic,
        lr_p_value,
        lr_test_level,
        chosen_family
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
