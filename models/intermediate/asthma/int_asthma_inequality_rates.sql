-- Crude and directly age-standardised rates per 1,000 person-years for each dimension x group
-- x outcome, before any suppression (the mart asthma_inequalities suppresses; the SII/RII model
-- reads these exact values).
--
-- DSR (DOMAIN.md section 4; PHEindicatormethods R/DSR.R), with ESP 2013 weights w_i:
--   DSR = sum(w_i * O_i / n_i) / sum(w_i) * 1000, over the age bands with person-time (n_i > 0)
--   var = sum(w_i^2 * O_i / n_i^2) / sum(w_i)^2 * 1000^2
--   95% CI: Dobson method with Byars limits on O = sum(O_i):
--     O_lower = O * (1 - 1/(9O) - z/(3 sqrt O))^3, O_upper = (O+1) * (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3
--     DSR_lower/upper = DSR + sqrt(var / O) * (O_lower/upper - O)
-- Crude rate CIs use the same Byars limits divided by person-years.
-- Outcomes: emergency asthma admissions, exacerbations and 30-day readmissions over the whole
-- study period; SABA over-reliance (>= 3 canisters a year) over the follow-up year, among
-- patients observed for at least half of it (one event per over-reliant patient).
{% set dimensions = ['imd_quintile', 'ethnicity_group', 'sex', 'age_band'] %}
{% set z = 1.959963984540054 %}
with

patients as (
    select * from {{ ref('int_asthma_patient_utilisation') }}
),

esp as (
    select * from {{ ref('ref_esp2013_weights') }}
),

outcomes as (
    select
        *,
        baseline_emergency_admissions + followup_emergency_admissions as events_emergency_admissions,
        baseline_exacerbations + followup_exacerbations as events_exacerbations,
        baseline_readmissions_30d + followup_readmissions_30d as events_readmissions_30d,
        case when is_saba_assessable then is_saba_over_reliant_3::int else 0 end as events_saba_over_reliance,
        case when is_saba_assessable then followup_person_years else 0 end as person_years_saba
    from patients
),

long as (
    {% for outcome, py in [
        ('emergency_admissions', 'person_years'), ('exacerbations', 'person_years'),
        ('readmissions_30d', 'person_years'), ('saba_over_reliance', 'person_years_saba'),
    ] %}
        {% for dim in dimensions + ['all_patients'] %}
            select
                '{{ dim }}' as dimension,
                {% if dim == 'all_patients' %}'All patients'{% else %}cast({{ dim }} as varchar){% endif %}
                    as group_value,
                '{{ outcome }}' as outcome,
                esp_age_band,
                events_{{ outcome }} as events,
                {{ py }}
            from outcomes
            {% if not loop.last %}union all{% endif %}
        {% endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

by_band as (
    select
        long.dimension,
        long.group_value,
        long.outcome,
        long.esp_age_band,
        esp.esp_weight,
        count(*) as patients,
        sum(long.events) as events,
        sum(long.person_years) as person_years
    from long
    inner join esp on long.esp_age_band = esp.esp_age_band
    group by all
),

aggregated as (
    select
        dimension,
        group_value,
        outcome,
        sum(patients)::bigint as patients,
        sum(events)::bigint as events,
        sum(person_years) as person_years,
        sum(esp_weight * events / person_years) filter (where person_years > 0)
        / sum(esp_weight) filter (where person_years > 0) * 1000 as dsr_per_1000,
        sum(esp_weight ^ 2 * events / person_years ^ 2) filter (where person_years > 0)
        / (sum(esp_weight) filter (where person_years > 0)) ^ 2 * 1000 ^ 2 as dsr_variance
    from by_band
    group by dimension, group_value, outcome
),

byars as (
    select
        *,
        case
            when events > 0
                then
                    events * (1 - 1 / (9 * events) - {{ z }} / (3 * sqrt(events))) ^ 3
            else 0
        end as events_lower,
        (events + 1) * (1 - 1 / (9 * (events + 1)) + {{ z }} / (3 * sqrt(events + 1))) ^ 3 as events_upper
    from aggregated
),

final as (
    select
        dimension,
        group_value,
        outcome,
        patients,
        events,
        person_years,
        events / nullif(person_years, 0) * 1000 as crude_rate_per_1000,
        events_lower / nullif(person_years, 0) * 1000 as crude_rate_lower_95,
        events_upper / nullif(person_years, 0) * 1000 as crude_rate_upper_95,
        dsr_per_1000,
        sqrt(dsr_variance) as dsr_standard_error,
        case
            when events > 0 then
                dsr_per_1000 + sqrt(dsr_variance / events) * (events_lower - events)
        end as dsr_lower_95,
        case
            when events > 0 then
                dsr_per_1000 + sqrt(dsr_variance / events) * (events_upper - events)
        end as dsr_upper_95
    from byars
)

select * from final
