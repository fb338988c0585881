-- The cells the admission rate models (asthma_admission_rate_ratios) are fitted from: every
-- patient with follow-up person-time, one row per combination of utilisation cluster (NULL
-- cluster_id, and the reason as cluster_label, for a patient without one), IMD quintile,
-- ethnicity group, age band, sex, baseline and follow-up emergency admissions, with the
-- patients in it (weight) and exact sums over them of their follow-up days to the powers
-- 1 .. 2 x rate_model_quadrature_nodes - 1, of log person-years and of 1 / person-years. The
-- total model is fitted on every cell, the models with the cluster term on the cells with a
-- cluster (health_equity.stats.rates). The Poisson fit needs only the summed person-time; the negative
-- binomial fit replaces each cell's spread of person-time by the Gauss quadrature rule that
-- matches those power sums. The number of rows is bounded by the combinations of covariates and
-- counts, not by the number of patients.
--
-- Every sum is exact and so the same whatever order an engine adds the rows in: the powers of
-- whole days are integers (decimal(38, 0)), and the log and inverse are rounded to 18 decimals
-- per patient before adding. They are carried as text because DuckDB hands a DECIMAL(38) to
-- pandas as a double; the model parses them exactly.
with

patients as (
    select
        patient_key,
        imd_quintile,
        ethnicity_group,
        age_band,
        sex,
        baseline_emergency_admissions,
        followup_emergency_admissions
    from {{ ref('asthma_patients') }}
),

person_time as (
    select
        patient_key,
        followup_days
    from {{ ref('int_asthma_person_time') }}
    where followup_days > 0
),

clusters as (
    select
        patient_key,
        cluster_id,
        cluster_label
    from {{ ref('asthma_patient_clusters') }}
),

modelled as (
    select
        clusters.cluster_id,
        clusters.cluster_label,
        patients.imd_quintile,
        patients.ethnicity_group,
        patients.age_band,
        patients.sex,
        patients.baseline_emergency_admissions,
        patients.followup_emergency_admissions,
        person_time.followup_days,
        cast(person_time.followup_days as decimal(38, 0)) as exact_days
    from patients
    inner join person_time on patients.patient_key = person_time.patient_key
    left join clusters on patients.patient_key = clusters.patient_key
),

final as (
    select
        cluster_id,
        cluster_label,
        imd_quintile,
        ethnicity_group,
        age_band,
        sex,
        baseline_emergency_admissions,
        followup_emergency_admissions,
        count(*) as weight,
        {{ days_per_year() }} as days_per_year,
        {{ exact_power_sums('exact_days', 'followup_days_power_sum_', 2 * var('rate_model_quadrature_nodes') - 1) }},
        cast(sum(cast(ln(followup_days / {{ days_per_year() }}) as decimal(38, 18))) as string)
            as sum_log_followup_person_years,
        cast(sum(cast({{ days_per_year() }} / followup_days as decimal(38, 18))) as string)
            as sum_inverse_followup_person_years
    from modelled
    group by all
)

select * from final
