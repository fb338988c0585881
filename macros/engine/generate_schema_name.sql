{#-
    Clean schema names: a node configured with +schema: marts lands in `marts`, not
    `<target_schema>_marts`, so BI tools read one stable name on every target.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
