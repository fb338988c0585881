-- The admission rate ratios as published: the fit of int_asthma_admission_rate_ratios, with the
-- model's patient and event counts rounded under the disclosure policy
-- (macros/disclosure/disclosure_control.sql). A model's counts are its whole population, never a small
-- group: they are rounded, not suppressed (a model too small to fit says so in estimate_status).
-- Each model's counts are its own population's (model_population): the total model's every
-- patient with follow-up person-time, the cluster models' those of them with a cluster.
with

fitted as (
    select * from {{ ref('int_asthma_admission_rate_ratios') }}
),

final as (
    select
        {{ star_except(['n', 'events']) }},
        {{ publish_count('n', 'false') }} as n,
        {{ publish_count('events', 'false') }} as events,
        -- What the imd_quintile levels measure (one label per build; doc omop_deprivation).
        case when term = 'imd_quintile' then {{ sql_string(deprivation_measure()) }} end as deprivation_measure
    from fitted
)

select * from final
