{#-
    The canonical value of a coded text field, looked up in ref_asthma_extract_values after
    trimming and lower-casing; NULL when the value is not listed (staging quarantines it).
-#}
{% macro extract_value(field, column) -%}
    (
        select extract_values.value
        from {{ ref('ref_asthma_extract_values') }} as extract_values
        where
            extract_values.field = '{{ field }}'
            and extract_values.value_as_recorded = lower({{ clean_text(column) }})
    )
{%- endmacro %}

{#- The General Information file's outcome groups with better/worse counts: (column prefix used
    in staging, the group's code in ref_cms_star_rating_groups and in the file's headers). -#}
{% macro cms_outcome_groups() -%}
    {{- return([('mort', 'MORT'), ('safety', 'Safety'), ('readm', 'READM')]) -}}
{%- endmacro %}
