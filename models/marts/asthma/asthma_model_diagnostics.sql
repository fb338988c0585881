-- One row per model: the admission models, per family (the patients it is fitted on, n, events,
-- Pearson dispersion, alpha and its CI, the LR test of negative binomial against Poisson, the
-- family it picks, AIC of both families) and each k-means fit tried (silhouette, inertia,
-- stability of the chosen k).
-- Columns a kind of model does not have are NULL. Counts of patients and events are rounded
-- under the disclosure policy (the rate models' already are, in asthma_admission_rate_ratios).
{#- Every column with its type (the contract's), in order; each kind's select fills the columns
    it does not have with a typed NULL (listed, not matched by name: Spark SQL has no UNION BY NAME). -#}
{% set columns = [
    ('model_id', 'string'), ('model_type', 'string'), ('model_name', 'string'), ('model_family', 'string'),
    ('is_primary', 'boolean'), ('estimate_status', 'string'), ('model_question', 'string'),
    ('model_population', 'string'), ('n', 'bigint'), ('events', 'bigint'), ('person_years', 'double'),
    ('covariates', 'string'), ('poisson_dispersion', 'double'),
    ('dispersion', 'double'), ('aic', 'double'), ('poisson_aic', 'double'), ('negative_binomial_aic', 'double'),
    ('alpha', 'double'), ('alpha_ci_lower', 'double'), ('alpha_ci_upper', 'double'), ('lr_statistic', 'double'),
    ('lr_p_value', 'double'), ('lr_test_level', 'double'), ('chosen_family', 'string'), ('k', 'bigint'),
    ('silhouette', 'double'), ('inertia', 'double'), ('stability_ari', 'double'),
] %}
{% set kinds = {
    'rate_models': [
        'model_id', 'model_type', 'model_name', 'model_family', 'is_primary', 'estimate_status', 'model_question',
        'model_population', 'n', 'events', 'person_years', 'covariates', 'poisson_dispersion', 'dispersion',
        'aic', 'poisson_aic', 'negative_binomial_aic', 'alpha', 'alpha_ci_lower', 'alpha_ci_upper', 'lr_statistic',
        'lr_p_value', 'lr_test_level', 'chosen_family',
    ],
    'cluster_models': [
        'model_id', 'model_type', 'model_name', 'model_family', 'is_primary', 'n', 'k', 'silhouette', 'inertia',
        'stability_ari',
    ],
} %}
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
        model_population,
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
        {{ publish_count('n_clustered', 'false') }} as n,
        k,
        silhouette,
        inertia,
        stability_ari
    from {{ ref('int_asthma_cluster_selection') }}
),

final as (
    {%- for kind, present in kinds.items() %}
        select
            {%- for name, data_type in columns %}
                {% if name in present %}{{ name }}{% else %}cast(null as {{ data_type }}) as {{ name }}{% endif %}
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ kind }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from final
