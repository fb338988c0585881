-- Rows in each OMOP table's file, counted straight from the file (0 when an optional table is
-- absent), with the path read: what data_quality_omop_row_outcomes reconciles against.
{% for table in omop_required_tables() + ['death', 'location'] %}
    {{ omop_row_count(table) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
