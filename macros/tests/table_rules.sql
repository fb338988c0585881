{#-
    Generic test: the rules of one table, view or seed in one query (one test node), instead of one
    node per column and rule. Rules: not_null and unique (lists of columns), accepted_values
    (column -> allowed values: text is quoted, numbers and booleans are not; nulls pass, as in
    dbt's accepted_values), row_expressions (boolean SQL that must be true on every row; a null
    result fails, as in expression_holds), relationships (column -> {to: a seed or model name,
    field: its column}; nulls pass), unique_combinations (lists of columns whose combination is
    unique) and aggregate_expressions (boolean SQL over the whole relation). The relation is read
    once for the per-column and per-row rules. On any broken rule the query fails with a message
    naming the relation, and each broken rule's column (or expression) and rule with the number of
    offending rows, e.g. "ref_us_states: census_region accepted_values (1 rows); state_code
    not_null (2 rows)".
-#}
{% test table_rules(
    model,
    not_null=[],
    unique=[],
    accepted_values={},
    row_expressions=[],
    relationships={},
    unique_combinations=[],
    aggregate_expressions=[]
) %}
    {#- At parse time dbt renders a test only to find what it refs: skip building the query. -#}
    {%- if not execute -%}
        {%- for target in relationships.values() -%}{%- do ref(target['to']) -%}{%- endfor -%}
        select 1 as parse_only
    {%- else -%}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- do checks.append((column, 'not_null', 'count(case when ' ~ column ~ ' is null then 1 end)')) -%}
    {%- endfor -%}
    {%- for column in unique -%}
        {#- Rows beyond the first of each repeated non-null value. -#}
        {%- do checks.append((column, 'unique', 'count(' ~ column ~ ') - count(distinct ' ~ column ~ ')')) -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set allowed = [] -%}
        {%- for value in values -%}
            {%- do allowed.append(sql_string(value) if value is string else value | string | lower) -%}
        {%- endfor -%}
        {%- do checks.append((
            column, 'accepted_values',
            'count(case when ' ~ column ~ ' not in (' ~ allowed | join(', ') ~ ') then 1 end)'
        )) -%}
    {%- endfor -%}
    {%- for expression in row_expressions -%}
        {%- do checks.append((
            expression, 'row_expression', 'count(case when not coalesce((' ~ expression ~ '), false) then 1 end)'
        )) -%}
    {%- endfor -%}
    {%- for expression in aggregate_expressions -%}
        {%- do checks.append((expression, 'aggregate_expression', 'case when ' ~ expression ~ ' then 0 else 1 end')) -%}
    {%- endfor %}

with

{% if checks %}
per_column as (
    select
        {%- for column, rule, failing in checks %}
            {{ failing }} as failing_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
),
{% endif %}

failures as (
    {%- set parts = [] -%}
    {%- for column, rule, failing in checks -%}
        {%- do parts.append(
            'select ' ~ sql_string(column) ~ ' as column_name, ' ~ sql_string(rule) ~ ' as rule, '
            ~ 'failing_' ~ loop.index ~ ' as failing_rows from per_column'
        ) -%}
    {%- endfor -%}
    {%- for column, target in relationships.items() -%}
        {%- do parts.append(
            'select ' ~ sql_string(column) ~ " as column_name, 'relationships' as rule, count(*) as failing_rows "
            ~ 'from ' ~ model ~ ' as child left join ' ~ ref(target['to']) ~ ' as parent on child.' ~ column
            ~ ' = parent.' ~ target['field'] ~ ' where child.' ~ column ~ ' is not null and parent.'
            ~ target['field'] ~ ' is null'
        ) -%}
    {%- endfor -%}
    {%- for columns in unique_combinations -%}
        {%- do parts.append(
            'select ' ~ sql_string(columns | join(', ')) ~ " as column_name, 'unique_combination' as rule, "
            ~ 'count(*) as failing_rows from (select ' ~ columns | join(', ') ~ ' from ' ~ model
            ~ ' group by ' ~ columns | join(', ') ~ ' having count(*) > 1) as repeated'
        ) -%}
    {%- endfor %}
    {{ parts | join('\n    union all\n    ') }}
),

broken as (
    select
        count(*) as broken_rules,
        {{ ordered_string_agg(
            "column_name || ' ' || rule || ' (' || cast(failing_rows as string) || ' rows)'",
            "'; '",
            'column_name, rule'
        ) }} as messages
    from failures
    where failing_rows > 0
)

select
    broken_rules,
    case
        when broken_rules > 0
            then {{ raise_error(sql_string(model.identifier ~ ': ') ~ ' || messages') }}
    end as failure
from broken
where broken_rules > 0
    {%- endif %}
{% endtest %}
