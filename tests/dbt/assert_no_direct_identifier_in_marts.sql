-- Privacy by construction: no column of any table in the marts schema may be a direct
-- identifier (var direct_identifier_columns). Returns the offending columns.
select
    table_name,
    column_name
from information_schema.columns
where
    table_schema = 'marts'
    and lower(column_name) in (
        {%- for col in var('direct_identifier_columns') %}
            '{{ col | lower }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
