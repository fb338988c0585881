-- Ad-hoc analysis (compiled by dbt, not built): the crude emergency asthma admission rate per
-- 1,000 person-years by IMD quintile, and each quintile's rate ratio against the least deprived.
-- `dbt compile --select emergency_admission_gradient`, then run the SQL in target/compiled.
with

patients as (
    select * from {{ ref('asthma_patients') }}
),

by_quintile as (
    select
        imd_quintile,
        sum(baseline_emergency_admissions + followup_emergency_admissions) as admissions,
        sum(person_years) as person_years,
        sum(baseline_emergency_admissions + followup_emergency_admissions) / sum(person_years) * 1000
            as rate_per_1000
    from patients
    group by imd_quintile
)

select
    imd_quintile,
    admissions,
    person_years,
    rate_per_1000,
    rate_per_1000 / max(rate_per_1000) filter (where imd_quintile = 5) over () as rate_ratio_vs_least_deprived
from by_quintile
order by imd_quintile
