{#- Rules the asthma inequality models share, written once. -#}

{#- The dimension and group_value columns of one dimension of the inequality breakdown: the
    group is the patient's value of the dimension as text, or 'All patients' for the
    all_patients dimension. `relation` names the patient relation the column is read from. -#}
{% macro dimension_group(dim, relation='patients') -%}
    '{{ dim }}' as dimension,
    {% if dim == 'all_patients' %}'All patients'
    {%- elif dim == 'imd_quintile' and omop_input() %}
    {#- On the OMOP input a patient whose area has no deprivation is in a group of their own
        (doc omop_deprivation); with the extracts every patient has a quintile. #}
    coalesce(cast({{ relation }}.{{ dim }} as string), {{ sql_string(omop_no_deprivation_group()) }})
    {%- else %}cast({{ relation }}.{{ dim }} as string){% endif %}
        as group_value
{%- endmacro %}

{#- The columns that say which indicator a row of the inequality rates is and how it is defined,
    in the order int_asthma_inequality_rates and asthma_inequalities give them: the group, the
    outcome and its measure, and what the numerator and denominator count. -#}
{% macro indicator_definition_columns() -%}
    {{ return([
        'dimension', 'group_value', 'outcome', 'measure_type', 'outcome_period', 'numerator_definition',
        'denominator_definition', 'denominator_unit',
    ]) }}
{%- endmacro %}

{#- The four funnel-plot limits (percentages) of a proportion p (a fraction) at denominator n,
    as <prefix>lower_95, <prefix>upper_95, <prefix>lower_998 and <prefix>upper_998 (vars z_95 and
    z_99_8); with `condition`, a limit is NULL where the condition does not hold. -#}
{% macro funnel_limit_columns(p, n, prefix='funnel_', condition=none) -%}
    {%- for name, z, side in [
        ('lower_95', z_95(), 'low'), ('upper_95', z_95(), 'high'),
        ('lower_998', z_998(), 'low'), ('upper_998', z_998(), 'high'),
    ] %}
        {% if condition %}case when {{ condition }} then {% endif -%}
        {{ funnel_limit(p, n, z, side) }} * 100
        {%- if condition %} end{% endif %} as {{ prefix }}{{ name }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Where a percentage lies against its funnel limits (the columns funnel_limit_columns names
    with the same prefix). -#}
{% macro funnel_position(pct, prefix='funnel_') -%}
    case
        when {{ pct }} is null then null
        when {{ pct }} > {{ prefix }}upper_998 then 'above the 99.8% limit'
        when {{ pct }} > {{ prefix }}upper_95 then 'above the 95% limit'
        when {{ pct }} < {{ prefix }}lower_998 then 'below the 99.8% limit'
        when {{ pct }} < {{ prefix }}lower_95 then 'below the 95% limit'
        else 'within the 95% limits'
    end
{%- endmacro %}

{#- The relations the event rules read, as CTEs named as the rules name them (the body of a
    WITH list, without its trailing comma). -#}
{% macro asthma_event_relations() -%}
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
    )
{%- endmacro %}

{#- The medicine classes asthma_patients counts prescriptions of, one measure each (the mart's
    columns must be known before any seed is read). The singular test
    assert_every_medicine_class_is_counted fails when a class of the BNF seeds is not listed
    here, or a listed class is in neither seed. -#}
{% macro asthma_medicine_classes() -%}
    {{ return(['SABA', 'ICS', 'ICS/LABA', 'LTRA', 'OCS']) }}
{%- endmacro %}

{#- Every countable utilisation and outcome event of a patient, one rule each: the relation it
    is read from (a CTE of asthma_event_relations: gp, op, rx, exacerbations, spells,
    readmissions), the date it counts on, the measure it counts towards (the column stem in
    asthma_patients), the amount (1, or SABA canisters) and which rows count. The rules are
    written once, here, in the order of asthma_patients' columns (its contract): the measure
    list is this list. int_asthma_patient_events lists the events one per row and
    asthma_patients counts them per patient and window straight from each relation. -#}
{% macro asthma_event_rules() -%}
    {%- set rules = [
        {'relation': 'gp', 'date': 'event_date', 'measure': 'gp_asthma_visits', 'amount': '1',
         'condition': 'is_asthma_visit'},
        {'relation': 'gp', 'date': 'event_date', 'measure': 'asthma_reviews', 'amount': '1',
         'condition': 'is_asthma_review'},
        {'relation': 'gp', 'date': 'event_date', 'measure': 'gp_acute_asthma_visits', 'amount': '1',
         'condition': 'is_acute_asthma_visit'},
        {'relation': 'op', 'date': 'appointment_date', 'measure': 'outpatient_appointments', 'amount': '1',
         'condition': 'is_attended'},
        {'relation': 'op', 'date': 'appointment_date', 'measure': 'outpatient_missed_appointments',
         'amount': '1', 'condition': 'not is_attended'},
        {'relation': 'rx', 'date': 'issue_date', 'measure': 'prescriptions', 'amount': '1', 'condition': 'true'},
    ] -%}
    {#- One measure per medicine class (asthma_medicine_classes). -#}
    {%- for class in asthma_medicine_classes() %}
        {%- do rules.append({
            'relation': 'rx', 'date': 'issue_date',
            'measure': class | lower | replace('/', '_') ~ '_prescriptions', 'amount': '1',
            'condition': "medicine_class = '" ~ class ~ "'"}) %}
    {%- endfor %}
    {%- do rules.extend([
        {'relation': 'rx', 'date': 'issue_date', 'measure': 'saba_canisters', 'amount': 'saba_canisters',
         'condition': "medicine_class = 'SABA'"},
        {'relation': 'exacerbations', 'date': 'exacerbation_start_date', 'measure': 'exacerbations',
         'amount': '1', 'condition': 'true'},
        {'relation': 'spells', 'date': 'spell_start_date', 'measure': 'emergency_admissions', 'amount': '1',
         'condition': 'is_emergency_asthma_spell'},
        {'relation': 'spells', 'date': 'spell_start_date', 'measure': 'all_cause_emergency_admissions',
         'amount': '1', 'condition': "admission_method = 'emergency'"},
        {'relation': 'spells', 'date': 'spell_start_date', 'measure': 'elective_admissions', 'amount': '1',
         'condition': "admission_method = 'elective'"},
        {'relation': 'readmissions', 'date': 'spell_end_date', 'measure': 'readmission_index_spells',
         'amount': '1', 'condition': 'is_index'},
        {'relation': 'readmissions', 'date': 'readmission_date', 'measure': 'readmissions_30d', 'amount': '1',
         'condition': 'has_readmission_30d'},
    ]) -%}
    {{ return(rules) }}
{%- endmacro %}
