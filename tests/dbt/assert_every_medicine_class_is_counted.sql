-- Every medicine class of the BNF reference seeds is counted in asthma_patients (the classes of
-- the asthma_medicine_classes macro), and every class counted there is in a seed. Returns each
-- class on one side only, and which side.
with

seeded as (
    select medicine_class from {{ ref('ref_bnf_asthma_medicines') }}
    union
    select medicine_class from {{ ref('ref_bnf_asthma_presentations') }}
),

counted as (
    {%- for class in asthma_medicine_classes() %}
        select {{ sql_string(class) }} as medicine_class
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select
        seeded.medicine_class,
        'in the BNF seeds but not counted in asthma_patients' as problem
    from seeded
    where seeded.medicine_class not in (select counted.medicine_class from counted)
    union all
    select
        counted.medicine_class,
        'counted in asthma_patients but in neither BNF seed' as problem
    from counted
    where counted.medicine_class not in (select seeded.medicine_class from seeded)
)

select * from final
