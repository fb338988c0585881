-- Rows read from each raw asthma extract, counted straight from the file, for reconciliation.
{% set extracts = ['patients', 'gp_practices', 'gp_events', 'prescriptions', 'hospital_admissions',
                   'outpatient_appointments'] %}
{% for extract in extracts %}
    select
        '{{ extract }}' as extract_name,
        count(*) as rows_read
    from {{ source('asthma_raw', extract) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
