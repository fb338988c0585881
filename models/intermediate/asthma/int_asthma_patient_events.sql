-- Every countable utilisation and outcome event of a patient in one long relation:
-- (patient_key, event_date, measure, amount), one branch per rule of asthma_event_rules()
-- (macros/asthma/rules.sql). A view: asthma_patients counts straight from each staging relation
-- with the same rules, and int_asthma_inequality_rates reads two measures, whose filter leaves
-- only the admission and exacerbation branches to run.
{{ config(materialized='view') }}
with

{{ asthma_event_relations() }},

events as (
    {%- for rule in asthma_event_rules() %}
        select
            patient_key,
            {{ rule.date }} as event_date,
            '{{ rule.measure }}' as measure,
            {{ rule.amount }} as amount
        from {{ rule.relation }}
        where {{ rule.condition }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from events
