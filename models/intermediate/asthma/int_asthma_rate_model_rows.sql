-- The rows the admission rate models (asthma_admission_rate_ratios) are fitted from: the
-- patients with follow-up person-time and a utilisation cluster, one row per distinct
-- combination of the values the models use, with the number of patients sharing it (weight).
-- Both the Poisson and the negative binomial likelihoods are sums over patients of a term that
-- depends only on these columns, so fitting the weighted rows is exactly the patient-level fit;
-- their number is bounded by the combinations of values (follow-up person-years take one value
-- per number of days observed: 366 in the default follow-up year), not by the number of patients.
with

patients as (
    select
        patient_key,
        imd_quintile,
        ethnicity_group,
        age_band,
        sex,
        baseline_emergency_admissions,
        followup_emergency_admissions,
        followup_person_years
    from {{ ref('asthma_patients') }}
    where followup_person_years > 0
),

clusters as (
    select
        patient_key,
        cluster_id,
        cluster_label
    from {{ ref('asthma_patient_clusters') }}
    where cluster_id is not null
),

final as (
    select
        clusters.cluster_id,
        clusters.cluster_label,
        patients.imd_quintile,
        patients.ethnicity_group,
        patients.age_band,
        patients.sex,
        patients.baseline_emergency_admissions,
        patients.followup_emergency_admissions,
        patients.followup_person_years,
        count(*) as weight
    from patients
    inner join clusters on patients.patient_key = clusters.patient_key
    group by all
)

select * from final
