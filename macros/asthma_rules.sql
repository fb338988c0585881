{#- Rules the asthma inequality models share, written once (issue 14). -#}

{#- The dimension and group_value columns of one dimension of the inequality breakdown: the
    group is the patient's value of the dimension as text, or 'All patients' for the
    all_patients dimension. `relation` names the patient relation the column is read from. -#}
{% macro dimension_group(dim, relation='patients') -%}
    '{{ dim }}' as dimension,
    {% if dim == 'all_patients' %}'All patients'{% else %}cast({{ relation }}.{{ dim }} as string){% endif %}
        as group_value
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
