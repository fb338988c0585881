-- Rows read from each raw asthma extract, counted straight from the file, with the path of the
-- file actually read, for reconciliation.
{% set extracts = ['patients', 'gp_practices', 'gp_events', 'prescriptions', 'hospital_admissions',
                   'outpatient_appointments'] %}
{% for extract in extracts %}
    select
        '{{ extract }}' as extract_name,
        {% if execute -%}
            {{ sql_string(extract_node('asthma_raw', extract).meta.extract_path) }}
        {%- else -%}
            null
        {%- endif %} as file_path,
        count(*) as rows_read
    from {{ source('asthma_raw', extract) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
