-- Privacy by construction: no column of any table in the marts schema may be a direct
-- identifier (var direct_identifier_columns). Returns the offending columns. Each mart's columns
-- are read from the database through the adapter (DuckDB and Spark alike), not from the docs.
{%- set offending = [] -%}
{%- if execute -%}
    {%- set identifiers = var('direct_identifier_columns') | map('lower') | list -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.schema == 'marts' -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower in identifiers -%}
                {%- do offending.append((relation.identifier, column.name)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}
{%- for table_name, column_name in offending %}
select
    {{ sql_string(table_name) }} as table_name,
    {{ sql_string(column_name) }} as column_name
union all
{%- endfor %}
select
    cast(null as string) as table_name,
    cast(null as string) as column_name
where 1 = 0
