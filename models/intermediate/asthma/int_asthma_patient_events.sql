-- Every countable utilisation and outcome event of a patient in one long table:
-- (patient_key, event_date, measure, amount). The marts count them per window in one place.
{# (source CTE, date column, measure, amount, condition) #}
{% set parts = [
    ('gp', 'event_date', "'gp_asthma_visits'", '1', 'is_asthma_visit'),
    ('gp', 'event_date', "'asthma_reviews'", '1', 'is_asthma_review'),
    ('gp', 'event_date', "'gp_acute_asthma_visits'", '1', 'is_acute_asthma_visit'),
    ('op', 'appointment_date', "'outpatient_appointments'", '1', 'is_attended'),
    ('op', 'appointment_date', "'outpatient_missed_appointments'", '1', 'not is_attended'),
    ('rx', 'issue_date', "'prescriptions'", '1', 'true'),
    ('rx', 'issue_date', "lower(replace(medicine_class, '/', '_')) || '_prescriptions'", '1', 'true'),
    ('rx', 'issue_date', "'saba_canisters'", 'saba_canisters', "medicine_class = 'SABA'"),
    ('exacerbations', 'exacerbation_start_date', "'exacerbations'", '1', 'true'),
    ('spells', 'spell_start_date', "'emergency_admissions'", '1', 'is_emergency_asthma_spell'),
    ('spells', 'spell_start_date', "'all_cause_emergency_admissions'", '1', "admission_method = 'emergency'"),
    ('spells', 'spell_start_date', "'elective_admissions'", '1', "admission_method = 'elective'"),
    ('readmissions', 'readmission_date', "'readmissions_30d'", '1', 'has_readmission_30d'),
    ('readmissions', 'spell_end_date', "'readmission_index_spells'", '1', 'is_index'),
] %}
with

gp as (
    select * from {{ ref('stg_asthma__gp_events') }}
),

rx as (
    select * from {{ ref('stg_asthma__prescriptions') }}
),

op as (
    select * from {{ ref('stg_asthma__outpatient_appointments') }}
),

spells as (
    select * from {{ ref('int_asthma_admission_spells') }}
),

readmissions as (
    select * from {{ ref('int_admissions_linked_to_readmissions') }}
),

exacerbations as (
    select * from {{ ref('int_asthma_exacerbations') }}
),


events as (
    {%- for cte, date_col, measure, amount, condition in parts %}
        select
            patient_key,
            {{ date_col }},
            {{ measure }} as measure,
            {{ amount }} as amount
        from {{ cte }}
        where {{ condition }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from events
