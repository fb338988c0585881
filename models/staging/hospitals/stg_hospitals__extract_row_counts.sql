-- Rows read from each raw hospital and income file (every row lands in its base model, clean or
-- quarantined), with the path of the file actually read. An optional file that is absent reads 0.
{%- set extracts = [
    ('Hospital_General_Information', 'hospital_general_information', 'base_cms__hospitals'),
    ('Complications_and_Deaths-Hospital', 'complications_and_deaths', 'base_cms__complications_and_deaths'),
    ('ACSDT5Y.B19013-Data', 'acs_median_household_income', 'base_acs__median_household_income'),
] %}
{%- for label, table, base in extracts %}
    select
        '{{ label }}' as extract_name,
        {% if execute -%}
            {{ sql_string(extract_node('hospitals_raw', table).meta.extract_path) }}
        {%- else -%}
            null
        {%- endif %} as file_path,
        count(*) as rows_read
    from {{ ref(base) }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
