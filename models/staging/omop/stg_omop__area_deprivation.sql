-- The user's area lookup (var omop_area_deprivation_path): one row per area code with its IMD
-- decile, or, when the lookup gives quintiles, the first decile of the quintile (only the quintile
-- is used downstream). Empty when the var is unset (doc omop_deprivation).
{% set path = var('omop_area_deprivation_path') | string %}
{% set columns = omop_file_columns(path) if execute and path else [] %}
{% if path and execute and 'area_code' not in columns %}
    {{ exceptions.raise_compiler_error(
        "var omop_area_deprivation_path (" ~ path ~ "): the file has no area_code column") }}
{% endif %}
{% if path and execute and 'imd_decile' not in columns and 'deprivation_quintile' not in columns %}
    {{ exceptions.raise_compiler_error(
        "var omop_area_deprivation_path (" ~ path ~ "): the file needs a column imd_decile (1-10)"
        ~ " or deprivation_quintile (1-5)") }}
{% endif %}
{% if path and execute %}
    select
        upper({{ clean_text('area_code') }}) as area_code,
        {% if 'imd_decile' in columns -%}
            try_cast({{ clean_text('imd_decile') }} as integer)
        {%- else -%}
            2 * try_cast({{ clean_text('deprivation_quintile') }} as integer) - 1
        {%- endif %} as imd_decile
    from {{ omop_reader(path) }}
    qualify row_number() over (partition by upper({{ clean_text('area_code') }}) order by imd_decile) = 1
    order by area_code
{% else %}
    select
        cast(null as string) as area_code,
        cast(null as integer) as imd_decile
    where false
{% endif %}
