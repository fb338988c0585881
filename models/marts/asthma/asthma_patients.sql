-- Patient-grain asthma mart for BI: pseudonymous key, bands and counts. No direct identifiers.
-- Every count is a BIGINT (the mart's contract); followup_start_date dates each patient's
-- follow-up counts for the dbt semantic layer.
{%- set counts = [] -%}
{%- if execute -%}
    {%- for col in adapter.get_columns_in_relation(ref('int_asthma_patient_utilisation')) -%}
        {%- set is_count = col.name.startswith(('baseline_', 'followup_')) -%}
        {%- if is_count and col.dtype.upper() in ('INTEGER', 'HUGEINT', 'BIGINT') -%}
            {%- do counts.append(col.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
select
    *{% if counts %} replace (
        {%- for c in counts %}
            cast({{ c }} as bigint) as {{ c }}{{ "," if not loop.last }}
        {%- endfor %}
    ){% endif %},
    cast('{{ var("followup_start") }}' as date) as followup_start_date
from {{ ref('int_asthma_patient_utilisation') }}
